// Conductor's parameter expressions and the small script language the decider evaluates.
//
// Parameter expressions ("${workflow.input.a.b}", "${ref.output.list[0]}",
// "${workflow.workflowId}") follow ParametersUtils (schema version 2): a string that is exactly one
// "${...}" becomes the referenced value with its JSON type; "${...}" embedded in a longer string is
// replaced by the value's text (Java's Objects.toString: null -> "null", maps "{k=v}", lists "[a,
// b]"); "$${" escapes a literal "${"; a path may itself contain "${...}"; a missing path yields
// null. Paths are JSONPath-like: dot keys, [n] indexes and ['key'] / ["key"] brackets, with or
// without a leading "$.".
//
// The script evaluator covers the JavaScript that SWITCH (evaluatorType "javascript"),
// DECISION caseExpression and DO_WHILE loopCondition use in practice: `$` bound to the input,
// property access, literals, ! - + * / %, comparisons (== != === !== < <= > >=), && || and
// ?: with JavaScript's coercions. Anything else (function calls, assignments, statements other
// than one trailing `;`) is an InvalidArgument naming the unsupported construct.
//
// Usage:
//   google::protobuf::Value input = ResolveExpressions(task.input_parameters_value, workflow);
//   ASSIGN_OR_RETURN(ScriptValue v, EvaluateScript("$.kind == 'x' ? 'a' : 'b'", input));
//
// Everything here is a pure function of its arguments; thread-compatible.
#ifndef CMIG_ORCHESTRATOR_EXPRESSIONS_H_
#define CMIG_ORCHESTRATOR_EXPRESSIONS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "conductor/model/workflow.pb.h"
#include "google/protobuf/struct.pb.h"

namespace cmig::orchestrator {

// google.protobuf.Value of one kind, for the decider and the evaluator alike.
google::protobuf::Value NullValue();
google::protobuf::Value StringValue(std::string s);
google::protobuf::Value NumberValue(double d);

// Resolves every "${...}" in `template_value` (recursively through maps and lists) against
// `workflow`: "workflow.{input,output,variables,workflowId,correlationId,status,
// parentWorkflowId,parentWorkflowTaskId,workflowType,version,reasonForIncompletion,
// schemaVersion}" and "<taskRef>.{input,output,status,taskId,retryCount,taskType,...}" where
// <taskRef> is the latest attempt with that reference name.
google::protobuf::Value ResolveValue(const google::protobuf::Value& template_value,
                                     const conductor::proto::Workflow& workflow);

// ResolveValue over each entry of a map (task inputParameters, workflow outputParameters).
google::protobuf::Struct ResolveMap(
    const google::protobuf::Map<std::string, google::protobuf::Value>& template_map,
    const conductor::proto::Workflow& workflow);

// The value at JSONPath-like `path` (no "${}") in the expression document of `workflow`;
// null when absent.
google::protobuf::Value ReadPath(const conductor::proto::Workflow& workflow,
                                 absl::string_view path);

// The value at `path` inside `root`; null when absent.
google::protobuf::Value ReadValuePath(const google::protobuf::Value& root, absl::string_view path);

// Java's String.valueOf of the value a Conductor expression produced (integral numbers without
// ".0", null as "null", maps as "{k=v, ...}" with sorted keys, lists as "[a, b]").
std::string JavaString(const google::protobuf::Value& value);

// The result of a script: JavaScript distinguishes undefined from null.
struct ScriptValue {
  bool undefined = false;
  google::protobuf::Value value;  // meaningful when !undefined
};

// Evaluates `expression` with `$` bound to `input`. Errors: InvalidArgument for syntax outside
// the supported subset, nesting deeper than 64 or more than 1000 tokens (the message names the
// construct and its position); FailedPrecondition for JavaScript's run-time TypeError (reading
// a property of undefined or null).
absl::StatusOr<ScriptValue> EvaluateScript(absl::string_view expression,
                                           const google::protobuf::Value& input);

// OK when `expression` is within the supported subset; the InvalidArgument EvaluateScript would
// return otherwise. Evaluates nothing.
absl::Status CheckScriptSyntax(absl::string_view expression);

// JavaScript truthiness of a script result.
bool ScriptTruthy(const ScriptValue& value);

// The text Conductor derives from a script result with ("" + result) in Java: integral numbers
// without ".0", null/undefined as "null", booleans as "true"/"false".
std::string ScriptResultString(const ScriptValue& value);

}  // namespace cmig::orchestrator

#endif  // CMIG_ORCHESTRATOR_EXPRESSIONS_H_
