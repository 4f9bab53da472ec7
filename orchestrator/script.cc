// The evaluator of the JavaScript subset (script.h): a tokenizer, a recursive-descent parser
// into a small tree, and a tree walker with JavaScript's coercion rules.
#include "orchestrator/script.h"

#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/status_macros.h"
#include "orchestrator/expressions.h"

namespace cmig::orchestrator {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Value;

struct Js {
  enum Kind { kUndefined, kNull, kBool, kNumber, kString, kObject, kArray } kind = kUndefined;
  bool b = false;
  double n = 0;
  std::string s;
  Value v;  // kObject / kArray

  static Js Undefined() { return Js{}; }
  static Js Bool(bool x) {
    Js j;
    j.kind = kBool;
    j.b = x;
    return j;
  }
  static Js Number(double x) {
    Js j;
    j.kind = kNumber;
    j.n = x;
    return j;
  }
  static Js String(std::string x) {
    Js j;
    j.kind = kString;
    j.s = std::move(x);
    return j;
  }
  static Js Null() {
    Js j;
    j.kind = kNull;
    return j;
  }
  static Js FromValue(const Value& v) {
    switch (v.kind_case()) {
      case Value::kBoolValue:
        return Bool(v.bool_value());
      case Value::kNumberValue:
        return Number(v.number_value());
      case Value::kStringValue:
        return String(v.string_value());
      case Value::kStructValue: {
        Js j;
        j.kind = kObject;
        j.v = v;
        return j;
      }
      case Value::kListValue: {
        Js j;
        j.kind = kArray;
        j.v = v;
        return j;
      }
      default:
        return Null();
    }
  }
};

bool Truthy(const Js& j) {
  switch (j.kind) {
    case Js::kUndefined:
    case Js::kNull:
      return false;
    case Js::kBool:
      return j.b;
    case Js::kNumber:
      return j.n != 0 && !std::isnan(j.n);
    case Js::kString:
      return !j.s.empty();
    default:
      return true;
  }
}

std::string ToJsString(const Js& j);

double ToNumber(const Js& j) {
  switch (j.kind) {
    case Js::kUndefined:
      return std::nan("");
    case Js::kNull:
      return 0;
    case Js::kBool:
      return j.b ? 1 : 0;
    case Js::kNumber:
      return j.n;
    case Js::kString: {
      absl::string_view t = absl::StripAsciiWhitespace(j.s);
      if (t.empty()) return 0;
      double d;
      if (absl::SimpleAtod(t, &d)) return d;
      return std::nan("");
    }
    default: {
      if (j.kind == Js::kArray) {
        std::string s = ToJsString(j);
        return ToNumber(Js::String(s));
      }
      return std::nan("");
    }
  }
}

std::string ToJsString(const Js& j) {
  switch (j.kind) {
    case Js::kUndefined:
      return "undefined";
    case Js::kNull:
      return "null";
    case Js::kBool:
      return j.b ? "true" : "false";
    case Js::kNumber:
      return FormatNumber(j.n);
    case Js::kString:
      return j.s;
    case Js::kObject:
      return "[object Object]";
    case Js::kArray: {
      std::vector<std::string> parts;
      for (const Value& item : j.v.list_value().values()) {
        Js e = Js::FromValue(item);
        parts.push_back(e.kind == Js::kNull ? "" : ToJsString(e));
      }
      return absl::StrJoin(parts, ",");
    }
  }
  return "";
}

bool StrictEquals(const Js& a, const Js& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Js::kUndefined:
    case Js::kNull:
      return true;
    case Js::kBool:
      return a.b == b.b;
    case Js::kNumber:
      return a.n == b.n;
    case Js::kString:
      return a.s == b.s;
    default:
      // Objects compare by identity in JavaScript; two property reads never alias here
      // except when they read the same path, which scripts do not compare.
      return false;
  }
}

