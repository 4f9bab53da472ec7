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
  // Cells hold names and reasons from definitions and packages: shown, never obeyed.
  for (std::string& c : cells) c = TerminalSafe(c);
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

namespace {

// The length of the UTF-8 sequence at the start of `s` and its code point; 0 when it is not
// one (truncated, overlong, a surrogate or past U+10FFFF).
size_t DecodeUtf8(absl::string_view s, char32_t* cp) {
  const auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = b(0);
  size_t n = 0;
  char32_t value = 0;
  char32_t min = 0;
  if (lead < 0x80) {
    *cp = lead;
    return 1;
  } else if ((lead & 0xE0) == 0xC0) {
    n = 2, value = lead & 0x1F, min = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    n = 3, value = lead & 0x0F, min = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    n = 4, value = lead & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() < n) return 0;
  for (size_t i = 1; i < n; ++i) {
    if ((b(i) & 0xC0) != 0x80) return 0;
    value = (value << 6) | (b(i) & 0x3F);
  }
  if (value < min || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return 0;
  *cp = value;
  return n;
}

bool ShownAsEscape(char32_t cp) {
  return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace

std::string TerminalSafe(absl::string_view s, bool keep_newlines) {
  std::string out;
  out.reserve(s.size());
  while (!s.empty()) {
    char32_t cp = 0;
    const size_t n = DecodeUtf8(s, &cp);
    if (n == 0) {
      absl::StrAppend(&out, absl::StrFormat("\\x%02x", static_cast<unsigned char>(s[0])));
      s.remove_prefix(1);
      continue;
    }
    if (cp == '\n' && keep_newlines) {
      out += '\n';
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp == '\n') {
      out += "\\n";
    } else if (ShownAsEscape(cp) && cp < 0x80) {
      absl::StrAppend(&out, absl::StrFormat("\\x%02x", static_cast<unsigned>(cp)));
    } else if (ShownAsEscape(cp)) {
      absl::StrAppend(&out, absl::StrFormat("\\u%04x", static_cast<unsigned>(cp)));
    } else {
      out.append(s.data(), n);
    }
    s.remove_prefix(n);
  }
  return out;
}

}  // namespace cmig::cli
