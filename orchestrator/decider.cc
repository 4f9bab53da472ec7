// The decider's core (decider.h): the decide loop that repeats DeciderService.decide until
// nothing changes, the bookkeeping every step shares, what is scheduled after a task ends, and
// how the workflow completes or ends unsuccessfully. Mapping, system tasks, policies and checks
// live in the files named in decider_internal.h.
#include "orchestrator/decider.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"
#include "definitions/message_value.h"
#include "definitions/task_types.h"
#include "orchestrator/decider_internal.h"
#include "orchestrator/expressions.h"

namespace cmig::orchestrator {
namespace decider_internal {
namespace {

// Passes one Decide may run; each settles at least one task, so real workflows stay far below.
constexpr int kMaxPasses = 128;

}  // namespace

absl::StatusOr<Decision> Decider::Run() {
  if (IsWorkflowTerminal(wf_.status())) {
    // WorkflowExecutor.decide: an ended, unsuccessful workflow keeps no task running (for
    // example after the engine terminated it).
    if (wf_.status() != Workflow::COMPLETED) CancelNonTerminalTasks();
    return Finish();
  }
  // Definition problems are found before anything changes, so an error leaves the workflow
  // as it was without the cost of deciding on a copy.
  RETURN_IF_ERROR(ValidateTasks(wf_.workflow_definition().tasks(), /*in_loop=*/false));
  CheckWorkflowTimeout();
  if (ended_ || wf_.status() == Workflow::PAUSED) return Finish();
  // Each pass is one DeciderService.decide plus the synchronous system tasks it scheduled;
  // passes repeat while they change something, as WorkflowExecutor's decide loop does.
  bool settled = false;
  for (int pass = 0; pass < kMaxPasses && !ended_ && !settled; ++pass) {
    ASSIGN_OR_RETURN(bool changed, Pass());
    settled = !changed;
  }
  Decision decision = Finish();
  // A loop of system tasks only never settles; stop after a bounded amount of work and ask to
  // be called again rather than hold the engine.
  if (!settled && !ended_) decision.next_wake_ms = now_ + 1;
  return decision;
}

Decision Decider::Finish() {
  if (!IsWorkflowTerminal(wf_.status())) CollectWakeups();
  // A task scheduled and canceled within one decision must not reach a queue.
  if (!decision_.canceled_task_ids.empty()) {
    absl::flat_hash_set<std::string> canceled(decision_.canceled_task_ids.begin(),
                                              decision_.canceled_task_ids.end());
    auto& q = decision_.enqueue_task_ids;
    q.erase(std::remove_if(q.begin(), q.end(),
                           [&](const std::string& id) { return canceled.contains(id); }),
            q.end());
  }
  return std::move(decision_);
}

const TaskDef& Decider::EffectiveDef(const WorkflowTask& wt) const {
  if (wt.has_task_definition()) return wt.task_definition();
  if (!wt.name().empty() && task_defs_) {
    if (const TaskDef* def = task_defs_(wt.name())) return *def;
  }
  bool simple = wt.type().empty() || wt.type() == kSimple;
  auto [it, inserted] = ad_hoc_defs_.try_emplace(absl::StrCat(simple ? "S:" : "O:", wt.name()));
  if (inserted) {
    TaskDef& def = it->second;
    def.set_name(wt.name());
    def.set_timeout_policy(TaskDef::TIME_OUT_WF);
    def.set_retry_logic(TaskDef::FIXED);
    def.set_retry_delay_seconds(60);
    def.set_backoff_scale_factor(1);
    def.set_retry_count(simple ? 3 : 0);
    def.set_response_timeout_seconds(simple ? 3600 : 0);
  }
  return it->second;
}

const WorkflowTask& Decider::TaskWorkflowTask(const Task& t) const {
  if (t.has_workflow_task()) return t.workflow_task();
  if (const Location* loc = index_.Find(BaseRef(t))) return *loc->task;
  return WorkflowTask::default_instance();
}

void Decider::MarkChanged(const Task& t) {
  if (changed_set_.insert(t.task_id()).second) decision_.changed_task_ids.push_back(t.task_id());
}

void Decider::AddWake(int64_t at) {
  if (at <= now_) return;
  if (!decision_.next_wake_ms.has_value() || at < *decision_.next_wake_ms) {
    decision_.next_wake_ms = at;
  }
}

int Decider::LatestIndex(absl::string_view ref) const {
  for (int i = indexed_tasks_; i < wf_.tasks_size(); ++i) {
    latest_by_ref_[wf_.tasks(i).reference_task_name()] = i;
  }
  indexed_tasks_ = wf_.tasks_size();
  auto it = latest_by_ref_.find(ref);
  return it == latest_by_ref_.end() ? -1 : it->second;
}

bool Decider::IsSkipped(const WorkflowTask* wt) const {
  if (wt == nullptr) return false;
  int i = LatestIndex(wt->task_reference_name());
  return i >= 0 && wf_.tasks(i).status() == Task::SKIPPED;
}

const WorkflowTask* Decider::NextInDefinition(absl::string_view ref) const {
  const Location* loc = index_.Find(ref);
  if (loc == nullptr || loc->task->type() == kTerminate) return nullptr;
  while (loc != nullptr) {
    if (loc->index + 1 < loc->siblings->size()) return &loc->siblings->Get(loc->index + 1);
    if (loc->parent == nullptr) return nullptr;
    if (loc->parent->type() == kDoWhile) return loc->parent;
    loc = index_.Find(loc->parent->task_reference_name());
  }
  return nullptr;
}

const WorkflowTask* Decider::NextUnskipped(absl::string_view ref) const {
  const WorkflowTask* next = NextInDefinition(ref);
  while (next != nullptr && IsSkipped(next)) next = NextInDefinition(next->task_reference_name());
  return next;
}

absl::StatusOr<bool> Decider::Pass() {
  bool changed = false;
  std::vector<Task> to_schedule;
  absl::flat_hash_set<std::string> to_schedule_refs;
  auto add_scheduled = [&](std::vector<Task> tasks) {
    for (Task& t : tasks) {
      if (to_schedule_refs.insert(t.reference_task_name()).second) {
        to_schedule.push_back(std::move(t));
      }
    }
  };

  if (wf_.tasks_size() == 0) {
    const WorkflowDef& def = wf_.workflow_definition();
    if (def.tasks_size() == 0) {
      EndWorkflow(Workflow::COMPLETED, "No tasks found to be executed", "");
      return true;
    }
    const WorkflowTask* first = &def.tasks(0);
    while (first != nullptr && IsSkipped(first)) {
      first = NextInDefinition(first->task_reference_name());
    }
    if (first != nullptr) {
      ASSIGN_OR_RETURN(std::vector<Task> tasks, TasksToBeScheduled(*first, 0, ""));
      add_scheduled(std::move(tasks));
    }
  }

  absl::flat_hash_set<std::string> executed_refs;
  bool has_successful_terminate = false;
  std::vector<int> pending;
  for (int i = 0; i < wf_.tasks_size(); ++i) {
    const Task& t = wf_.tasks(i);
    if (!t.retried() && t.status() != Task::SKIPPED && !t.executed()) pending.push_back(i);
    if (t.executed()) executed_refs.insert(t.reference_task_name());
    if (t.task_type() == kTerminate && IsTerminal(t.status()) && IsSuccessful(t.status())) {
      has_successful_terminate = true;
    }
  }

  for (int i : pending) {
    if (ended_) return true;
    Task* task = wf_.mutable_tasks(i);
    if (cmig::IsExecutedByEmbeddedOrchestrator(task->task_type()) && !IsTerminal(task->status())) {
      executed_refs.erase(task->reference_task_name());
    }
    const WorkflowTask& wt = TaskWorkflowTask(*task);
    const TaskDef& def = EffectiveDef(wt);
    CheckTaskTimeouts(def, *task);
    if (ended_) return true;

    if (IsTerminal(task->status()) && !IsSuccessful(task->status())) {
      std::optional<Task> retry = Retry(def, wt, *task);
      if (ended_) return true;
      if (retry.has_value()) {
        executed_refs.erase(retry->reference_task_name());
        std::vector<Task> one;
        one.push_back(std::move(*retry));
        // A retry replaces whatever else this pass planned for that reference.
        to_schedule_refs.erase(one[0].reference_task_name());
        to_schedule.erase(std::remove_if(to_schedule.begin(), to_schedule.end(),
                                         [&](const Task& s) {
                                           return s.reference_task_name() ==
                                                  one[0].reference_task_name();
                                         }),
                          to_schedule.end());
        add_scheduled(std::move(one));
        MarkChanged(*task);
        changed = true;
      } else {
        // Optional tasks that failed for good let the workflow go on.
        task->set_status(Task::COMPLETED_WITH_ERRORS);
        MarkChanged(*task);
        changed = true;
      }
    }

    if (!task->executed() && !task->retried() && IsTerminal(task->status())) {
      task->set_executed(true);
      MarkChanged(*task);
      changed = true;
      ASSIGN_OR_RETURN(std::vector<Task> next, NextTasks(*task));
      add_scheduled(std::move(next));
    }
  }

  // A TERMINATE that completed ends the workflow before anything else is scheduled.
  if (has_successful_terminate) {
    CompleteExecution();
    return true;
  }

  // Schedule what is new, minus references that already ran.

  std::vector<Task> fresh;
  for (Task& t : to_schedule) {
    if (executed_refs.contains(t.reference_task_name())) continue;
    fresh.push_back(std::move(t));
  }
  bool added = AddTasks(std::move(fresh));
  changed = changed || added;

  // Synchronous system work: sub-workflow starts that are due, JOINs and DO_WHILE loops.
  // Tasks a loop adds are visited by this same sweep.
  for (int i = 0; i < wf_.tasks_size() && !ended_; ++i) {
    Task& t = *wf_.mutable_tasks(i);
    if (t.retried() || t.executed() || IsTerminal(t.status())) continue;
    if (t.task_type() == kSubWorkflow && t.status() == Task::SCHEDULED) {
      if (StartSubWorkflowIfDue(t)) changed = true;
    } else if (t.task_type() == kJoin) {
      if (EvaluateJoin(t)) changed = true;
    } else if (t.task_type() == kDoWhile) {
      ASSIGN_OR_RETURN(bool loop_changed, EvaluateDoWhile(i));
      changed = changed || loop_changed;
    }
  }

  if (!ended_ && !added && CheckForWorkflowCompletion()) {
    CompleteExecution();
    return true;
  }
  return changed;
}

bool Decider::AddTasks(std::vector<Task> tasks) {
  bool added = false;
  for (Task& t : tasks) {
    if (AlreadyInWorkflow(t)) continue;
    t.set_seq(wf_.tasks_size() + 1);
    SetDomain(t);
    Task* stored = wf_.add_tasks();
    *stored = std::move(t);
    MarkChanged(*stored);
    if (!cmig::IsExecutedByEmbeddedOrchestrator(stored->task_type()) &&
        stored->status() == Task::SCHEDULED) {
      decision_.enqueue_task_ids.push_back(stored->task_id());
    }
    added = true;
  }
  return added;
}

bool Decider::AlreadyInWorkflow(const Task& candidate) const {
  for (const Task& t : wf_.tasks()) {
    if (t.reference_task_name() == candidate.reference_task_name() && !t.retried() &&
        t.task_id() != candidate.retried_task_id()) {
      return true;
    }
  }
  return false;
}

void Decider::SetDomain(Task& t) const {
  if (cmig::IsExecutedByEmbeddedOrchestrator(t.task_type())) return;
  const auto& map = wf_.task_to_domain();
  auto pick = [](const std::string& domains) -> std::string {
    // Without poll data every domain is inactive, and Conductor then takes the last one.
    std::vector<std::string> parts = absl::StrSplit(domains, ',');
    std::string last(absl::StripAsciiWhitespace(parts.back()));
    return absl::EqualsIgnoreCase(last, "NO_DOMAIN") ? "" : last;
  };
  auto star = map.find("*");
  if (star != map.end() && !absl::StripAsciiWhitespace(star->second).empty()) {
    t.set_domain(pick(star->second));
  }
  auto own = map.find(t.task_type());
  if (own != map.end()) t.set_domain(pick(own->second));
}

std::string Decider::BaseRef(const Task& t) {
  const std::string& ref = t.reference_task_name();
  if (t.iteration() <= 0 || t.task_type() == kDoWhile) return ref;
  std::string suffix = absl::StrCat("__", t.iteration());
  return absl::EndsWith(ref, suffix) ? ref.substr(0, ref.size() - suffix.size()) : ref;
}

bool Decider::InLoopBody(const WorkflowTask& loop, const std::string& ref) const {
  const Location* loc = index_.Find(ref);
  while (loc != nullptr && loc->parent != nullptr) {
    if (loc->parent->task_reference_name() == loop.task_reference_name()) return true;
    loc = index_.Find(loc->parent->task_reference_name());
  }
  return false;
}

absl::StatusOr<std::vector<Task>> Decider::NextTasks(const Task& task) {
  if ((task.task_type() == kSwitch || task.task_type() == kDecision) &&
      task.input_data().contains("hasChildren")) {
    return std::vector<Task>();
  }
  const WorkflowTask* next = NextUnskipped(BaseRef(task));
  if (next == nullptr) return std::vector<Task>();
  if (next->type() == kDoWhile && LatestIndex(next->task_reference_name()) >= 0) {
    return std::vector<Task>();
  }
  // The next task of a loop body task belongs to the same iteration.
  int iteration = task.task_type() == kDoWhile ? 0 : task.iteration();
  return TasksToBeScheduled(*next, 0, "", iteration);
}

bool Decider::CheckForWorkflowCompletion() const {
  absl::flat_hash_map<std::string, Task::Status> status_by_ref;
  std::vector<const Task*> not_executed;
  for (const Task& t : wf_.tasks()) {
    status_by_ref[t.reference_task_name()] = t.status();
    if (!IsTerminal(t.status())) return false;
    if (t.task_type() == kTerminate && IsSuccessful(t.status())) return true;
    if (!t.retried() || !t.executed()) not_executed.push_back(&t);
  }
  if (status_by_ref.empty()) return false;
  for (const WorkflowTask& wt : wf_.workflow_definition().tasks()) {
    auto it = status_by_ref.find(wt.task_reference_name());
    if (it == status_by_ref.end() || !IsTerminal(it->second)) return false;
  }
  for (const Task* t : not_executed) {
    const WorkflowTask* next = NextUnskipped(t->reference_task_name());
    if (next != nullptr && !status_by_ref.contains(next->task_reference_name())) return false;
  }
  return true;
}

const Task* Decider::SuccessfulTerminateTask() const {
  for (const Task& t : wf_.tasks()) {
    if (t.task_type() == kTerminate && IsTerminal(t.status()) && IsSuccessful(t.status())) {
      return &t;
    }
  }
  return nullptr;
}

void Decider::UpdateWorkflowOutput() {
  if (wf_.tasks_size() == 0) return;
  google::protobuf::Map<std::string, Value> output;
  if (const Task* term = SuccessfulTerminateTask()) {
    output = term->output_data();
  } else if (!wf_.workflow_definition().output_parameters().empty()) {
    Struct resolved = ResolveMap(wf_.workflow_definition().output_parameters(), wf_);
    output.insert(resolved.fields().begin(), resolved.fields().end());
  } else {
    output = wf_.tasks(wf_.tasks_size() - 1).output_data();
  }
  *wf_.mutable_output() = std::move(output);
}

void Decider::RecordFailedTasks() {
  absl::flat_hash_set<std::string> refs(wf_.failed_reference_task_names().begin(),
                                        wf_.failed_reference_task_names().end());
  absl::flat_hash_set<std::string> names(wf_.failed_task_names().begin(),
                                         wf_.failed_task_names().end());
  for (const Task& t : wf_.tasks()) {
    if (t.status() != Task::FAILED && t.status() != Task::FAILED_WITH_TERMINAL_ERROR) continue;
    if (refs.insert(t.reference_task_name()).second) {
      wf_.add_failed_reference_task_names(t.reference_task_name());
    }
    if (names.insert(t.task_def_name()).second) {
      wf_.add_failed_task_names(t.task_def_name());
    }
  }
}

void Decider::CancelNonTerminalTasks() {
  for (Task& t : *wf_.mutable_tasks()) {
    if (IsTerminal(t.status())) continue;
    t.set_status(Task::CANCELED);
    t.set_end_time(now_);
    MarkChanged(t);
    decision_.canceled_task_ids.push_back(t.task_id());
  }
}

void Decider::CompleteWorkflow() {
  UpdateWorkflowOutput();
  wf_.set_status(Workflow::COMPLETED);
  wf_.set_end_time(now_);
  RecordFailedTasks();
  decision_.workflow_changed = true;
  ended_ = true;
}

void Decider::CompleteExecution() {
  if (const Task* term = SuccessfulTerminateTask()) {
    auto get = [&](const char* key) -> std::string {
      auto it = term->input_data().find(key);
      if (it == term->input_data().end() || it->second.kind_case() == Value::kNullValue) {
        return "";
      }
      return JavaString(it->second);
    };
    std::string status = get("terminationStatus");
    std::string reason = get("terminationReason");
    if (absl::StripAsciiWhitespace(reason).empty()) {
      reason = absl::StrFormat("Workflow is %s by TERMINATE task: %s", status, term->task_id());
    }
    std::string term_id = term->task_id();
    if (status == "FAILED") {
      EndWorkflow(Workflow::FAILED, reason, term_id);
      return;
    }
    if (status == "TERMINATED") {
      EndWorkflow(Workflow::TERMINATED, reason, term_id);
      return;
    }
    wf_.set_reason_for_incompletion(reason);
  }
  CompleteWorkflow();
  CancelNonTerminalTasks();
}

void Decider::EndWorkflow(Workflow::WorkflowStatus status, const std::string& reason,
                          const std::string& failed_task_id) {
  if (!IsWorkflowTerminal(wf_.status())) wf_.set_status(status);
  UpdateWorkflowOutput();
  RecordFailedTasks();
  wf_.set_reason_for_incompletion(reason);
  CancelNonTerminalTasks();
  wf_.set_end_time(now_);
  decision_.workflow_changed = true;
  ended_ = true;

  const WorkflowDef& def = wf_.workflow_definition();
  std::string failure_workflow = def.failure_workflow();
  if (absl::StartsWith(failure_workflow, "$")) {
    // "${workflow.input.name}": the name comes from the workflow's input.
    std::vector<std::string> parts = absl::StrSplit(failure_workflow, '.');
    failure_workflow.clear();
    if (parts.size() >= 3) {
      std::string key(absl::StripSuffix(parts[2], "}"));
      auto it = wf_.input().find(key);
      if (it != wf_.input().end() && it->second.kind_case() == Value::kStringValue) {
        failure_workflow = it->second.string_value();
      }
    }
  }
  if (absl::StripAsciiWhitespace(failure_workflow).empty()) return;

  WorkflowStart start;
  start.kind = WorkflowStart::Kind::kFailureWorkflow;
  StartWorkflowRequest& req = start.request;
  req.set_name(failure_workflow);
  req.set_version(def.failure_workflow_version());
  req.set_correlation_id(wf_.correlation_id());
  req.mutable_task_to_domain()->insert(wf_.task_to_domain().begin(), wf_.task_to_domain().end());
  auto& input = *req.mutable_input();
  input.insert(wf_.input().begin(), wf_.input().end());
  input["workflowId"] = StringValue(wf_.workflow_id());
  input["reason"] = StringValue(reason);
  input["failureStatus"] = StringValue(Workflow::WorkflowStatus_Name(wf_.status()));
  if (!failed_task_id.empty()) input["failureTaskId"] = StringValue(failed_task_id);
  // A workflow JSON cannot carry (a NaN in its data) still starts its failure workflow, only
  // without failedWorkflow.
  if (absl::StatusOr<Value> failed = cmig::MessageToValue(wf_); failed.ok()) {
    input["failedWorkflow"] = *std::move(failed);
  }
  decision_.start_workflows.push_back(std::move(start));
}

}  // namespace decider_internal

using conductor::proto::Workflow;
using decider_internal::Decider;
using google::protobuf::Value;

absl::StatusOr<Decision> Decide(Workflow& workflow, const TaskDefLookup& task_defs,
                                const IdGenerator& new_id, int64_t now_ms) {
  return Decide(workflow, task_defs, new_id, now_ms, DecideOptions());
}

absl::StatusOr<Decision> Decide(Workflow& workflow, const TaskDefLookup& task_defs,
                                const IdGenerator& new_id, int64_t now_ms,
                                const DecideOptions& options) {
  Decider decider(workflow, task_defs, new_id, now_ms, options);
  return decider.Run();
}

Value ResolveExpressions(const Value& template_value, const Workflow& workflow) {
  return ResolveValue(template_value, workflow);
}

}  // namespace cmig::orchestrator