bool LooseEquals(const Js& a, const Js& b) {
  bool a_nullish = a.kind == Js::kNull || a.kind == Js::kUndefined;
  bool b_nullish = b.kind == Js::kNull || b.kind == Js::kUndefined;
  if (a_nullish || b_nullish) return a_nullish && b_nullish;
  if (a.kind == b.kind) return StrictEquals(a, b);
  if (a.kind == Js::kObject || a.kind == Js::kArray) {
    return LooseEquals(Js::String(ToJsString(a)), b);
  }
  if (b.kind == Js::kObject || b.kind == Js::kArray) {
    return LooseEquals(a, Js::String(ToJsString(b)));
  }
  return ToNumber(a) == ToNumber(b);
}

struct Token {
  enum Kind { kEnd, kNumber, kString, kIdent, kOp } kind;
  std::string text;
  double number = 0;
  size_t pos = 0;
};

constexpr size_t kMaxTokens = 1000;
constexpr size_t kMaxScriptStringBytes = size_t{4} << 20;

absl::StatusOr<std::vector<Token>> Tokenize(absl::string_view src) {
  static constexpr const char* kOps[] = {"===", "!==", "==", "!=", "<=", ">=", "&&", "||",
                                         "<",   ">",   "!",  "?",  ":",  "(",  ")",  "[",
                                         "]",   ".",   "+",  "-",  "*",  "/",  "%",  ";"};
  std::vector<Token> out;
  size_t i = 0;
  while (i < src.size()) {
    char c = src[i];
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    if (absl::ascii_isdigit(static_cast<unsigned char>(c)) ||
        (c == '.' && i + 1 < src.size() &&
         absl::ascii_isdigit(static_cast<unsigned char>(src[i + 1])))) {
      size_t j = i;
      while (j < src.size() &&
             (absl::ascii_isalnum(static_cast<unsigned char>(src[j])) || src[j] == '.')) {
        ++j;
      }
      Token t{Token::kNumber, std::string(src.substr(i, j - i)), 0, i};
      if (!absl::SimpleAtod(t.text, &t.number)) {
        return absl::InvalidArgumentError(
            absl::StrCat("unsupported script syntax at position ", i, ": number '", t.text, "'"));
      }
      out.push_back(std::move(t));
      i = j;
      continue;
    }
    if (c == '\'' || c == '"') {
      std::string text;
      size_t j = i + 1;
      for (; j < src.size() && src[j] != c; ++j) {
        if (src[j] == '\\' && j + 1 < src.size()) {
          ++j;
          char e = src[j];
          text.push_back(e == 'n' ? '\n' : e == 't' ? '\t' : e);
        } else {
          text.push_back(src[j]);
        }
      }
      if (j >= src.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("unsupported script syntax at position ", i, ": unterminated string"));
      }
      out.push_back(Token{Token::kString, std::move(text), 0, i});
      i = j + 1;
      continue;
    }
    if (c == '$' || c == '_' || absl::ascii_isalpha(static_cast<unsigned char>(c))) {
      size_t j = i + 1;
      while (j < src.size() && (src[j] == '$' || src[j] == '_' ||
                                absl::ascii_isalnum(static_cast<unsigned char>(src[j])))) {
        ++j;
      }
      out.push_back(Token{Token::kIdent, std::string(src.substr(i, j - i)), 0, i});
      i = j;
      continue;
    }
    bool matched = false;
    for (const char* op : kOps) {
      if (absl::StartsWith(src.substr(i), op)) {
        out.push_back(Token{Token::kOp, op, 0, i});
        i += std::char_traits<char>::length(op);
        matched = true;
        break;
      }
    }
    if (!matched) {
      return absl::InvalidArgumentError(absl::StrCat("unsupported script syntax at position ", i,
                                                     ": character '", std::string(1, c), "'"));
    }
  }
  // Operator chains evaluate recursively; a bound on their length bounds the stack.
  if (out.size() > kMaxTokens) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unsupported script syntax at position 0: longer than ", kMaxTokens, " tokens"));
  }
  out.push_back(Token{Token::kEnd, "", 0, src.size()});
  return out;
}

