// The system tasks the decider executes without a worker: INLINE and TERMINATE when scheduled,
// JOIN and DO_WHILE on every pass, and the start of a SUB_WORKFLOW's child once it is due.
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "definitions/conductor_json.h"
#include "google/protobuf/util/message_differencer.h"
#include "orchestrator/decider_internal.h"
#include "orchestrator/expressions.h"
#include "orchestrator/script.h"

namespace cmig::orchestrator::decider_internal {

absl::Status Decider::ScheduleIteration(int loop_index) {
  const Task& loop = wf_.tasks(loop_index);
  const WorkflowTask& wt = TaskWorkflowTask(loop);
  ASSIGN_OR_RETURN(std::vector<Task> tasks,
                   TasksToBeScheduled(wt.loop_over(0), loop.retry_count(), "", loop.iteration()));
  AddTasks(std::move(tasks));
  return absl::OkStatus();
}

absl::StatusOr<bool> Decider::EvaluateDoWhile(int loop_index) {
  Task before = wf_.tasks(loop_index);
  Task* loop = wf_.mutable_tasks(loop_index);
  const WorkflowTask& wt = TaskWorkflowTask(*loop);
  auto set_iteration = [&](int iteration) {
    loop->set_iteration(iteration);
    (*loop->mutable_output_data())["iteration"] = NumberValue(iteration);
  };

  // The latest attempt of each body task of the current iteration, in schedule order.
  std::vector<const Task*> relevant;
  absl::flat_hash_map<std::string, size_t> slot;
  for (const Task& t : wf_.tasks()) {
    if (t.reference_task_name() == loop->reference_task_name()) continue;
    if (t.iteration() != loop->iteration() || !InLoopBody(wt, BaseRef(t))) continue;
    auto [it, inserted] = slot.try_emplace(t.reference_task_name(), relevant.size());
    if (inserted) {
      relevant.push_back(&t);
    } else if (t.retry_count() > relevant[it->second]->retry_count()) {
      relevant[it->second] = &t;
    }
  }
  if (relevant.empty()) {
    set_iteration(1);
    RETURN_IF_ERROR(ScheduleIteration(loop_index));
    MarkChanged(*wf_.mutable_tasks(loop_index));
    return true;
  }

  Value iteration_output;
  auto* fields = iteration_output.mutable_struct_value()->mutable_fields();
  std::string failure;
  for (const Task* t : relevant) {
    Value out;
    out.mutable_struct_value()->mutable_fields()->insert(t->output_data().begin(),
                                                         t->output_data().end());
    (*fields)[BaseRef(*t)] = out;
    if (!IsSuccessful(t->status())) {
      failure = t->reason_for_incompletion() + " ";
      break;
    }
  }
  (*loop->mutable_output_data())[absl::StrCat(loop->iteration())] = iteration_output;
  auto changed = [&] {
    if (google::protobuf::util::MessageDifferencer::Equals(before, wf_.tasks(loop_index))) {
      return false;
    }
    MarkChanged(*wf_.mutable_tasks(loop_index));
    return true;
  };
  if (!failure.empty()) {
    loop->set_status(Task::FAILED);
    loop->set_reason_for_incompletion(failure);
    loop->set_end_time(now_);
    return changed();
  }
  if (!IterationComplete(*loop, wt, relevant)) return changed();

  Value condition_input;
  *condition_input.mutable_struct_value() = ResolveMap(wt.input_parameters(), wf_);
  auto* in = condition_input.mutable_struct_value()->mutable_fields();
  Value loop_output;
  loop_output.mutable_struct_value()->mutable_fields()->insert(loop->output_data().begin(),
                                                               loop->output_data().end());
  (*in)[loop->reference_task_name()] = loop_output;
  for (const Task& t : wf_.tasks()) {
    if (t.reference_task_name() == loop->reference_task_name()) continue;
    if (!InLoopBody(wt, BaseRef(t))) continue;
    Value out;
    out.mutable_struct_value()->mutable_fields()->insert(t.output_data().begin(),
                                                         t.output_data().end());
    (*in)[BaseRef(t)] = out;
  }
  bool again = false;
  if (!wt.loop_condition().empty()) {
    // The definition checks passed its syntax: what fails now is a run-time TypeError.
    absl::StatusOr<ScriptValue> v =
        EvaluateScript(wt.loop_condition(), condition_input, options_.script_time_limit);
    if (!v.ok()) {
      loop->set_status(Task::FAILED_WITH_TERMINAL_ERROR);
      loop->set_reason_for_incompletion(
          absl::StrFormat("Unable to evaluate condition %s, exception %s", wt.loop_condition(),
                          v.status().message()));
      loop->set_end_time(now_);
      return changed();
    }
    again = ScriptTruthy(*v);
  }
  if (again) {
    set_iteration(loop->iteration() + 1);
    RETURN_IF_ERROR(ScheduleIteration(loop_index));
    MarkChanged(*wf_.mutable_tasks(loop_index));
    return true;
  }
  loop->set_status(Task::COMPLETED);
  loop->set_end_time(now_);
  return changed();
}

bool Decider::IterationComplete(const Task& loop, const WorkflowTask& wt,
                                const std::vector<const Task*>& relevant) const {
  absl::flat_hash_map<std::string, const Task*> by_ref;
  for (const Task* t : relevant) by_ref[t->reference_task_name()] = t;
  for (const WorkflowTask& body : wt.loop_over()) {
    auto it = by_ref.find(absl::StrCat(body.task_reference_name(), "__", loop.iteration()));
    if (it == by_ref.end() || !IsTerminal(it->second->status())) return false;
  }
  for (const Task* t : relevant) {
    if (!IsTerminal(t->status())) return false;
  }
  for (const Task* t : relevant) {
    if ((t->task_type() == kSwitch || t->task_type() == kDecision) &&
        t->input_data().contains("hasChildren")) {
      continue;
    }
    const WorkflowTask* next = NextInDefinition(BaseRef(*t));
    if (next == nullptr || next == &wt || !InLoopBody(wt, next->task_reference_name())) continue;
    if (!by_ref.contains(absl::StrCat(next->task_reference_name(), "__", loop.iteration()))) {
      return false;
    }
  }
  return true;
}

bool Decider::ExecuteInline(Task& t) {
  if (options_.defer_inline_scripts && InlineRunsScript(t)) return false;
  RunInlineTask(t, options_.script_time_limit);
  return true;
}

void Decider::ExecuteTerminate(Task& t) {
  auto status = t.input_data().find("terminationStatus");
  std::string s = status == t.input_data().end() ? "" : JavaString(status->second);
  if (s != "COMPLETED" && s != "FAILED" && s != "TERMINATED") {
    t.set_reason_for_incompletion("given termination status is not valid");
    t.set_status(Task::FAILED);
    t.set_end_time(now_);
    return;
  }
  auto out = t.input_data().find("workflowOutput");
  if (out != t.input_data().end() && out->second.kind_case() != Value::kNullValue) {
    if (out->second.kind_case() == Value::kStructValue) {
      for (const auto& [k, v] : out->second.struct_value().fields()) {
        (*t.mutable_output_data())[k] = v;
      }
    } else {
      (*t.mutable_output_data())["output"] = out->second;
    }
  }
  t.set_status(Task::COMPLETED);
  t.set_end_time(now_);
}

bool Decider::StartSubWorkflowIfDue(Task& t) {
  if (now_ < t.scheduled_time() + SecondsToMs(t.callback_after_seconds())) return false;
  const auto& in = t.input_data();
  WorkflowStart start;
  start.kind = WorkflowStart::Kind::kSubWorkflow;
  start.parent_task_id = t.task_id();
  StartWorkflowRequest& req = start.request;
  auto get = [&](const char* key) -> const Value* {
    auto it = in.find(key);
    return it == in.end() ? nullptr : &it->second;
  };
  if (const Value* def = get("subWorkflowDefinition");
      def != nullptr && def->kind_case() == Value::kStructValue) {
    // Conductor's dialect, read by the one converter; keys the proto cannot carry are left out.
    absl::StatusOr<WorkflowDef> parsed = cmig::WorkflowDefFromValue(*def, /*dropped=*/nullptr);
    if (!parsed.ok()) {
      t.set_status(Task::FAILED);
      t.set_end_time(now_);
      t.set_reason_for_incompletion(absl::StrCat(
          "subWorkflowDefinition is not a valid workflow definition: ", parsed.status().message()));
      MarkChanged(t);
      return true;
    }
    *req.mutable_workflow_def() = *std::move(parsed);
    req.set_name(req.workflow_def().name());
  }
  if (req.name().empty()) {
    if (const Value* name = get("subWorkflowName")) req.set_name(JavaString(*name));
  }
  if (const Value* version = get("subWorkflowVersion");
      version != nullptr && version->kind_case() == Value::kNumberValue) {
    req.set_version(static_cast<int32_t>(version->number_value()));
  }
  const Value* wf_input = get("workflowInput");
  if (wf_input != nullptr && wf_input->kind_case() == Value::kStructValue &&
      !wf_input->struct_value().fields().empty()) {
    req.mutable_input()->insert(wf_input->struct_value().fields().begin(),
                                wf_input->struct_value().fields().end());
  } else {
    req.mutable_input()->insert(in.begin(), in.end());
  }
  req.set_correlation_id(wf_.correlation_id());
  if (const Value* domains = get("subWorkflowTaskToDomain");
      domains != nullptr && domains->kind_case() == Value::kStructValue) {
    for (const auto& [k, v] : domains->struct_value().fields()) {
      (*req.mutable_task_to_domain())[k] = JavaString(v);
    }
  } else {
    req.mutable_task_to_domain()->insert(wf_.task_to_domain().begin(), wf_.task_to_domain().end());
  }
  req.set_priority(wf_.priority());
  decision_.start_workflows.push_back(std::move(start));
  t.set_status(Task::IN_PROGRESS);
  t.set_start_time(now_);
  MarkChanged(t);
  return true;
}

bool Decider::EvaluateJoin(Task& join) {
  Task before = join;
  std::vector<std::string> join_on;
  auto it = join.input_data().find("joinOn");
  if (it != join.input_data().end() && it->second.kind_case() == Value::kListValue) {
    for (const Value& v : it->second.list_value().values()) {
      join_on.push_back(join.iteration() > 0 ? absl::StrCat(JavaString(v), "__", join.iteration())
                                             : JavaString(v));
    }
  }
  auto latest = [&](const std::string& ref) -> const Task* {
    int i = LatestIndex(ref);
    return i < 0 ? nullptr : &wf_.tasks(i);
  };
  bool all_terminal = true;
  for (const std::string& ref : join_on) {
    const Task* t = latest(ref);
    if (t == nullptr || !IsTerminal(t->status())) all_terminal = false;
  }
  std::string optional_failures;
  bool decided = false;
  for (const std::string& ref : join_on) {
    const Task* t = latest(ref);
    if (t == nullptr) continue;
    if (!t->output_data().empty()) {
      Value out;
      out.mutable_struct_value()->mutable_fields()->insert(t->output_data().begin(),
                                                           t->output_data().end());
      (*join.mutable_output_data())[ref] = out;
    }
    bool optional = TaskWorkflowTask(*t).optional();
    if (!IsSuccessful(t->status()) && !optional) {
      std::vector<std::string> reasons;
      bool non_canceled = false;
      for (const std::string& r : join_on) {
        const Task* o = latest(r);
        if (o == nullptr) continue;
        if (!IsSuccessful(o->status()) && !o->reason_for_incompletion().empty()) {
          reasons.push_back(o->reason_for_incompletion());
        }
        if (IsTerminal(o->status()) && !IsSuccessful(o->status()) &&
            !TaskWorkflowTask(*o).optional() && o->status() != Task::CANCELED) {
          non_canceled = true;
        }
      }
      join.set_reason_for_incompletion(absl::StrJoin(reasons, " "));
      join.set_status(non_canceled ? Task::FAILED : Task::CANCELED);
      join.set_end_time(now_);
      decided = true;
      break;
    }
    if (optional && t->status() == Task::COMPLETED_WITH_ERRORS) {
      absl::StrAppend(&optional_failures, t->task_def_name(), "/", t->task_id(), " ");
    }
  }
  if (!decided && all_terminal) {
    if (!optional_failures.empty()) {
      join.set_status(Task::COMPLETED_WITH_ERRORS);
      join.set_reason_for_incompletion(optional_failures + "completed with errors");
    } else {
      join.set_status(Task::COMPLETED);
    }
    join.set_end_time(now_);
  }
  if (google::protobuf::util::MessageDifferencer::Equals(before, join)) return false;
  MarkChanged(join);
  return true;
}

}  // namespace cmig::orchestrator::decider_internal

