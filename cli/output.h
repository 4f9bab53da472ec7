// How migrationctl prints: aligned text tables for people, JSON values for machines, and the
// time and duration formats both use.
//
//   Table t({"STEP", "STATUS", "ATTEMPT"});
//   t.AddRow({"fetch", "COMPLETED", "0"});
//   t.Print(out);                       // STEP   STATUS     ATTEMPT
//                                       // fetch  COMPLETED  0
//   JsonObject o;
//   o.Set("workflowId", JsonString(id)).Set("attempts", JsonNumber(3));
//   PrintJson(o.value(), out);
//
// All functions are thread-compatible and never block.
#ifndef CMIG_CLI_OUTPUT_H_
#define CMIG_CLI_OUTPUT_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "google/protobuf/struct.pb.h"

namespace cmig::cli {

// Columns padded to their widest cell, two spaces apart; the last column is not padded.
class Table {
 public:
  explicit Table(std::vector<std::string> header);
  // A row with fewer cells than the header is padded with empty cells.
  void AddRow(std::vector<std::string> cells);
  bool empty() const { return rows_.empty(); }
  void Print(std::ostream& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// Builders for google::protobuf::Value, which definitions/json.h writes with sorted keys.
google::protobuf::Value JsonString(absl::string_view s);
google::protobuf::Value JsonNumber(double d);
google::protobuf::Value JsonBool(bool b);
google::protobuf::Value JsonNull();

class JsonObject {
 public:
  JsonObject& Set(absl::string_view key, google::protobuf::Value v);
  const google::protobuf::Value& value() const { return value_; }
  google::protobuf::Value Take() { return std::move(value_); }

 private:
  google::protobuf::Value value_ = [] {
    google::protobuf::Value v;
    v.mutable_struct_value();
    return v;
  }();
};

class JsonArray {
 public:
  JsonArray& Add(google::protobuf::Value v);
  const google::protobuf::Value& value() const { return value_; }
  google::protobuf::Value Take() { return std::move(value_); }

 private:
  google::protobuf::Value value_ = [] {
    google::protobuf::Value v;
    v.mutable_list_value();
    return v;
  }();
};

// A map<string, Value> field (workflow input/output) as a JSON object value.
google::protobuf::Value StructValue(
    const google::protobuf::Map<std::string, google::protobuf::Value>& fields);

// A message in protobuf's JSON mapping (camelCase names, enums by name), as a Value.
google::protobuf::Value MessageValue(const google::protobuf::Message& message);

// Pretty JSON followed by a newline.
void PrintJson(const google::protobuf::Value& v, std::ostream& out);

// Milliseconds since the epoch as "2026-11-22 06:53:52Z" (UTC); "-" for 0.
std::string FormatTimeMs(int64_t epoch_ms);
// "850ms", "12.3s", "4m05s", "2h03m"; "-" for a negative duration.
std::string FormatDurationMs(int64_t ms);

// Text from elsewhere (a package, a definition, a server's message) made safe to show on a
// terminal: control characters (ESC, BEL, CR, backspace, ...; newlines too unless
// `keep_newlines`), C1 controls and the bidirectional overrides that reorder what is shown
// become visible escapes (\x1b, \u202e), and bytes that are not UTF-8 become \xNN. Everything
// else, other scripts included, is kept.
std::string TerminalSafe(absl::string_view s, bool keep_newlines = false);

}  // namespace cmig::cli

#endif  // CMIG_CLI_OUTPUT_H_
