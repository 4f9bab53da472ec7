#include "definitions/message_value.h"

#include "absl/strings/str_cat.h"
#include "definitions/json.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"

namespace cmig {

absl::StatusOr<std::string> MessageToJson(const google::protobuf::Message& m, bool pretty) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = false;
  options.add_whitespace = pretty;
  if (auto s = google::protobuf::util::MessageToJsonString(m, &json, options); !s.ok()) {
    return absl::InternalError(absl::StrCat("writing ", m.GetDescriptor()->full_name(),
                                            " as JSON: ", s.message().as_string()));
  }
  return json;
}

absl::StatusOr<google::protobuf::Value> MessageToValue(const google::protobuf::Message& m) {
  absl::StatusOr<std::string> json = MessageToJson(m);
  if (!json.ok()) return json.status();
  return ParseJson(*json);
}

absl::Status MessageFromJson(absl::string_view json, google::protobuf::Message* m,
                             bool ignore_unknown_fields) {
  m->Clear();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = ignore_unknown_fields;
  auto s = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), m, options);
  if (!s.ok()) return absl::InvalidArgumentError(s.message().as_string());
  return absl::OkStatus();
}

absl::Status MessageFromValue(const google::protobuf::Value& v, google::protobuf::Message* m,
                              bool ignore_unknown_fields) {
  return MessageFromJson(WriteJson(v), m, ignore_unknown_fields);
}

}  // namespace cmig