struct Node {
  enum Kind { kLiteral, kInput, kMember, kIndex, kUnary, kBinary, kAnd, kOr, kTernary } kind;
  Js literal;
  std::string op;  // unary/binary operator, or member name
  std::vector<std::unique_ptr<Node>> kids;
};

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  absl::StatusOr<std::unique_ptr<Node>> ParseProgram() {
    ASSIGN_OR_RETURN(std::unique_ptr<Node> n, Expr());
    while (IsOp(";")) ++pos_;
    if (Peek().kind != Token::kEnd) {
      return Unsupported(Peek(), "only a single expression is supported");
    }
    return n;
  }

 private:
  const Token& Peek() const { return tokens_[pos_]; }
  bool IsOp(absl::string_view op) const { return Peek().kind == Token::kOp && Peek().text == op; }
  absl::Status Unsupported(const Token& t, absl::string_view why) const {
    return absl::InvalidArgumentError(absl::StrCat(
        "unsupported script syntax at position ", t.pos,
        t.kind == Token::kEnd ? " (end of input)" : absl::StrCat(" ('", t.text, "')"), ": ", why));
  }
  absl::Status Expect(absl::string_view op) {
    if (!IsOp(op)) return Unsupported(Peek(), absl::StrCat("expected '", op, "'"));
    ++pos_;
    return absl::OkStatus();
  }
  static std::unique_ptr<Node> Make(Node::Kind kind, std::string op,
                                    std::unique_ptr<Node> a = nullptr,
                                    std::unique_ptr<Node> b = nullptr,
                                    std::unique_ptr<Node> c = nullptr) {
    auto n = std::make_unique<Node>();
    n->kind = kind;
    n->op = std::move(op);
    if (a) n->kids.push_back(std::move(a));
    if (b) n->kids.push_back(std::move(b));
    if (c) n->kids.push_back(std::move(c));
    return n;
  }

  absl::StatusOr<std::unique_ptr<Node>> Expr() {
    // Nesting is bounded so that a hostile definition cannot exhaust the stack.
    if (++depth_ > kMaxDepth) return Unsupported(Peek(), "nested too deeply");
    absl::StatusOr<std::unique_ptr<Node>> n = Ternary();
    --depth_;
    return n;
  }
  absl::StatusOr<std::unique_ptr<Node>> Ternary() {
    ASSIGN_OR_RETURN(std::unique_ptr<Node> cond, Or());
    if (!IsOp("?")) return cond;
    ++pos_;
    ASSIGN_OR_RETURN(std::unique_ptr<Node> yes, Expr());
    RETURN_IF_ERROR(Expect(":"));
    ASSIGN_OR_RETURN(std::unique_ptr<Node> no, Expr());
    return Make(Node::kTernary, "?", std::move(cond), std::move(yes), std::move(no));
  }
  absl::StatusOr<std::unique_ptr<Node>> Or() {
    ASSIGN_OR_RETURN(std::unique_ptr<Node> left, And());
    while (IsOp("||")) {
      ++pos_;
      ASSIGN_OR_RETURN(std::unique_ptr<Node> right, And());
      left = Make(Node::kOr, "||", std::move(left), std::move(right));
    }
    return left;
  }
  absl::StatusOr<std::unique_ptr<Node>> And() {
    ASSIGN_OR_RETURN(std::unique_ptr<Node> left, Equality());
    while (IsOp("&&")) {
      ++pos_;
      ASSIGN_OR_RETURN(std::unique_ptr<Node> right, Equality());
      left = Make(Node::kAnd, "&&", std::move(left), std::move(right));
    }
    return left;
  }
  absl::StatusOr<std::unique_ptr<Node>> Binary(
      std::initializer_list<const char*> ops,
      absl::StatusOr<std::unique_ptr<Node>> (Parser::*next)()) {
    ASSIGN_OR_RETURN(std::unique_ptr<Node> left, (this->*next)());
    for (;;) {
      const char* matched = nullptr;
      for (const char* op : ops) {
        if (IsOp(op)) matched = op;
      }
      if (matched == nullptr) return left;
      ++pos_;
      ASSIGN_OR_RETURN(std::unique_ptr<Node> right, (this->*next)());
      left = Make(Node::kBinary, matched, std::move(left), std::move(right));
    }
  }
  absl::StatusOr<std::unique_ptr<Node>> Equality() {
    return Binary({"==", "!=", "===", "!=="}, &Parser::Relational);
  }
  absl::StatusOr<std::unique_ptr<Node>> Relational() {
    return Binary({"<", "<=", ">", ">="}, &Parser::Additive);
  }
  absl::StatusOr<std::unique_ptr<Node>> Additive() {
    return Binary({"+", "-"}, &Parser::Multiplicative);
  }
  absl::StatusOr<std::unique_ptr<Node>> Multiplicative() {
    return Binary({"*", "/", "%"}, &Parser::Unary);
  }
  absl::StatusOr<std::unique_ptr<Node>> Unary() {
    if (IsOp("!") || IsOp("-") || IsOp("+")) {
      std::string op = Peek().text;
      ++pos_;
      if (++unary_depth_ > kMaxDepth) return Unsupported(Peek(), "nested too deeply");
      ASSIGN_OR_RETURN(std::unique_ptr<Node> operand, Unary());
      --unary_depth_;
      return Make(Node::kUnary, op, std::move(operand));
    }
    return Postfix();
  }
  absl::StatusOr<std::unique_ptr<Node>> Postfix() {
    ASSIGN_OR_RETURN(std::unique_ptr<Node> n, Primary());
    for (;;) {
      if (IsOp(".")) {
        ++pos_;
        if (Peek().kind != Token::kIdent) return Unsupported(Peek(), "expected a property name");
        n = Make(Node::kMember, Peek().text, std::move(n));
        ++pos_;
      } else if (IsOp("[")) {
        ++pos_;
        ASSIGN_OR_RETURN(std::unique_ptr<Node> index, Expr());
        RETURN_IF_ERROR(Expect("]"));
        n = Make(Node::kIndex, "[]", std::move(n), std::move(index));
      } else if (IsOp("(")) {
        return Unsupported(Peek(), "function and method calls are not supported");
      } else {
        return n;
      }
    }
  }
  absl::StatusOr<std::unique_ptr<Node>> Primary() {
    const Token& t = Peek();
    auto literal = [&](Js j) {
      auto n = std::make_unique<Node>();
      n->kind = Node::kLiteral;
      n->literal = std::move(j);
      ++pos_;
      return n;
    };
    switch (t.kind) {
      case Token::kNumber:
        return literal(Js::Number(t.number));
      case Token::kString:
        return literal(Js::String(t.text));
      case Token::kIdent:
        if (t.text == "true") return literal(Js::Bool(true));
        if (t.text == "false") return literal(Js::Bool(false));
        if (t.text == "null") return literal(Js::Null());
        if (t.text == "undefined") return literal(Js::Undefined());
        if (t.text == "$") {
          ++pos_;
          return Make(Node::kInput, "$");
        }
        return Unsupported(t, "only '$' (the task input) may be referenced");
      case Token::kOp:
        if (t.text == "(") {
          ++pos_;
          ASSIGN_OR_RETURN(std::unique_ptr<Node> inner, Expr());
          RETURN_IF_ERROR(Expect(")"));
          return inner;
        }
        return Unsupported(t, "expected a value");
      case Token::kEnd:
        return Unsupported(t, "expected a value");
    }
    return Unsupported(t, "expected a value");
  }

  std::vector<Token> tokens_;
  static constexpr int kMaxDepth = 64;
  size_t pos_ = 0;
  int depth_ = 0;
  int unary_depth_ = 0;
};

