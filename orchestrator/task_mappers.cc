// Conductor's task mappers: what a WorkflowTask of the definition becomes when it is scheduled
// (a worker task, a SWITCH or DECISION with its chosen branch, a FORK with its branches and JOIN,
// a SUB_WORKFLOW waiting to start, a DO_WHILE, or a system task completed on the spot).
#include "absl/strings/ascii.h"
#include "base/status_macros.h"
#include "orchestrator/decider_internal.h"
#include "orchestrator/expressions.h"
#include "orchestrator/script.h"

namespace cmig::orchestrator::decider_internal {

Struct Decider::ResolveTaskInput(const WorkflowTask& wt, const TaskDef& def) const {
  if (def.input_template().empty()) return ResolveMap(wt.input_parameters(), wf_);
  google::protobuf::Map<std::string, Value> params = wt.input_parameters();
  for (const auto& [k, v] : def.input_template()) params.insert({k, v});
  Struct input = ResolveMap(params, wf_);
  for (auto& [k, v] : *input.mutable_fields()) {
    if (v.kind_case() == Value::kNullValue || v.kind_case() == Value::KIND_NOT_SET) {
      auto tmpl = def.input_template().find(k);
      if (tmpl != def.input_template().end()) v = tmpl->second;
    }
  }
  return input;
}

Task Decider::NewTask(const WorkflowTask& wt, int retry_count, const std::string& retried_task_id) {
  Task t;
  t.set_task_id(new_id_());
  t.set_reference_task_name(wt.task_reference_name());
  t.set_workflow_instance_id(wf_.workflow_id());
  t.set_workflow_type(wf_.workflow_definition().name());
  t.set_correlation_id(wf_.correlation_id());
  t.set_scheduled_time(now_);
  t.set_workflow_priority(wf_.priority());
  *t.mutable_workflow_task() = wt;
  t.set_task_type(wt.type().empty() ? std::string(kSimple) : wt.type());
  t.set_task_def_name(wt.name());
  t.set_retry_count(retry_count);
  t.set_retried_task_id(retried_task_id);
  return t;
}

absl::StatusOr<std::vector<Task>> Decider::TasksToBeScheduled(const WorkflowTask& wt,
                                                              int retry_count,
                                                              const std::string& retried_task_id,
                                                              int iteration) {
  std::vector<Task> out;
  RETURN_IF_ERROR(MapTask(wt, retry_count, retried_task_id, out));
  std::vector<Task> kept;
  for (Task& t : out) {
    if (iteration > 0) {
      t.set_reference_task_name(absl::StrCat(t.reference_task_name(), "__", iteration));
      t.set_iteration(iteration);
    }
    int i = LatestIndex(t.reference_task_name());
    if (i >= 0) {
      Task::Status s = wf_.tasks(i).status();
      if (s == Task::IN_PROGRESS || IsTerminal(s)) continue;
    }
    kept.push_back(std::move(t));
  }
  return kept;
}

absl::Status Decider::MapTask(const WorkflowTask& wt, int retry_count,
                              const std::string& retried_task_id, std::vector<Task>& out) {
  const std::string type = wt.type().empty() ? std::string(kSimple) : wt.type();
  if (type == kSwitch) return MapSwitch(wt, retry_count, retried_task_id, out);
  if (type == kDecision) return MapDecision(wt, retry_count, retried_task_id, out);
  if (type == kForkJoin) return MapFork(wt, retry_count, out);
  if (type == kDoWhile) return MapDoWhile(wt, retry_count, retried_task_id, out);

  Task t = NewTask(wt, retry_count, retried_task_id);
  Struct input = ResolveMap(wt.input_parameters(), wf_);
  if (type == kJoin) {
    t.set_task_def_name(std::string(kJoin));
    t.set_start_time(now_);
    Value join_on;
    for (const std::string& ref : wt.join_on()) {
      join_on.mutable_list_value()->add_values()->set_string_value(ref);
    }
    (*t.mutable_input_data())["joinOn"] = join_on;
    t.set_status(Task::IN_PROGRESS);
  } else if (type == kTerminate) {
    t.set_task_def_name(std::string(kTerminate));
    t.set_start_time(now_);
    t.mutable_input_data()->insert(input.fields().begin(), input.fields().end());
    ExecuteTerminate(t);
  } else if (type == kSubWorkflow) {
    RETURN_IF_ERROR(MapSubWorkflow(wt, input, t));
  } else if (type == kInline || type == kSetVariable || type == kNoop) {
    t.set_start_time(now_);
    t.mutable_input_data()->insert(input.fields().begin(), input.fields().end());
    const bool deferred = type == kInline && !ExecuteInline(t);
    if (type == kSetVariable) {
      // SetVariable.execute: the task's input becomes workflow variables.
      for (const auto& [k, v] : t.input_data()) (*wf_.mutable_variables())[k] = v;
      decision_.workflow_changed = true;
    }
    if (!deferred) {
      if (t.status() == Task::IN_PROGRESS) t.set_status(Task::COMPLETED);
      t.set_end_time(now_);
    }
  } else {
    // SIMPLE and any other type: a worker task. SIMPLE tasks are queued under their name.
    const TaskDef& def = EffectiveDef(wt);
    input = ResolveTaskInput(wt, def);
    if (type == kSimple) {
      t.set_task_type(wt.name());
      t.set_response_timeout_seconds(def.response_timeout_seconds());
    }
    t.set_start_delay_in_seconds(wt.start_delay());
    t.set_callback_after_seconds(wt.start_delay());
    t.set_rate_limit_per_frequency(def.rate_limit_per_frequency());
    t.set_rate_limit_frequency_in_seconds(def.rate_limit_frequency_in_seconds());
    t.set_isolation_group_id(def.isolation_group_id());
    t.set_execution_name_space(def.execution_name_space());
    t.mutable_input_data()->insert(input.fields().begin(), input.fields().end());
    t.set_status(Task::SCHEDULED);
  }
  out.push_back(std::move(t));
  return absl::OkStatus();
}

absl::Status Decider::MapBranch(const WorkflowTask& wt, const std::string& case_value,
                                bool empty_means_default, int retry_count,
                                const std::string& retried_task_id, Task& parent,
                                std::vector<Task>& out) {
  const RepeatedPtrField<WorkflowTask>* selected = nullptr;
  auto it = wt.decision_cases().find(case_value);
  if (it != wt.decision_cases().end()) selected = &it->second.tasks();
  if (selected == nullptr || (empty_means_default && selected->empty())) {
    selected = &wt.default_case();
  }
  std::vector<Task> children;
  if (!selected->empty()) {
    ASSIGN_OR_RETURN(children, TasksToBeScheduled(selected->Get(0), retry_count, retried_task_id));
    (*parent.mutable_input_data())["hasChildren"] = StringValue("true");
  }
  out.push_back(std::move(parent));
  for (Task& c : children) out.push_back(std::move(c));
  return absl::OkStatus();
}

absl::Status Decider::MapSwitch(const WorkflowTask& wt, int retry_count,
                                const std::string& retried_task_id, std::vector<Task>& out) {
  Struct input = ResolveMap(wt.input_parameters(), wf_);
  Task t = NewTask(wt, retry_count, retried_task_id);
  t.set_task_type(std::string(kSwitch));
  t.set_task_def_name(std::string(kSwitch));
  t.mutable_input_data()->insert(input.fields().begin(), input.fields().end());
  t.set_start_time(now_);

  std::string result;
  const std::string& evaluator = wt.evaluator_type();
  if (evaluator == "value-param") {
    auto it = input.fields().find(wt.expression());
    result = it == input.fields().end() ? "null" : JavaString(it->second);
  } else {
    // javascript or graaljs (the definition checks allow nothing else), its syntax checked.
    Value input_value;
    *input_value.mutable_struct_value() = input;
    absl::StatusOr<ScriptValue> v =
        EvaluateScript(wt.expression(), input_value, options_.script_time_limit);
    if (!v.ok()) {
      // A script that fails at run time fails the SWITCH task, as in Conductor.
      t.set_status(Task::FAILED);
      t.set_end_time(now_);
      t.set_reason_for_incompletion(std::string(v.status().message()));
      out.push_back(std::move(t));
      return absl::OkStatus();
    }
    result = ScriptResultString(*v);
  }
  (*t.mutable_input_data())["case"] = StringValue(result);
  Value evaluation;
  evaluation.mutable_list_value()->add_values()->set_string_value(result);
  (*t.mutable_output_data())["evaluationResult"] = evaluation;
  (*t.mutable_output_data())["selectedCase"] = StringValue(result);
  t.set_status(Task::COMPLETED);
  t.set_end_time(now_);
  return MapBranch(wt, result, /*empty_means_default=*/false, retry_count, retried_task_id, t, out);
}

absl::Status Decider::MapDecision(const WorkflowTask& wt, int retry_count,
                                  const std::string& retried_task_id, std::vector<Task>& out) {
  Struct input = ResolveMap(wt.input_parameters(), wf_);
  std::string result;
  if (!absl::StripAsciiWhitespace(wt.case_expression()).empty()) {
    Value input_value;
    *input_value.mutable_struct_value() = input;
    absl::StatusOr<ScriptValue> v =
        EvaluateScript(wt.case_expression(), input_value, options_.script_time_limit);
    // Conductor cannot decide without the case, so even a run-time failure (a TypeError)
    // makes the definition unusable.
    if (!v.ok()) {
      return ScriptError(wt, "caseExpression", wt.case_expression(), v.status().message());
    }
    result = ScriptResultString(*v);
  } else {
    auto it = input.fields().find(wt.case_value_param());
    result = it == input.fields().end() ? "null" : JavaString(it->second);
  }
  Task t = NewTask(wt, retry_count, retried_task_id);
  t.set_task_type(std::string(kDecision));
  t.set_task_def_name(std::string(kDecision));
  (*t.mutable_input_data())["case"] = StringValue(result);
  Value case_output;
  case_output.mutable_list_value()->add_values()->set_string_value(result);
  (*t.mutable_output_data())["caseOutput"] = case_output;
  t.set_start_time(now_);
  t.set_status(Task::COMPLETED);
  t.set_end_time(now_);
  return MapBranch(wt, result, /*empty_means_default=*/true, retry_count, retried_task_id, t, out);
}

absl::Status Decider::MapFork(const WorkflowTask& wt, int retry_count, std::vector<Task>& out) {
  Task fork = NewTask(wt, retry_count, "");
  fork.set_task_type(std::string(kFork));
  fork.set_task_def_name(std::string(kFork));
  fork.set_start_time(now_);
  fork.set_end_time(now_);
  Struct input = ResolveMap(wt.input_parameters(), wf_);
  fork.mutable_input_data()->insert(input.fields().begin(), input.fields().end());
  fork.set_status(Task::COMPLETED);
  out.push_back(std::move(fork));
  // The definition checks made sure every branch has a first task.
  for (const auto& branch : wt.fork_tasks()) {
    ASSIGN_OR_RETURN(std::vector<Task> tasks, TasksToBeScheduled(branch.tasks(0), retry_count, ""));
    for (Task& t : tasks) out.push_back(std::move(t));
  }
  ASSIGN_OR_RETURN(const WorkflowTask* join, JoinAfterFork(wt));
  ASSIGN_OR_RETURN(std::vector<Task> joins, TasksToBeScheduled(*join, retry_count, ""));
  for (Task& t : joins) out.push_back(std::move(t));
  return absl::OkStatus();
}

absl::Status Decider::MapSubWorkflow(const WorkflowTask& wt, const Struct& input, Task& t) {
  const auto& params = wt.sub_workflow_param();
  Value name = ResolveValue(StringValue(params.name()), wf_);
  bool inline_def = params.has_workflow_definition() &&
                    params.workflow_definition().kind_case() != Value::kNullValue &&
                    params.workflow_definition().kind_case() != Value::KIND_NOT_SET;
  std::string name_str = JavaString(name);
  // Stricter than the definition check: an empty workflowDefinition value is no definition.
  RETURN_IF_ERROR(CheckSubWorkflowParam(wt, inline_def));
  if (inline_def) {
    // An expression is resolved to the definition it names; a definition object is taken
    // as it is, so the child's own "${...}" stay for the child to resolve.
    Value def = params.workflow_definition().kind_case() == Value::kStringValue
                    ? ResolveValue(params.workflow_definition(), wf_)
                    : params.workflow_definition();
    if (def.kind_case() != Value::kStructValue) {
      t.set_status(Task::FAILED);
      t.set_end_time(now_);
      t.set_reason_for_incompletion(
          absl::StrCat(TaskName(wt), ": subWorkflowParam.workflowDefinition resolved to ",
                       JavaString(def), ", not a workflow definition"));
      return absl::OkStatus();
    }
    (*t.mutable_input_data())["subWorkflowDefinition"] = def;
    auto n = def.struct_value().fields().find("name");
    if (n != def.struct_value().fields().end()) name_str = JavaString(n->second);
  }
  (*t.mutable_input_data())["subWorkflowName"] = StringValue(name_str);
  (*t.mutable_input_data())["subWorkflowVersion"] =
      params.version() > 0 ? NumberValue(params.version()) : NullValue();
  if (!params.task_to_domain().empty()) {
    Value domains;
    for (const auto& [k, v] : params.task_to_domain()) {
      (*domains.mutable_struct_value()->mutable_fields())[k] = ResolveValue(StringValue(v), wf_);
    }
    (*t.mutable_input_data())["subWorkflowTaskToDomain"] = domains;
  }
  Value workflow_input;
  *workflow_input.mutable_struct_value() = input;
  (*t.mutable_input_data())["workflowInput"] = workflow_input;
  t.set_callback_after_seconds(wt.start_delay());
  t.set_status(Task::SCHEDULED);
  return absl::OkStatus();
}

absl::Status Decider::MapDoWhile(const WorkflowTask& wt, int retry_count,
                                 const std::string& retried_task_id, std::vector<Task>& out) {
  // Nesting, items, loopOver and loopCondition passed the definition checks.
  int latest = LatestIndex(wt.task_reference_name());
  if (latest >= 0 && IsTerminal(wf_.tasks(latest).status())) return absl::OkStatus();
  Task t = NewTask(wt, retry_count, retried_task_id);
  t.set_task_type(std::string(kDoWhile));
  t.set_status(Task::IN_PROGRESS);
  t.set_start_time(now_);
  Struct input = ResolveMap(wt.input_parameters(), wf_);
  t.mutable_input_data()->insert(input.fields().begin(), input.fields().end());
  out.push_back(std::move(t));
  return absl::OkStatus();
}

}  // namespace cmig::orchestrator::decider_internal
