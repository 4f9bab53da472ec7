// The JavaScript subset Conductor definitions use in SWITCH (evaluatorType "javascript"),
// DECISION caseExpression, DO_WHILE loopCondition and INLINE tasks, evaluated without a
// JavaScript engine.
//
// Supported: `$` bound to the input, property access (`.name`, `[expr]`, `.length` of arrays and
// strings), number / string / boolean / null literals, ! - + * / %, comparisons (== != === !==
// < <= > >=), && || and ?: with JavaScript's coercions. Anything else (function calls,
// assignments, statements other than one trailing `;`) is an InvalidArgument naming the
// unsupported construct and its position.
//
// Usage:
//   ASSIGN_OR_RETURN(ScriptValue v, EvaluateScript("$.kind == 'x' ? 'a' : 'b'", input));
//   std::string chosen = ScriptResultString(v);
//
// Everything here is a pure function of its arguments; thread-compatible.
#ifndef CMIG_ORCHESTRATOR_SCRIPT_H_
#define CMIG_ORCHESTRATOR_SCRIPT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"

namespace cmig::orchestrator {

// The result of a script: JavaScript distinguishes undefined from null.
struct ScriptValue {
  bool undefined = false;
  google::protobuf::Value value;  // meaningful when !undefined
};

// How long one evaluation may run: scripts are short computations, evaluated while the engine
// decides a workflow.
inline constexpr absl::Duration kScriptTimeLimit = absl::Milliseconds(200);

// Evaluates `expression` with `$` bound to `input`. Errors: InvalidArgument for syntax outside
// the supported subset, nesting deeper than 64 or more than 1000 tokens (the message names the
// construct and its position); FailedPrecondition for JavaScript's run-time TypeError (reading
// a property of undefined or null), for a string joined past 4 MiB and for an evaluation that
// runs past `time_limit` (RangeErrors naming the limit). No other code: a script that parses
// never fails with InvalidArgument.
absl::StatusOr<ScriptValue> EvaluateScript(absl::string_view expression,
                                           const google::protobuf::Value& input,
                                           absl::Duration time_limit = kScriptTimeLimit);

// OK when `expression` is within the supported subset; the InvalidArgument EvaluateScript would
// return otherwise. Evaluates nothing.
absl::Status CheckScriptSyntax(absl::string_view expression);

// JavaScript truthiness of a script result.
bool ScriptTruthy(const ScriptValue& value);

// The text Conductor derives from a script result with ("" + result) in Java: integral numbers
// without ".0", null/undefined as "null", booleans as "true"/"false".
std::string ScriptResultString(const ScriptValue& value);

}  // namespace cmig::orchestrator

#endif  // CMIG_ORCHESTRATOR_SCRIPT_H_