absl::StatusOr<Js> Property(const Js& base, const Js& key) {
  if (base.kind == Js::kUndefined || base.kind == Js::kNull) {
    return absl::FailedPreconditionError(absl::StrCat("TypeError: cannot read property '",
                                                      ToJsString(key), "' of ", ToJsString(base)));
  }
  std::string name = ToJsString(key);
  if (base.kind == Js::kObject) {
    const auto& fields = base.v.struct_value().fields();
    auto it = fields.find(name);
    return it == fields.end() ? Js::Undefined() : Js::FromValue(it->second);
  }
  if (base.kind == Js::kArray) {
    const ListValue& list = base.v.list_value();
    if (name == "length") return Js::Number(list.values_size());
    int64_t index;
    if (absl::SimpleAtoi(name, &index) && index >= 0 && index < list.values_size()) {
      return Js::FromValue(list.values(static_cast<int>(index)));
    }
    return Js::Undefined();
  }
  if (base.kind == Js::kString) {
    if (name == "length") return Js::Number(static_cast<double>(base.s.size()));
    int64_t index;
    if (absl::SimpleAtoi(name, &index) && index >= 0 &&
        index < static_cast<int64_t>(base.s.size())) {
      return Js::String(base.s.substr(static_cast<size_t>(index), 1));
    }
  }
  return Js::Undefined();
}

