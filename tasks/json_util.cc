#include "tasks/json_util.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "google/protobuf/util/json_util.h"

namespace cmig {
namespace {

// JSON has no NaN or infinity; protobuf's parser turns 1e400 into +inf, which would not survive
// writing and reading back.
absl::Status CheckFinite(const google::protobuf::Value& v) {
  switch (v.kind_case()) {
    case google::protobuf::Value::kNumberValue:
      if (!std::isfinite(v.number_value())) {
        return absl::InvalidArgumentError("invalid JSON: number out of range");
      }
      return absl::OkStatus();
    case google::protobuf::Value::kListValue:
      for (const auto& e : v.list_value().values()) {
        if (absl::Status s = CheckFinite(e); !s.ok()) return s;
      }
      return absl::OkStatus();
    case google::protobuf::Value::kStructValue:
      for (const auto& [k, e] : v.struct_value().fields()) {
        if (absl::Status s = CheckFinite(e); !s.ok()) return s;
      }
      return absl::OkStatus();
    default:
      return absl::OkStatus();
  }
}

void AppendNumber(double d, std::string* out) {
  if (!std::isfinite(d)) {
    out->append("null");
    return;
  }
  if (d == 0) {  // Also folds -0 into 0.
    out->push_back('0');
    return;
  }
  if (std::trunc(d) == d && std::fabs(d) < 9.2e18) {
    absl::StrAppend(out, static_cast<int64_t>(d));
    return;
  }
  char buf[40];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, d);
    if (std::strtod(buf, nullptr) == d) {
      break;
    }
  }
  out->append(buf);
}

void AppendString(absl::string_view s, std::string* out) {
  out->push_back('"');
  for (char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(out, "\\u%04x", static_cast<unsigned char>(c));
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

void Newline(bool pretty, int indent, std::string* out) {
  if (!pretty) {
    return;
  }
  out->push_back('\n');
  out->append(static_cast<size_t>(indent) * 2, ' ');
}

void AppendValue(const google::protobuf::Value& v, bool pretty, int indent, std::string* out) {
  switch (v.kind_case()) {
    case google::protobuf::Value::kBoolValue:
      out->append(v.bool_value() ? "true" : "false");
      return;
    case google::protobuf::Value::kNumberValue:
      AppendNumber(v.number_value(), out);
      return;
    case google::protobuf::Value::kStringValue:
      AppendString(v.string_value(), out);
      return;
    case google::protobuf::Value::kListValue: {
      const auto& values = v.list_value().values();
      if (values.empty()) {
        out->append("[]");
        return;
      }
      out->push_back('[');
      for (int i = 0; i < values.size(); ++i) {
        if (i > 0) {
          out->push_back(',');
        }
        Newline(pretty, indent + 1, out);
        AppendValue(values[i], pretty, indent + 1, out);
      }
      Newline(pretty, indent, out);
      out->push_back(']');
      return;
    }
    case google::protobuf::Value::kStructValue: {
      const auto& fields = v.struct_value().fields();
      if (fields.empty()) {
        out->append("{}");
        return;
      }
      std::vector<const std::string*> keys;
      keys.reserve(fields.size());
      for (const auto& [key, unused] : fields) {
        keys.push_back(&key);
      }
      std::sort(keys.begin(), keys.end(),
                [](const std::string* a, const std::string* b) { return *a < *b; });
      out->push_back('{');
      bool first = true;
      for (const std::string* key : keys) {
        if (!first) {
          out->push_back(',');
        }
        first = false;
        Newline(pretty, indent + 1, out);
        AppendString(*key, out);
        out->append(pretty ? ": " : ":");
        AppendValue(fields.at(*key), pretty, indent + 1, out);
      }
      Newline(pretty, indent, out);
      out->push_back('}');
      return;
    }
    case google::protobuf::Value::kNullValue:
    case google::protobuf::Value::KIND_NOT_SET:
      out->append("null");
      return;
  }
}

bool IsIdentifier(absl::string_view key) {
  if (key.empty() || absl::ascii_isdigit(key[0])) {
    return false;
  }
  for (char c : key) {
    if (!absl::ascii_isalnum(c) && c != '_') {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<google::protobuf::Value> ParseJson(absl::string_view json) {
  google::protobuf::Value v;
  google::protobuf::util::JsonParseOptions options;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &v, options);
  if (!status.ok()) {
    // protobuf's message ends with the offending text and a caret; keep it on one line.
    std::string why(status.message());
    absl::StrReplaceAll({{"\n", " "}}, &why);
    return absl::InvalidArgumentError(
        absl::StrCat("invalid JSON: ", absl::StripAsciiWhitespace(why)));
  }
  if (absl::Status s = CheckFinite(v); !s.ok()) return s;
  return v;
}

std::string WriteJson(const google::protobuf::Value& v, bool pretty) {
  std::string out;
  AppendValue(v, pretty, 0, &out);
  return out;
}

std::string JsonPathChild(absl::string_view path, absl::string_view key) {
  if (IsIdentifier(key)) {
    return absl::StrCat(path, ".", key);
  }
  std::string quoted;
  AppendString(key, &quoted);
  return absl::StrCat(path, "[", quoted, "]");
}

std::string JsonPathIndex(absl::string_view path, int index) {
  return absl::StrCat(path, "[", index, "]");
}

}  // namespace cmig
