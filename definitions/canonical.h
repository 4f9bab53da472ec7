// Canonical JSON and SHA-256 of definitions: two equal definitions always hash the same.
//
//   std::string digest = cmig::CanonicalHash(def);  // 64 lowercase hex characters
//
// The canonical form of a definition is derived from its proto, not from the JSON it was read
// from, so everything the converter (definitions/conductor_json.h) normalises is normalised here
// too:
// - defaults: a key omitted in Conductor JSON and the same key spelled out with Conductor's
//   default value read to the same proto, hence the same canonical form;
// - shape: it is the Conductor dialect WorkflowDefToValue / TaskDefToValue write (decisionCases
//   as lists, forkTasks as lists of lists, enum names, int64 as numbers, WorkflowTask.retryCount
//   omitted when it is the -1 "no override" sentinel; empty strings, lists and maps omitted);
// - inline sub-workflow definitions (subWorkflowParam.workflowDefinition) are re-read through
//   the WorkflowDef conversion, so they too are compared after defaults, at any depth;
// - text: object keys sorted by byte order at every depth (including inside inputParameters and
//   other free-form values), no whitespace, integral numbers without a fraction ("3"), other
//   numbers in the shortest form that reads back to the same double, -0 as 0, strings as UTF-8
//   with only '"', '\\' and control characters escaped.
// Nothing else is normalised: list order is kept (task order, fork branches, joinOn are
// meaningful), and string values are compared byte for byte. Any change to a field the proto
// carries, at any depth, changes the canonical form. Keys the proto cannot carry (audit fields,
// see conductor_json.h) never take part.
//
// Numbers travel as doubles (google.protobuf.Value); int64 fields beyond 2^53 would collide,
// which no real timeout reaches. All functions are pure and thread-safe.
#ifndef CMIG_DEFINITIONS_CANONICAL_H_
#define CMIG_DEFINITIONS_CANONICAL_H_

#include <string>

#include "absl/strings/string_view.h"
#include "cmig/v1/schedules.pb.h"
#include "conductor/model/eventhandler.pb.h"
#include "conductor/model/taskdef.pb.h"
#include "conductor/model/workflowdef.pb.h"
#include "google/protobuf/struct.pb.h"
#include "openssl/evp.h"

namespace cmig {

// Keys sorted at every depth, no whitespace, stable number format (see above).
std::string CanonicalJson(const google::protobuf::Value& v);
std::string CanonicalJson(const conductor::proto::WorkflowDef& d);
std::string CanonicalJson(const conductor::proto::TaskDef& d);
// An event handler in Conductor's REST JSON (definitions/conductor_messages.h).
std::string CanonicalJson(const conductor::proto::EventHandler& h);
// A workflow schedule as a migrated definition (ScheduleDefinitionToValue,
// definitions/conductor_messages.h).
std::string CanonicalJson(const v1::WorkflowSchedule& s);

// SHA-256 of `bytes` as 64 lowercase hex characters, via OpenSSL's EVP interface.
std::string Sha256Hex(absl::string_view bytes);

// The same digest over bytes that arrive in pieces (Update in order, then HexDigest once), for
// data too large to hold whole.
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;

  void Update(absl::string_view bytes);
  std::string HexDigest();

 private:
  EVP_MD_CTX* ctx_;
};

// Sha256Hex(CanonicalJson(d)).
std::string CanonicalHash(const conductor::proto::WorkflowDef& d);
std::string CanonicalHash(const conductor::proto::TaskDef& d);

}  // namespace cmig

#endif  // CMIG_DEFINITIONS_CANONICAL_H_