absl::StatusOr<Js> Eval(const Node& n, const Js& input, absl::Time deadline) {
  // Each node is short work, but a node may copy or compare a large input: the clock bounds
  // the whole evaluation, whatever its input.
  if (absl::Now() >= deadline) {
    return absl::DeadlineExceededError("the script ran past its time limit");
  }
  switch (n.kind) {
    case Node::kLiteral:
      return n.literal;
    case Node::kInput:
      return input;
    case Node::kMember: {
      // $.name reads the field of the input in place: copying the whole input for each
      // reference would make a script's cost grow with the input times its length.
      if (n.kids[0]->kind == Node::kInput && input.kind == Js::kObject) {
        const auto& fields = input.v.struct_value().fields();
        auto it = fields.find(n.op);
        return it == fields.end() ? Js::Undefined() : Js::FromValue(it->second);
      }
      ASSIGN_OR_RETURN(Js base, Eval(*n.kids[0], input, deadline));
      return Property(base, Js::String(n.op));
    }
    case Node::kIndex: {
      ASSIGN_OR_RETURN(Js base, Eval(*n.kids[0], input, deadline));
      ASSIGN_OR_RETURN(Js key, Eval(*n.kids[1], input, deadline));
      return Property(base, key);
    }
    case Node::kUnary: {
      ASSIGN_OR_RETURN(Js v, Eval(*n.kids[0], input, deadline));
      if (n.op == "!") return Js::Bool(!Truthy(v));
      if (n.op == "-") return Js::Number(-ToNumber(v));
      return Js::Number(ToNumber(v));
    }
    case Node::kAnd: {
      ASSIGN_OR_RETURN(Js left, Eval(*n.kids[0], input, deadline));
      if (!Truthy(left)) return left;
      return Eval(*n.kids[1], input, deadline);
    }
    case Node::kOr: {
      ASSIGN_OR_RETURN(Js left, Eval(*n.kids[0], input, deadline));
      if (Truthy(left)) return left;
      return Eval(*n.kids[1], input, deadline);
    }
    case Node::kTernary: {
      ASSIGN_OR_RETURN(Js cond, Eval(*n.kids[0], input, deadline));
      return Eval(*n.kids[Truthy(cond) ? 1 : 2], input, deadline);
    }
    case Node::kBinary: {
      ASSIGN_OR_RETURN(Js a, Eval(*n.kids[0], input, deadline));
      ASSIGN_OR_RETURN(Js b, Eval(*n.kids[1], input, deadline));
      const std::string& op = n.op;
      if (op == "===") return Js::Bool(StrictEquals(a, b));
      if (op == "!==") return Js::Bool(!StrictEquals(a, b));
      if (op == "==") return Js::Bool(LooseEquals(a, b));
      if (op == "!=") return Js::Bool(!LooseEquals(a, b));
      if (op == "+") {
        bool stringy = a.kind == Js::kString || b.kind == Js::kString || a.kind == Js::kObject ||
                       a.kind == Js::kArray || b.kind == Js::kObject || b.kind == Js::kArray;
        if (stringy) {
          // `a` is this evaluation's own value: its text is moved, not copied, and grown.
          std::string left = a.kind == Js::kString ? std::move(a.s) : ToJsString(a);
          std::string right = ToJsString(b);
          // Joining strings is the one way a short script grows its result without bound
          // ($.s+$.s+... over a large input): a result past the limit ends the script.
          if (left.size() + right.size() > kMaxScriptStringBytes) {
            return absl::FailedPreconditionError(
                absl::StrCat("RangeError: a string of ", left.size() + right.size(),
                             " bytes is longer than the limit of ", kMaxScriptStringBytes,
                             " bytes for strings a script builds"));
          }
          left.append(right);
          return Js::String(std::move(left));
        }
        return Js::Number(ToNumber(a) + ToNumber(b));
      }
      if (op == "<" || op == "<=" || op == ">" || op == ">=") {
        if (a.kind == Js::kString && b.kind == Js::kString) {
          int c = a.s.compare(b.s);
          return Js::Bool(op == "<" ? c < 0 : op == "<=" ? c <= 0 : op == ">" ? c > 0 : c >= 0);
        }
        double x = ToNumber(a), y = ToNumber(b);
        if (std::isnan(x) || std::isnan(y)) return Js::Bool(false);
        return Js::Bool(op == "<" ? x < y : op == "<=" ? x <= y : op == ">" ? x > y : x >= y);
      }
      double x = ToNumber(a), y = ToNumber(b);
      if (op == "-") return Js::Number(x - y);
      if (op == "*") return Js::Number(x * y);
      if (op == "/") return Js::Number(x / y);
      return Js::Number(std::fmod(x, y));
    }
  }
  return absl::InternalError("unknown script node");
}

}  // namespace

