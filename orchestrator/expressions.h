// Conductor's parameter expressions, as the decider resolves task inputs and workflow outputs.
//
// Parameter expressions ("${workflow.input.a.b}", "${ref.output.list[0]}",
// "${workflow.workflowId}") follow ParametersUtils (schema version 2): a string that is exactly one
// "${...}" becomes the referenced value with its JSON type; "${...}" embedded in a longer string is
// replaced by the value's text (Java's Objects.toString: null -> "null", maps "{k=v}", lists "[a,
// b]"); "$${" escapes a literal "${"; a path may itself contain "${...}"; a missing path yields
// null. Paths are JSONPath-like: dot keys, [n] indexes and ['key'] / ["key"] brackets, with or
// without a leading "$.". The scripts SWITCH, DECISION, DO_WHILE and INLINE evaluate are the
// other language; see script.h.
//
// Usage:
//   google::protobuf::Struct input = ResolveMap(workflow_task.input_parameters(), workflow);
//   google::protobuf::Value id = ReadPath(workflow, "workflow.workflowId");
//
// Everything here is a pure function of its arguments; thread-compatible.
#ifndef CMIG_ORCHESTRATOR_EXPRESSIONS_H_
#define CMIG_ORCHESTRATOR_EXPRESSIONS_H_

#include <string>

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

// Java's / JavaScript's text of a number: integral values without ".0", otherwise the shortest
// decimal that reads back as `d`; NaN and +-Infinity spelled as both languages spell them.
std::string FormatNumber(double d);

}  // namespace cmig::orchestrator

#endif  // CMIG_ORCHESTRATOR_EXPRESSIONS_H_
