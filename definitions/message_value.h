// Protobuf messages <-> JSON values and text, through protobuf's JSON mapping.
//
// Workflow input and output, task data and the project's own messages (reports, plans, packages,
// migration requests) travel inside Conductor's task data as JSON. These functions are the one
// bridge between such JSON and a typed message:
//
//   ASSIGN_OR_RETURN(google::protobuf::Value v, cmig::MessageToValue(report));
//   v1::MigrationReport back;
//   if (absl::Status s = cmig::MessageFromValue(v, &back); !s.ok()) {
//     return absl::InvalidArgumentError(absl::StrCat("input 'report': ", s.message()));
//   }
//
// Field names are protobuf's lowerCamelCase JSON names, int64 fields are JSON strings and enums
// are names, as protobuf's JSON mapping writes them. Conductor definitions are not converted
// here: they have their own dialect (definitions/conductor_json.h). Thread-safe.
#ifndef CMIG_DEFINITIONS_MESSAGE_VALUE_H_
#define CMIG_DEFINITIONS_MESSAGE_VALUE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "google/protobuf/struct.pb.h"

namespace cmig {

// `m` as JSON text (`pretty`: indented). Internal for the rare messages protobuf cannot print
// (an Any of an unknown type, a Timestamp out of range).
absl::StatusOr<std::string> MessageToJson(const google::protobuf::Message& m, bool pretty = false);
// `m` as a JSON value; errors as MessageToJson.
absl::StatusOr<google::protobuf::Value> MessageToValue(const google::protobuf::Message& m);

// Reads JSON text or a JSON value into `m` (cleared first). InvalidArgument when it is not that
// message in protobuf's JSON mapping; the error's message is protobuf's reason alone, so the
// caller can say what was being read. Unknown fields are an error unless `ignore_unknown_fields`.
absl::Status MessageFromJson(absl::string_view json, google::protobuf::Message* m,
                             bool ignore_unknown_fields = false);
absl::Status MessageFromValue(const google::protobuf::Value& v, google::protobuf::Message* m,
                              bool ignore_unknown_fields = false);

}  // namespace cmig

#endif  // CMIG_DEFINITIONS_MESSAGE_VALUE_H_