namespace cmig::orchestrator {

using conductor::proto::Task;
using google::protobuf::Value;

namespace {

std::string InputString(const Task& t, const char* key) {
  auto it = t.input_data().find(key);
  return it == t.input_data().end() ? "" : JavaString(it->second);
}

std::string InlineEvaluator(const Task& t) {
  std::string evaluator = InputString(t, "evaluatorType");
  if (evaluator.empty() || evaluator == "null") evaluator = "javascript";
  return evaluator;
}

}  // namespace

bool InlineRunsScript(const Task& t) {
  const std::string evaluator = InlineEvaluator(t);
  return evaluator == "javascript" || evaluator == "graaljs";
}

void RunInlineTask(Task& t, absl::Duration time_limit) {
  const std::string evaluator = InlineEvaluator(t);
  const std::string expression = InputString(t, "expression");
  Value result;
  if (evaluator == "value-param") {
    auto it = t.input_data().find(expression);
    result = it == t.input_data().end() ? NullValue() : it->second;
  } else if (InlineRunsScript(t)) {
    Value input;
    input.mutable_struct_value()->mutable_fields()->insert(t.input_data().begin(),
                                                           t.input_data().end());
    absl::StatusOr<ScriptValue> v = EvaluateScript(expression, input, time_limit);
    if (!v.ok()) {
      t.set_status(Task::FAILED);
      t.set_reason_for_incompletion(std::string(v.status().message()));
      (*t.mutable_output_data())["error"] = StringValue(std::string(v.status().message()));
      return;
    }
    result = std::move(v->value);
  } else {
    // An evaluatorType resolved from data: only now known to be unusable.
    std::string message(
        decider_internal::UnsupportedEvaluatorError(t.workflow_task(), evaluator).message());
    t.set_status(Task::FAILED_WITH_TERMINAL_ERROR);
    t.set_reason_for_incompletion(message);
    (*t.mutable_output_data())["error"] = StringValue(message);
    return;
  }
  (*t.mutable_output_data())["result"] = std::move(result);
  t.set_status(Task::COMPLETED);
}

}  // namespace cmig::orchestrator
