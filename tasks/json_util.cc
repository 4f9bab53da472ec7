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

namespace cmig {
namespace {

constexpr int kMaxDepth = 512;

class Parser {
 public:
  explicit Parser(absl::string_view text) : text_(text) {}

  absl::StatusOr<google::protobuf::Value> ParseDocument() {
    google::protobuf::Value v;
    SkipSpace();
    if (absl::Status s = ParseValue(&v, 0); !s.ok()) {
      return s;
    }
    SkipSpace();
    if (pos_ != text_.size()) {
      return Error("unexpected content after the JSON value");
    }
    return v;
  }

 private:
  absl::Status Error(absl::string_view what) const {
    int line = 1;
    int column = 1;
    for (size_t i = 0; i < pos_ && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    return absl::InvalidArgumentError(absl::StrFormat(
        "invalid JSON at line %d, column %d (offset %d): %s", line, column, pos_, what));
  }

  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool Consume(absl::string_view word) {
    if (text_.substr(pos_, word.size()) != word) {
      return false;
    }
    pos_ += word.size();
    return true;
  }

  absl::Status ParseValue(google::protobuf::Value* out, int depth) {
    if (depth > kMaxDepth) {
      return Error("nesting deeper than 512");
    }
    if (pos_ >= text_.size()) {
      return Error("unexpected end of input, expected a value");
    }
    char c = text_[pos_];
    switch (c) {
      case '{':
        return ParseObject(out->mutable_struct_value(), depth);
      case '[':
        return ParseArray(out->mutable_list_value(), depth);
      case '"': {
        std::string s;
        if (absl::Status st = ParseString(&s); !st.ok()) {
          return st;
        }
        out->set_string_value(std::move(s));
        return absl::OkStatus();
      }
      case 't':
        if (Consume("true")) {
          out->set_bool_value(true);
          return absl::OkStatus();
        }
        break;
      case 'f':
        if (Consume("false")) {
          out->set_bool_value(false);
          return absl::OkStatus();
        }
        break;
      case 'n':
        if (Consume("null")) {
          out->set_null_value(google::protobuf::NULL_VALUE);
          return absl::OkStatus();
        }
        break;
      default:
        if (c == '-' || (c >= '0' && c <= '9')) {
          return ParseNumber(out);
        }
        break;
    }
    return Error(absl::StrCat("unexpected character '", absl::CEscape(absl::string_view(&c, 1)),
                              "', expected a value"));
  }

  absl::Status ParseObject(google::protobuf::Struct* out, int depth) {
    ++pos_;  // '{'
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == '}') {
      ++pos_;
      return absl::OkStatus();
    }
    while (true) {
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != '"') {
        return Error("expected a string key");
      }
      size_t key_pos = pos_;
      std::string key;
      if (absl::Status s = ParseString(&key); !s.ok()) {
        return s;
      }
      if (out->fields().contains(key)) {
        pos_ = key_pos;
        return Error(absl::StrCat("duplicate key \"", key, "\""));
      }
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != ':') {
        return Error("expected ':'");
      }
      ++pos_;
      SkipSpace();
      if (absl::Status s = ParseValue(&(*out->mutable_fields())[key], depth + 1); !s.ok()) {
        return s;
      }
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == '}') {
        ++pos_;
        return absl::OkStatus();
      }
      return Error("expected ',' or '}'");
    }
  }

  absl::Status ParseArray(google::protobuf::ListValue* out, int depth) {
    ++pos_;  // '['
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == ']') {
      ++pos_;
      return absl::OkStatus();
    }
    while (true) {
      SkipSpace();
      if (absl::Status s = ParseValue(out->add_values(), depth + 1); !s.ok()) {
        return s;
      }
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == ']') {
        ++pos_;
        return absl::OkStatus();
      }
      return Error("expected ',' or ']'");
    }
  }

  absl::Status ParseHex4(uint32_t* out) {
    if (pos_ + 4 > text_.size()) {
      return Error("truncated \\u escape");
    }
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char h = text_[pos_ + i];
      v <<= 4;
      if (h >= '0' && h <= '9') {
        v |= h - '0';
      } else if (h >= 'a' && h <= 'f') {
        v |= h - 'a' + 10;
      } else if (h >= 'A' && h <= 'F') {
        v |= h - 'A' + 10;
      } else {
        return Error("invalid hex digit in \\u escape");
      }
    }
    pos_ += 4;
    *out = v;
    return absl::OkStatus();
  }

  static void AppendUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  absl::Status ParseString(std::string* out) {
    ++pos_;  // opening quote
    while (true) {
      if (pos_ >= text_.size()) {
        return Error("unterminated string");
      }
      char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return absl::OkStatus();
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        return Error("control character in string");
      }
      if (c != '\\') {
        out->push_back(c);
        ++pos_;
        continue;
      }
      ++pos_;
      if (pos_ >= text_.size()) {
        return Error("unterminated escape");
      }
      char e = text_[pos_++];
      switch (e) {
        case '"':
          out->push_back('"');
          break;
        case '\\':
          out->push_back('\\');
          break;
        case '/':
          out->push_back('/');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          uint32_t cp;
          if (absl::Status s = ParseHex4(&cp); !s.ok()) {
            return s;
          }
          if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return Error("lone low surrogate in \\u escape");
          }
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (!Consume("\\u")) {
              return Error("high surrogate without a low surrogate");
            }
            uint32_t lo;
            if (absl::Status s = ParseHex4(&lo); !s.ok()) {
              return s;
            }
            if (lo < 0xDC00 || lo > 0xDFFF) {
              return Error("high surrogate without a low surrogate");
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          AppendUtf8(cp, out);
          break;
        }
        default:
          --pos_;
          return Error("invalid escape in string");
      }
    }
  }

  absl::Status ParseNumber(google::protobuf::Value* out) {
    const size_t start = pos_;
    auto digits = [&] {
      size_t n = 0;
      while (pos_ < text_.size() && absl::ascii_isdigit(text_[pos_])) {
        ++pos_;
        ++n;
      }
      return n;
    };
    if (text_[pos_] == '-') {
      ++pos_;
    }
    if (pos_ < text_.size() && text_[pos_] == '0') {
      ++pos_;
    } else if (digits() == 0) {
      return Error("invalid number");
    }
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      if (digits() == 0) {
        return Error("invalid number: digits expected after '.'");
      }
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) {
        ++pos_;
      }
      if (digits() == 0) {
        return Error("invalid number: digits expected in exponent");
      }
    }
    std::string token(text_.substr(start, pos_ - start));
    double d = std::strtod(token.c_str(), nullptr);
    if (!std::isfinite(d)) {
      pos_ = start;
      return Error("number out of range");
    }
    out->set_number_value(d);
    return absl::OkStatus();
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

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
  return Parser(json).ParseDocument();
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
