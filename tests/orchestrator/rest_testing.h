// A REST client for the orchestrator's tests, on libcurl: a client written by others, so a test
// cannot pass by agreeing with our own HTTP code.
#ifndef CMIG_TESTS_ORCHESTRATOR_REST_TESTING_H_
#define CMIG_TESTS_ORCHESTRATOR_REST_TESTING_H_

#include <curl/curl.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "definitions/json.h"
#include "google/protobuf/struct.pb.h"
#include "gtest/gtest.h"

namespace cmig::orchestrator::test {

struct HttpResult {
  long status = 0;  // 0 when the transfer failed
  std::string body;
  std::string content_type;
  std::string error;  // curl's message when status is 0

  // The body as JSON; a failed expectation (and null) when it is not.
  google::protobuf::Value Json() const {
    absl::StatusOr<google::protobuf::Value> v = ParseJson(body);
    EXPECT_TRUE(v.ok()) << v.status() << " in: " << body;
    return v.ok() ? *v : google::protobuf::Value();
  }
};

// One easy handle per request, so a RestClient is cheap and every request is independent.
class RestClient {
 public:
  explicit RestClient(std::string base, std::vector<std::string> headers = {})
      : base_(std::move(base)), headers_(std::move(headers)) {}

  HttpResult Get(const std::string& path) const { return Call("GET", path, nullptr); }
  HttpResult Delete(const std::string& path) const { return Call("DELETE", path, nullptr); }
  HttpResult Post(const std::string& path, const std::string& body) const {
    return Call("POST", path, &body);
  }
  HttpResult Put(const std::string& path, const std::string& body) const {
    return Call("PUT", path, &body);
  }

  // A request prepared but not run: for curl's multi interface. Free with curl_easy_cleanup
  // and FreeHeaders; the result lands in `*out`.
  CURL* Prepare(const std::string& method, const std::string& path, const std::string* body,
                HttpResult* out, curl_slist** headers) const {
    CURL* curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, (base_ + path).c_str());
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
    *headers = nullptr;
    for (const std::string& h : headers_) *headers = curl_slist_append(*headers, h.c_str());
    if (body != nullptr) {
      *headers = curl_slist_append(*headers, "Content-Type: application/json");
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->data());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, *headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Append);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out->body);
    return curl;
  }

  // Fills status and content type once a prepared request ended with `code`.
  static void Collect(CURL* curl, CURLcode code, HttpResult* out) {
    if (code != CURLE_OK) {
      out->error = curl_easy_strerror(code);
      return;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
    char* type = nullptr;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
    if (type != nullptr) out->content_type = type;
  }

 private:
  static size_t Append(char* data, size_t size, size_t n, void* out) {
    static_cast<std::string*>(out)->append(data, size * n);
    return size * n;
  }

  HttpResult Call(const std::string& method, const std::string& path,
                  const std::string* body) const {
    HttpResult out;
    curl_slist* headers = nullptr;
    CURL* curl = Prepare(method, path, body, &out, &headers);
    Collect(curl, curl_easy_perform(curl), &out);
    curl_easy_cleanup(curl);
    curl_slist_free_all(headers);
    return out;
  }

  std::string base_;
  std::vector<std::string> headers_;
};

}  // namespace cmig::orchestrator::test

#endif  // CMIG_TESTS_ORCHESTRATOR_REST_TESTING_H_