absl::Status CheckScriptSyntax(absl::string_view expression) {
  ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(expression));
  Parser parser(std::move(tokens));
  return parser.ParseProgram().status();
}

absl::StatusOr<ScriptValue> EvaluateScript(absl::string_view expression, const Value& input,
                                           absl::Duration time_limit) {
  ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(expression));
  Parser parser(std::move(tokens));
  ASSIGN_OR_RETURN(std::unique_ptr<Node> root, parser.ParseProgram());
  absl::StatusOr<Js> evaluated = Eval(*root, Js::FromValue(input), absl::Now() + time_limit);
  if (absl::IsDeadlineExceeded(evaluated.status())) {
    return absl::FailedPreconditionError(
        absl::StrCat("RangeError: the script ran longer than its limit of ",
                     absl::FormatDuration(time_limit), "; a script must be a short computation"));
  }
  ASSIGN_OR_RETURN(Js result, std::move(evaluated));
  ScriptValue out;
  switch (result.kind) {
    case Js::kUndefined:
      out.undefined = true;
      out.value = NullValue();
      break;
    case Js::kNull:
      out.value = NullValue();
      break;
    case Js::kBool:
      out.value.set_bool_value(result.b);
      break;
    case Js::kNumber:
      out.value = NumberValue(result.n);
      break;
    case Js::kString:
      out.value = StringValue(result.s);
      break;
    default:
      out.value = result.v;
      break;
  }
  return out;
}

bool ScriptTruthy(const ScriptValue& value) {
  if (value.undefined) return false;
  return Truthy(Js::FromValue(value.value));
}

std::string ScriptResultString(const ScriptValue& value) {
  if (value.undefined) return "null";
  return JavaString(value.value);
}

}  // namespace cmig::orchestrator
