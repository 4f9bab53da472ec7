#include "definitions/canonical.h"

#include <cstdlib>

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

// The EVP calls only fail on allocation failure, which the rest of the program does not survive
// either.
Sha256Hasher::Sha256Hasher() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1) std::abort();
}

Sha256Hasher::~Sha256Hasher() { EVP_MD_CTX_free(ctx_); }

void Sha256Hasher::Update(absl::string_view bytes) {
  if (EVP_DigestUpdate(ctx_, bytes.data(), bytes.size()) != 1) std::abort();
}

std::string Sha256Hasher::HexDigest() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(ctx_, digest, &length) != 1) std::abort();
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), length));
}

std::string Sha256Hex(absl::string_view bytes) {
  Sha256Hasher hasher;
  hasher.Update(bytes);
  return hasher.HexDigest();
}

std::string CanonicalHash(const conductor::proto::WorkflowDef& d) {
  return Sha256Hex(CanonicalJson(d));
}

std::string CanonicalHash(const conductor::proto::TaskDef& d) {
  return Sha256Hex(CanonicalJson(d));
}

}  // namespace cmig
