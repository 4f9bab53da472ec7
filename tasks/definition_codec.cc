#include "tasks/definition_codec.h"

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tasks/canonical.h"
#include "tasks/conductor_json.h"

namespace cmig::migration_codec {
namespace {

// Canonical JSON written by this project never holds a key the proto cannot carry, so one in a
// package item means the item is not the kind it claims (or was not written by us).
absl::Status RejectDropped(const std::vector<JsonDiagnostic>& dropped, absl::string_view what) {
  if (dropped.empty()) {
    return absl::OkStatus();
  }
  std::vector<std::string> keys;
  keys.reserve(dropped.size());
  for (const JsonDiagnostic& d : dropped) {
    keys.push_back(d.path);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("not a valid ", what, " definition: unexpected ", absl::StrJoin(keys, ", ")));
}

}  // namespace

std::string CanonicalJson(const conductor::proto::WorkflowDef& def) {
  return ::cmig::CanonicalJson(def);
}

std::string CanonicalJson(const conductor::proto::TaskDef& def) {
  return ::cmig::CanonicalJson(def);
}

std::string Sha256Hex(absl::string_view bytes) { return ::cmig::Sha256Hex(bytes); }

absl::StatusOr<conductor::proto::WorkflowDef> ParseWorkflowDef(absl::string_view json) {
  std::vector<JsonDiagnostic> dropped;
  auto def = WorkflowDefFromConductorJson(json, &dropped);
  if (!def.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a valid workflow definition: ", def.status().message()));
  }
  if (absl::Status st = RejectDropped(dropped, "workflow"); !st.ok()) {
    return st;
  }
  return def;
}

absl::StatusOr<conductor::proto::TaskDef> ParseTaskDef(absl::string_view json) {
  std::vector<JsonDiagnostic> dropped;
  auto def = TaskDefFromConductorJson(json, &dropped);
  if (!def.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a valid task definition: ", def.status().message()));
  }
  if (absl::Status st = RejectDropped(dropped, "task"); !st.ok()) {
    return st;
  }
  return def;
}

absl::StatusOr<conductor::proto::WorkflowDef> WorkflowDefFromValue(
    const google::protobuf::Value& value) {
  if (value.kind_case() != google::protobuf::Value::kStructValue) {
    return absl::InvalidArgumentError("the inline workflow definition is not a JSON object");
  }
  // Keys an inline definition carries beyond the proto do not hide references: the converter
  // reads every field that can hold one.
  return ::cmig::WorkflowDefFromValue(value, nullptr);
}

google::protobuf::Value WorkflowDefToValue(const conductor::proto::WorkflowDef& def) {
  return ::cmig::WorkflowDefToValue(def);
}

}  // namespace cmig::migration_codec
