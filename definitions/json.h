// Strict JSON text <-> google::protobuf::Value, with deterministic output.
//
// The JSON layer under the Conductor dialect (definitions/conductor_json.h), canonical hashing
// (definitions/canonical.h) and message conversion (definitions/message_value.h): parsing errors
// name a position, and written JSON is the same bytes for the same value.
//
//   ASSIGN_OR_RETURN(google::protobuf::Value v, cmig::ParseJson(text));
//   std::string out = cmig::WriteJson(v, /*pretty=*/true);
//
// Numbers are held as doubles (that is what google.protobuf.Value carries), so integers beyond
// 2^53 lose precision; definitions never carry such numbers.
#ifndef CMIG_DEFINITIONS_JSON_H_
#define CMIG_DEFINITIONS_JSON_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/struct.pb.h"

namespace cmig {

// Parses one JSON document (simdjson; protobuf's parser words the errors). Rejects trailing
// content, duplicate object keys (they would make a definition's meaning depend on the parser),
// invalid escapes, lone surrogates, excessive nesting and non-finite numbers. Errors are
// InvalidArgument quoting the text near the problem. Thread-safe.
absl::StatusOr<google::protobuf::Value> ParseJson(absl::string_view json);

// Writes `v` as JSON. Object keys are sorted (byte order) at every depth, so the output depends
// only on the value. Integral numbers print without a fraction ("3", not "3.0"); other numbers
// print in the shortest form that reads back to the same double; NaN and infinities (which JSON
// cannot express) print as null, as does a Value with no kind set. Strings keep UTF-8 as is and
// escape only '"', '\\' and control characters. `pretty` indents by two spaces. Thread-safe.
std::string WriteJson(const google::protobuf::Value& v, bool pretty = false);

// `d` (finite) in the shortest form that reads back to the same double: integral values without
// a fraction ("3", not "3.0"), -0 as "0". The number format of WriteJson and of expression
// results that turn numbers into strings.
std::string FormatFiniteNumber(double d);

// Whether `text` is well-formed UTF-8 (what a protobuf string field and a JSON string may hold).
bool IsValidUtf8(absl::string_view text);

// Appends a JSONPath-like child to `path`: `.key` for identifier-like keys, `["key"]` otherwise.
std::string JsonPathChild(absl::string_view path, absl::string_view key);
// Appends `[index]` to `path`.
std::string JsonPathIndex(absl::string_view path, int index);

}  // namespace cmig

#endif  // CMIG_DEFINITIONS_JSON_H_
