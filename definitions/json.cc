#include "definitions/json.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "google/protobuf/util/json_util.h"
#include "simdjson.h"

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
  out->append(FormatFiniteNumber(d));
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

// protobuf's parser, kept for its messages: they quote the text near the problem.
absl::Status ProtobufParseError(absl::string_view json) {
  google::protobuf::Value v;
  google::protobuf::util::JsonParseOptions options;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &v, options);
  if (status.ok()) return CheckFinite(v);
  // protobuf's message ends with the offending text and a caret; keep it on one line.
  std::string why(status.message());
  absl::StrReplaceAll({{"\n", " "}}, &why);
  return absl::InvalidArgumentError(
      absl::StrCat("invalid JSON: ", absl::StripAsciiWhitespace(why)));
}

// The nesting protobuf's parser allows; deeper documents are rejected by both parsers.
constexpr size_t kMaxDepth = 100;
// Parsers keep the buffers of the largest document they read; documents above this size get a
// parser of their own so a thread does not hold a large buffer after a large document.
constexpr size_t kReusedParserMaxBytes = 1 << 20;

// A parser for documents up to `capacity` bytes, nested at most kMaxDepth deep. Buffers are
// allocated by the first parse.
std::unique_ptr<simdjson::dom::parser> NewParser(size_t capacity) {
  auto parser = std::make_unique<simdjson::dom::parser>(capacity);
  // Buffers start small and grow to the largest document read (at most `capacity`), keeping
  // the depth limit.
  // An allocation failure here shows again as the error of the first parse.
  const simdjson::error_code allocated =
      parser->allocate(std::min<size_t>(capacity, 4096), kMaxDepth);
  (void)allocated;
  return parser;
}

// Converts simdjson's document into a Value. False on a repeated object key.
bool ToProtoValue(simdjson::dom::element e, google::protobuf::Value* out) {
  switch (e.type()) {
    case simdjson::dom::element_type::OBJECT: {
      auto* fields = out->mutable_struct_value()->mutable_fields();
      for (simdjson::dom::key_value_pair field : simdjson::dom::object(e)) {
        auto [it, inserted] = fields->try_emplace(std::string(field.key));
        if (!inserted || !ToProtoValue(field.value, &it->second)) return false;
      }
      return true;
    }
    case simdjson::dom::element_type::ARRAY: {
      auto* values = out->mutable_list_value()->mutable_values();
      for (simdjson::dom::element item : simdjson::dom::array(e)) {
        if (!ToProtoValue(item, values->Add())) return false;
      }
      return true;
    }
    case simdjson::dom::element_type::STRING:
      out->set_string_value(std::string(std::string_view(e)));
      return true;
    case simdjson::dom::element_type::INT64:
      out->set_number_value(static_cast<double>(int64_t(e)));
      return true;
    case simdjson::dom::element_type::UINT64:
      out->set_number_value(static_cast<double>(uint64_t(e)));
      return true;
    case simdjson::dom::element_type::DOUBLE:
      out->set_number_value(double(e));
      return true;
    case simdjson::dom::element_type::BOOL:
      out->set_bool_value(bool(e));
      return true;
    case simdjson::dom::element_type::NULL_VALUE:
      out->set_null_value(google::protobuf::NULL_VALUE);
      return true;
  }
  return false;
}

}  // namespace

bool IsValidUtf8(absl::string_view text) {
  return simdjson::validate_utf8(text.data(), text.size());
}

std::string FormatFiniteNumber(double d) {
  if (d == 0) {  // Also folds -0 into 0.
    return "0";
  }
  if (std::trunc(d) == d && std::fabs(d) < 9.2e18) {
    return absl::StrCat(static_cast<int64_t>(d));
  }
  char buf[40];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, d);
    if (std::strtod(buf, nullptr) == d) {
      break;
    }
  }
  return buf;
}

absl::StatusOr<google::protobuf::Value> ParseJson(absl::string_view json) {
  // An empty view may point nowhere; simdjson copies from the pointer even for no bytes.
  if (json.data() == nullptr) json = absl::string_view("", 0);
  // simdjson reads valid documents many times faster than protobuf's parser; anything it
  // rejects is parsed again by protobuf's only to word the error.
  thread_local std::unique_ptr<simdjson::dom::parser> reused = NewParser(kReusedParserMaxBytes);
  std::unique_ptr<simdjson::dom::parser> own;
  simdjson::dom::parser* parser = reused.get();
  if (json.size() > kReusedParserMaxBytes) {
    own = NewParser(json.size());
    parser = own.get();
  }
  simdjson::dom::element root;
  const simdjson::error_code error = parser->parse(json.data(), json.size()).get(root);
  google::protobuf::Value v;
  if (error == simdjson::SUCCESS && ToProtoValue(root, &v)) return v;
  absl::Status why = ProtobufParseError(json);
  if (!why.ok()) return why;
  return absl::InvalidArgumentError(
      absl::StrCat("invalid JSON: ", error == simdjson::SUCCESS ? "an object repeats a key"
                                                                : simdjson::error_message(error)));
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
