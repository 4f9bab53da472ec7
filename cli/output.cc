#include "cli/output.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "definitions/json.h"
#include "definitions/message_value.h"

namespace cmig::cli {

Table::Table(std::vector<std::string> header) : header_(std::move(header)) {}

void Table::AddRow(std::vector<std::string> cells) {
  cells.resize(std::max(cells.size(), header_.size()));
  rows_.push_back(std::move(cells));
}

void Table::Print(std::ostream& out) const {
  std::vector<size_t> widths(header_.size(), 0);
  for (size_t i = 0; i < header_.size(); ++i) widths[i] = header_[i].size();
  for (const auto& row : rows_) {
    for (size_t i = 0; i < header_.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  auto print_row = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < header_.size(); ++i) {
      absl::StrAppend(&line, row[i]);
      if (i + 1 < header_.size()) line.append(widths[i] - row[i].size() + 2, ' ');
    }
    // Empty trailing cells would leave trailing blanks.
    line.erase(line.find_last_not_of(' ') + 1);
    out << line << "\n";
  };
  print_row(header_);
  for (const auto& row : rows_) print_row(row);
}

google::protobuf::Value JsonString(absl::string_view s) {
  google::protobuf::Value v;
  v.set_string_value(std::string(s));
  return v;
}

google::protobuf::Value JsonNumber(double d) {
  google::protobuf::Value v;
  v.set_number_value(d);
  return v;
}

google::protobuf::Value JsonBool(bool b) {
  google::protobuf::Value v;
  v.set_bool_value(b);
  return v;
}

google::protobuf::Value JsonNull() {
  google::protobuf::Value v;
  v.set_null_value(google::protobuf::NULL_VALUE);
  return v;
}

JsonObject& JsonObject::Set(absl::string_view key, google::protobuf::Value v) {
  (*value_.mutable_struct_value()->mutable_fields())[std::string(key)] = std::move(v);
  return *this;
}

JsonArray& JsonArray::Add(google::protobuf::Value v) {
  *value_.mutable_list_value()->add_values() = std::move(v);
  return *this;
}

google::protobuf::Value StructValue(
    const google::protobuf::Map<std::string, google::protobuf::Value>& fields) {
  google::protobuf::Value v;
  auto* s = v.mutable_struct_value()->mutable_fields();
  for (const auto& [k, val] : fields) (*s)[k] = val;
  return v;
}

google::protobuf::Value MessageValue(const google::protobuf::Message& message) {
  absl::StatusOr<google::protobuf::Value> v = MessageToValue(message);
  return v.ok() ? *std::move(v) : JsonNull();
}

void PrintJson(const google::protobuf::Value& v, std::ostream& out) {
  out << WriteJson(v, /*pretty=*/true) << "\n";
}

std::string FormatTimeMs(int64_t epoch_ms) {
  if (epoch_ms <= 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%SZ", absl::FromUnixMillis(epoch_ms),
                          absl::UTCTimeZone());
}

std::string FormatDurationMs(int64_t ms) {
  if (ms < 0) return "-";
  if (ms < 1000) return absl::StrCat(ms, "ms");
  if (ms < 60'000) return absl::StrFormat("%.1fs", static_cast<double>(ms) / 1000.0);
  int64_t s = ms / 1000;
  if (s < 3600) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  return absl::StrFormat("%dh%02dm", s / 3600, (s % 3600) / 60);
}

std::string Truncate(absl::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  if (max <= 3) return std::string(s.substr(0, max));
  return absl::StrCat(s.substr(0, max - 3), "...");
}

}  // namespace cmig::cli
