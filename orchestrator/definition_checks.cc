// The decider's definition checks: everything a workflow definition can get wrong for this
// orchestrator, anywhere in the tree (a branch not taken today may be taken tomorrow), found
// before a decision changes anything. The mappers rely on them and do not check again.
#include "absl/strings/ascii.h"
#include "base/status_macros.h"
#include "definitions/task_types.h"
#include "orchestrator/decider_internal.h"
#include "orchestrator/script.h"

namespace cmig::orchestrator::decider_internal {

namespace {

// A script written into the definition, judged now.
absl::Status CheckScript(const WorkflowTask& wt, absl::string_view field,
                         const std::string& expression) {
  absl::Status syntax = CheckScriptSyntax(expression);
  if (syntax.ok()) return syntax;
  return ScriptError(wt, field, expression, syntax.message());
}

// A setting written as a literal, not an expression resolved at run time.
bool IsLiteral(const Value* v) {
  return v != nullptr && v->kind_case() == Value::kStringValue &&
         v->string_value().find("${") == std::string::npos;
}

}  // namespace

absl::Status UnsupportedEvaluatorError(const WorkflowTask& wt, absl::string_view evaluator) {
  return absl::InvalidArgumentError(
      absl::StrCat(TaskName(wt), ": evaluatorType '", evaluator,
                   "' is not supported (use value-param or javascript)"));
}

absl::Status ScriptError(const WorkflowTask& wt, absl::string_view field,
                         absl::string_view expression, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(TaskName(wt), ": ", field, " '", expression,
                                                 "' cannot be evaluated: ", message));
}

absl::Status CheckSubWorkflowParam(const WorkflowTask& wt, bool has_inline_definition) {
  if (!wt.has_sub_workflow_param()) {
    return absl::InvalidArgumentError(absl::StrCat(TaskName(wt), ": subWorkflowParam is required"));
  }
  if (!has_inline_definition && wt.sub_workflow_param().name().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(TaskName(wt), ": subWorkflowParam.name is required"));
  }
  return absl::OkStatus();
}

absl::StatusOr<const WorkflowTask*> Decider::JoinAfterFork(const WorkflowTask& fork) const {
  const WorkflowTask* join = NextInDefinition(fork.task_reference_name());
  if (join == nullptr || join->type() != kJoin) {
    return absl::InvalidArgumentError(
        absl::StrCat(TaskName(fork), ": a FORK_JOIN must be followed by a JOIN"));
  }
  return join;
}

absl::Status Decider::ValidateTasks(const RepeatedPtrField<WorkflowTask>& tasks,
                                    bool in_loop) const {
  for (const WorkflowTask& wt : tasks) {
    const std::string type = wt.type().empty() ? std::string(kSimple) : wt.type();
    // A Conductor system type without an executor here would wait on a queue nobody polls.
    if (cmig::IsKnownSystemTaskType(type) && !cmig::IsExecutedByEmbeddedOrchestrator(type)) {
      return absl::InvalidArgumentError(absl::StrCat(
          TaskName(wt), ": task type ", type, " is not supported by the embedded orchestrator"));
    }
    if (type == kSwitch) {
      const std::string& evaluator = wt.evaluator_type();
      if (evaluator == "javascript" || evaluator == "graaljs") {
        RETURN_IF_ERROR(CheckScript(wt, "expression", wt.expression()));
      } else if (evaluator != "value-param") {
        return UnsupportedEvaluatorError(wt, evaluator);
      }
    } else if (type == kDecision) {
      if (!absl::StripAsciiWhitespace(wt.case_expression()).empty()) {
        RETURN_IF_ERROR(CheckScript(wt, "caseExpression", wt.case_expression()));
      }
    } else if (type == kForkJoin) {
      for (const auto& branch : wt.fork_tasks()) {
        if (branch.tasks().empty()) {
          return absl::InvalidArgumentError(
              absl::StrCat(TaskName(wt), ": a fork branch has no tasks"));
        }
      }
      RETURN_IF_ERROR(JoinAfterFork(wt).status());
    } else if (type == kSubWorkflow) {
      const auto& params = wt.sub_workflow_param();
      RETURN_IF_ERROR(CheckSubWorkflowParam(
          wt, params.has_workflow_definition() &&
                  params.workflow_definition().kind_case() != Value::kNullValue));
    } else if (type == kDoWhile) {
      if (in_loop) {
        return absl::InvalidArgumentError(
            absl::StrCat(TaskName(wt), ": a DO_WHILE inside another DO_WHILE is not supported"));
      }
      if (!wt.items().empty() || wt.input_parameters().contains("_items")) {
        return absl::InvalidArgumentError(absl::StrCat(
            TaskName(wt), ": DO_WHILE list iteration (items) is not supported; use loopCondition"));
      }
      if (wt.loop_over().empty()) {
        return absl::InvalidArgumentError(absl::StrCat(TaskName(wt), ": loopOver has no tasks"));
      }
      if (!wt.loop_condition().empty()) {
        RETURN_IF_ERROR(CheckScript(wt, "loopCondition", wt.loop_condition()));
      }
    } else if (type == kInline) {
      // Only literal settings can be judged now; expressions are checked when they resolve.
      auto find = [&](const char* key) -> const Value* {
        auto it = wt.input_parameters().find(key);
        return it == wt.input_parameters().end() ? nullptr : &it->second;
      };
      const Value* evaluator = find("evaluatorType");
      std::string e = IsLiteral(evaluator) ? evaluator->string_value() : "javascript";
      if (e != "javascript" && e != "graaljs" && e != "value-param") {
        return UnsupportedEvaluatorError(wt, e);
      }
      const Value* expression = find("expression");
      if (e != "value-param" && IsLiteral(expression)) {
        RETURN_IF_ERROR(CheckScript(wt, "expression", expression->string_value()));
      }
    }
    for (const auto& [name, branch] : wt.decision_cases()) {
      RETURN_IF_ERROR(ValidateTasks(branch.tasks(), in_loop));
    }
    RETURN_IF_ERROR(ValidateTasks(wt.default_case(), in_loop));
    for (const auto& branch : wt.fork_tasks()) {
      RETURN_IF_ERROR(ValidateTasks(branch.tasks(), in_loop));
    }
    RETURN_IF_ERROR(ValidateTasks(wt.loop_over(), in_loop || type == kDoWhile));
  }
  return absl::OkStatus();
}

}  // namespace cmig::orchestrator::decider_internal
