#include "tasks/definition_codec.h"

#include <openssl/sha.h>

#include <algorithm>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace cmig::migration_codec {
namespace {

namespace pb = google::protobuf;

// Writes a Value with object keys sorted at every depth.
void WriteSorted(const pb::Value& v, std::string* out) {
  switch (v.kind_case()) {
    case pb::Value::kStructValue: {
      std::vector<const std::string*> keys;
      for (const auto& [k, unused] : v.struct_value().fields()) keys.push_back(&k);
      std::sort(keys.begin(), keys.end(), [](auto* a, auto* b) { return *a < *b; });
      out->push_back('{');
      for (size_t i = 0; i < keys.size(); ++i) {
        if (i) out->push_back(',');
        absl::StrAppend(out, "\"", absl::CEscape(*keys[i]), "\":");
        WriteSorted(v.struct_value().fields().at(*keys[i]), out);
      }
      out->push_back('}');
      return;
    }
    case pb::Value::kListValue: {
      out->push_back('[');
      for (int i = 0; i < v.list_value().values_size(); ++i) {
        if (i) out->push_back(',');
        WriteSorted(v.list_value().values(i), out);
      }
      out->push_back(']');
      return;
    }
    case pb::Value::kStringValue:
      absl::StrAppend(out, "\"", absl::CEscape(v.string_value()), "\"");
      return;
    case pb::Value::kNumberValue:
      absl::StrAppend(out, v.number_value());
      return;
    case pb::Value::kBoolValue:
      absl::StrAppend(out, v.bool_value() ? "true" : "false");
      return;
    default:
      absl::StrAppend(out, "null");
  }
}

template <typename M>
std::string Canonical(const M& m) {
  std::string json;
  pb::util::JsonPrintOptions opts;
  (void)pb::util::MessageToJsonString(m, &json, opts);
  pb::Value v;
  (void)pb::util::JsonStringToMessage(json, &v);
  std::string out;
  WriteSorted(v, &out);
  return out;
}

template <typename M>
absl::StatusOr<M> Parse(absl::string_view json, absl::string_view what) {
  M m;
  pb::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = false;
  auto st = pb::util::JsonStringToMessage(std::string(json), &m, opts);
  if (!st.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a valid ", what, " definition: ", st.message().as_string()));
  }
  return m;
}

}  // namespace

std::string CanonicalJson(const conductor::proto::WorkflowDef& def) { return Canonical(def); }
std::string CanonicalJson(const conductor::proto::TaskDef& def) { return Canonical(def); }

std::string Sha256Hex(absl::string_view bytes) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), md);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(md), SHA256_DIGEST_LENGTH));
}

absl::StatusOr<conductor::proto::WorkflowDef> ParseWorkflowDef(absl::string_view json) {
  return Parse<conductor::proto::WorkflowDef>(json, "workflow");
}

absl::StatusOr<conductor::proto::TaskDef> ParseTaskDef(absl::string_view json) {
  return Parse<conductor::proto::TaskDef>(json, "task");
}

absl::StatusOr<conductor::proto::WorkflowDef> WorkflowDefFromValue(const pb::Value& value) {
  if (value.kind_case() != pb::Value::kStructValue) {
    return absl::InvalidArgumentError("inline workflow definition is not a JSON object");
  }
  std::string json;
  (void)pb::util::MessageToJsonString(value, &json);
  return ParseWorkflowDef(json);
}

pb::Value WorkflowDefToValue(const conductor::proto::WorkflowDef& def) {
  std::string json;
  (void)pb::util::MessageToJsonString(def, &json);
  pb::Value v;
  (void)pb::util::JsonStringToMessage(json, &v);
  return v;
}

}  // namespace cmig::migration_codec
