#include "definitions/canonical.h"

#include <openssl/evp.h>

#include <cstdlib>
#include <memory>

#include "absl/strings/escaping.h"
#include "definitions/conductor_json.h"
#include "definitions/conductor_messages.h"
#include "definitions/json.h"

namespace cmig {

// WriteJson's compact output already is the canonical text form: sorted keys, fixed number and
// string formats. Keeping a separate entry point pins that contract for hashing.
std::string CanonicalJson(const google::protobuf::Value& v) { return WriteJson(v, false); }

std::string CanonicalJson(const conductor::proto::WorkflowDef& d) {
  return CanonicalJson(WorkflowDefToValue(d));
}

std::string CanonicalJson(const conductor::proto::TaskDef& d) {
  return CanonicalJson(TaskDefToValue(d));
}

std::string CanonicalJson(const conductor::proto::EventHandler& h) {
  return CanonicalJson(EventHandlerToValue(h));
}

std::string CanonicalJson(const v1::WorkflowSchedule& s) {
  return CanonicalJson(ScheduleDefinitionToValue(s));
}

std::string Sha256Hex(absl::string_view bytes) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  // These only fail on allocation failure, which the rest of the program does not survive either.
  if (ctx == nullptr || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), bytes.data(), bytes.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest, &length) != 1) {
    std::abort();
  }
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), length));
}

std::string CanonicalHash(const conductor::proto::WorkflowDef& d) {
  return Sha256Hex(CanonicalJson(d));
}

std::string CanonicalHash(const conductor::proto::TaskDef& d) {
  return Sha256Hex(CanonicalJson(d));
}

}  // namespace cmig
