#include "orchestrator/decider.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "orchestrator/expressions.h"

namespace cmig::orchestrator {
namespace {

using conductor::proto::StartWorkflowRequest;
using conductor::proto::Task;
using conductor::proto::TaskDef;
using conductor::proto::Workflow;
using conductor::proto::WorkflowDef;
using conductor::proto::WorkflowTask;
using google::protobuf::RepeatedPtrField;
using google::protobuf::Struct;
using google::protobuf::Value;

constexpr absl::string_view kSimple = "SIMPLE";
constexpr absl::string_view kSwitch = "SWITCH";
constexpr absl::string_view kDecision = "DECISION";
constexpr absl::string_view kForkJoin = "FORK_JOIN";
constexpr absl::string_view kFork = "FORK";  // the task type a FORK_JOIN becomes at runtime
constexpr absl::string_view kJoin = "JOIN";
constexpr absl::string_view kSubWorkflow = "SUB_WORKFLOW";
constexpr absl::string_view kTerminate = "TERMINATE";
constexpr absl::string_view kDoWhile = "DO_WHILE";
constexpr absl::string_view kInline = "INLINE";
constexpr absl::string_view kSetVariable = "SET_VARIABLE";
constexpr absl::string_view kNoop = "NOOP";

// Conductor system task types this orchestrator has no executor for. Treating them as worker
// tasks would park them on a queue nobody polls, so scheduling one is a definition error.
constexpr absl::string_view kUnsupportedSystemTypes[] = {"FORK_JOIN_DYNAMIC",
                                                         "DYNAMIC",
                                                         "EXCLUSIVE_JOIN",
                                                         "HTTP",
                                                         "LAMBDA",
                                                         "WAIT",
                                                         "EVENT",
                                                         "JSON_JQ_TRANSFORM",
                                                         "KAFKA_PUBLISH",
                                                         "HUMAN",
                                                         "START_WORKFLOW",
                                                         "WAIT_FOR_WEBHOOK",
                                                         "BUSINESS_RULE",
                                                         "SQL_TASK",
                                                         "GET_SIGNED_JWT",
                                                         "UPDATE_SECRET",
                                                         "UPDATE_TASK",
                                                         "YIELD",
                                                         "LLM_TEXT_COMPLETE",
                                                         "LLM_CHAT_COMPLETE",
                                                         "JDBC"};

bool IsSystemType(absl::string_view type) {
  return type == kSwitch || type == kDecision || type == kFork || type == kForkJoin ||
         type == kJoin || type == kSubWorkflow || type == kTerminate || type == kDoWhile ||
         type == kInline || type == kSetVariable || type == kNoop;
}

// TaskType.isBuiltIn: never retried, whatever the task definition says.
bool IsBuiltIn(absl::string_view type) {
  return type == kSwitch || type == kDecision || type == kFork || type == kJoin || type == kDoWhile;
}

bool IsTerminal(Task::Status s) { return s != Task::IN_PROGRESS && s != Task::SCHEDULED; }

bool IsSuccessful(Task::Status s) {
  return s != Task::CANCELED && s != Task::FAILED && s != Task::FAILED_WITH_TERMINAL_ERROR &&
         s != Task::TIMED_OUT;
}

bool IsRetriable(Task::Status s) {
  return s != Task::CANCELED && s != Task::FAILED_WITH_TERMINAL_ERROR && s != Task::SKIPPED;
}

bool IsWorkflowTerminal(Workflow::WorkflowStatus s) {
  return s != Workflow::RUNNING && s != Workflow::PAUSED;
}

std::string TaskName(const WorkflowTask& wt) {
  return absl::StrCat(wt.type().empty() ? std::string(kSimple) : wt.type(), " task '",
                      wt.task_reference_name(), "'");
}

// Where a WorkflowTask sits in the definition tree.
struct Location {
  const WorkflowTask* task = nullptr;
  const RepeatedPtrField<WorkflowTask>* siblings = nullptr;
  int index = 0;
  const WorkflowTask* parent = nullptr;  // SWITCH/DECISION/FORK_JOIN/DO_WHILE, or null
};

class DefinitionIndex {
 public:
  explicit DefinitionIndex(const WorkflowDef& def) { Add(def.tasks(), nullptr); }

  const Location* Find(absl::string_view ref) const {
    auto it = by_ref_.find(ref);
    return it == by_ref_.end() ? nullptr : &it->second;
  }

 private:
  void Add(const RepeatedPtrField<WorkflowTask>& list, const WorkflowTask* parent) {
    for (int i = 0; i < list.size(); ++i) {
      const WorkflowTask& wt = list.Get(i);
      by_ref_.try_emplace(wt.task_reference_name(), Location{&wt, &list, i, parent});
      for (const auto& [name, branch] : wt.decision_cases()) Add(branch.tasks(), &wt);
      Add(wt.default_case(), &wt);
      for (const auto& branch : wt.fork_tasks()) Add(branch.tasks(), &wt);
      Add(wt.loop_over(), &wt);
    }
  }

  absl::flat_hash_map<std::string, Location> by_ref_;
};

// Java's int arithmetic, which Conductor's backoff formulas are written in: products wrap
// around at 32 bits, and (int) of a too-large double saturates.
int32_t JavaIntMultiply(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) * static_cast<uint32_t>(b));
}
int32_t JavaDoubleToInt(double d) {
  if (std::isnan(d)) return 0;
  if (d >= static_cast<double>(INT32_MAX)) return INT32_MAX;
  if (d <= static_cast<double>(INT32_MIN)) return INT32_MIN;
  return static_cast<int32_t>(d);
}

// Conductor serialises an inline WorkflowDef with Jackson, whose shape differs from the proto's
// JSON in two places: decisionCases map to bare task lists and forkTasks are lists of lists
// (the proto wraps both in WorkflowTaskList), and an absent retryCount means "no override"
// (the proto's -1). Either shape is accepted.
void NormalizeTasks(Value& tasks);

void NormalizeTask(Value& task) {
  if (task.kind_case() != Value::kStructValue) return;
  auto& f = *task.mutable_struct_value()->mutable_fields();
  if (!f.contains("retryCount")) f["retryCount"].set_number_value(-1);
  auto wrap = [](Value& list) {
    if (list.kind_case() == Value::kListValue) {
      Value wrapped;
      (*wrapped.mutable_struct_value()->mutable_fields())["tasks"] = std::move(list);
      list = std::move(wrapped);
    }
    if (list.kind_case() == Value::kStructValue) {
      auto it = list.mutable_struct_value()->mutable_fields()->find("tasks");
      if (it != list.mutable_struct_value()->mutable_fields()->end()) NormalizeTasks(it->second);
    }
  };
  if (auto it = f.find("decisionCases");
      it != f.end() && it->second.kind_case() == Value::kStructValue) {
    for (auto& [name, branch] : *it->second.mutable_struct_value()->mutable_fields()) wrap(branch);
  }
  if (auto it = f.find("forkTasks"); it != f.end() && it->second.kind_case() == Value::kListValue) {
    for (Value& branch : *it->second.mutable_list_value()->mutable_values()) wrap(branch);
  }
  for (const char* key : {"defaultCase", "loopOver"}) {
    if (auto it = f.find(key); it != f.end()) NormalizeTasks(it->second);
  }
}

void NormalizeTasks(Value& tasks) {
  if (tasks.kind_case() != Value::kListValue) return;
  for (Value& t : *tasks.mutable_list_value()->mutable_values()) NormalizeTask(t);
}

absl::Status WorkflowDefFromValue(const Value& value, WorkflowDef* def) {
  Value normalized = value;
  auto& f = *normalized.mutable_struct_value()->mutable_fields();
  if (auto it = f.find("tasks"); it != f.end()) NormalizeTasks(it->second);
  std::string json;
  google::protobuf::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = true;
  auto status = google::protobuf::util::MessageToJsonString(normalized, &json);
  if (!status.ok()) return absl::InvalidArgumentError(std::string(status.message()));
  status = google::protobuf::util::JsonStringToMessage(json, def, opts);
  if (!status.ok()) return absl::InvalidArgumentError(std::string(status.message()));
  return absl::OkStatus();
}

// Passes one Decide may run; each settles at least one task, so real workflows stay far below.
constexpr int kMaxPasses = 128;

class Decider {
 public:
  Decider(Workflow& wf, const TaskDefLookup& task_defs, const IdGenerator& new_id, int64_t now,
          const DecideOptions& options)
      : wf_(wf),
        task_defs_(task_defs),
        new_id_(new_id),
        now_(now),
        options_(options),
        index_(wf.workflow_definition()) {}

  absl::StatusOr<Decision> Run() {
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

 private:
  Decision Finish() {
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

  // ---- Definition checks ---------------------------------------------------------------------

  absl::Status CheckScript(const WorkflowTask& wt, const char* field,
                           const std::string& expression) const {
    absl::Status syntax = CheckScriptSyntax(expression);
    if (syntax.ok()) return syntax;
    return absl::InvalidArgumentError(absl::StrCat(TaskName(wt), ": ", field, " '", expression,
                                                   "' cannot be evaluated: ", syntax.message()));
  }

  static bool IsLiteral(const Value* v) {
    return v != nullptr && v->kind_case() == Value::kStringValue &&
           v->string_value().find("${") == std::string::npos;
  }

  // Everything a definition can get wrong for this decider, anywhere in the tree (a branch not
  // taken today may be taken tomorrow).
  absl::Status ValidateTasks(const RepeatedPtrField<WorkflowTask>& tasks, bool in_loop) const {
    for (const WorkflowTask& wt : tasks) {
      const std::string type = wt.type().empty() ? std::string(kSimple) : wt.type();
      for (absl::string_view unsupported : kUnsupportedSystemTypes) {
        if (type == unsupported) {
          return absl::InvalidArgumentError(
              absl::StrCat(TaskName(wt), ": task type ", type,
                           " is not supported by the embedded orchestrator"));
        }
      }
      if (type == kSwitch) {
        const std::string& evaluator = wt.evaluator_type();
        if (evaluator == "javascript" || evaluator == "graaljs") {
          RETURN_IF_ERROR(CheckScript(wt, "expression", wt.expression()));
        } else if (evaluator != "value-param") {
          return absl::InvalidArgumentError(
              absl::StrCat(TaskName(wt), ": evaluatorType '", evaluator,
                           "' is not supported (use value-param or javascript)"));
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
        const WorkflowTask* join = NextInDefinition(wt.task_reference_name());
        if (join == nullptr || join->type() != kJoin) {
          return absl::InvalidArgumentError(
              absl::StrCat(TaskName(wt), ": a FORK_JOIN must be followed by a JOIN"));
        }
      } else if (type == kSubWorkflow) {
        if (!wt.has_sub_workflow_param()) {
          return absl::InvalidArgumentError(
              absl::StrCat(TaskName(wt), ": subWorkflowParam is required"));
        }
        const auto& params = wt.sub_workflow_param();
        bool inline_def = params.has_workflow_definition() &&
                          params.workflow_definition().kind_case() != Value::kNullValue;
        if (!inline_def && params.name().empty()) {
          return absl::InvalidArgumentError(
              absl::StrCat(TaskName(wt), ": subWorkflowParam.name is required"));
        }
      } else if (type == kDoWhile) {
        if (in_loop) {
          return absl::InvalidArgumentError(
              absl::StrCat(TaskName(wt), ": a DO_WHILE inside another DO_WHILE is not supported"));
        }
        if (!wt.items().empty() || wt.input_parameters().contains("_items")) {
          return absl::InvalidArgumentError(absl::StrCat(
              TaskName(wt),
              ": DO_WHILE list iteration (items) is not supported; use loopCondition"));
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
          return absl::InvalidArgumentError(
              absl::StrCat(TaskName(wt), ": evaluatorType '", e,
                           "' is not supported (use value-param or javascript)"));
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

  // ---- Task definitions ----------------------------------------------------------------------

  // The definition Conductor would have attached to the WorkflowTask when the workflow started:
  // the embedded one, else the registered one, else an ad-hoc TaskDef with Java's defaults
  // (retries and response timeout disabled for anything but SIMPLE).
  const TaskDef& EffectiveDef(const WorkflowTask& wt) const {
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

  const WorkflowTask& TaskWorkflowTask(const Task& t) const {
    if (t.has_workflow_task()) return t.workflow_task();
    if (const Location* loc = index_.Find(BaseRef(t))) return *loc->task;
    return WorkflowTask::default_instance();
  }

  // ---- Bookkeeping ---------------------------------------------------------------------------

  void MarkChanged(const Task& t) {
    if (changed_set_.insert(t.task_id()).second) decision_.changed_task_ids.push_back(t.task_id());
  }

  void AddWake(int64_t at) {
    if (at <= now_) return;
    if (!decision_.next_wake_ms.has_value() || at < *decision_.next_wake_ms) {
      decision_.next_wake_ms = at;
    }
  }

  // Index of the latest task with reference `ref`, or -1. References never change once a task
  // is in the workflow and tasks are only appended, so the map is extended, never rebuilt.
  int LatestIndex(absl::string_view ref) const {
    for (int i = indexed_tasks_; i < wf_.tasks_size(); ++i) {
      latest_by_ref_[wf_.tasks(i).reference_task_name()] = i;
    }
    indexed_tasks_ = wf_.tasks_size();
    auto it = latest_by_ref_.find(ref);
    return it == latest_by_ref_.end() ? -1 : it->second;
  }

  bool IsSkipped(const WorkflowTask* wt) const {
    if (wt == nullptr) return false;
    int i = LatestIndex(wt->task_reference_name());
    return i >= 0 && wf_.tasks(i).status() == Task::SKIPPED;
  }

  // WorkflowDef.getNextTask: the next sibling, else the next task after the enclosing
  // SWITCH/DECISION/FORK_JOIN (a fork branch's end leads to the JOIN after the fork), or the
  // enclosing DO_WHILE itself when the loop body ends; nothing after a TERMINATE.
  const WorkflowTask* NextInDefinition(absl::string_view ref) const {
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

  const WorkflowTask* NextUnskipped(absl::string_view ref) const {
    const WorkflowTask* next = NextInDefinition(ref);
    while (next != nullptr && IsSkipped(next)) next = NextInDefinition(next->task_reference_name());
    return next;
  }

  // ---- Workflow timeout ----------------------------------------------------------------------

  // The workflow proto carries no create time; unless the engine supplies it, the first task's
  // scheduled time stands in (that task is scheduled when the workflow starts).
  int64_t WorkflowStartMs() const {
    if (wf_.last_retried_time() > 0) return wf_.last_retried_time();
    if (options_.workflow_create_time_ms > 0) return options_.workflow_create_time_ms;
    int64_t start = 0;
    for (const Task& t : wf_.tasks()) {
      if (t.scheduled_time() > 0 && (start == 0 || t.scheduled_time() < start)) {
        start = t.scheduled_time();
      }
    }
    return start;
  }

  void CheckWorkflowTimeout() {
    const WorkflowDef& def = wf_.workflow_definition();
    if (def.timeout_seconds() <= 0) return;
    int64_t start = WorkflowStartMs();
    if (start <= 0) return;
    int64_t timeout_ms = def.timeout_seconds() * 1000;
    int64_t elapsed = now_ - start;
    if (elapsed < timeout_ms) return;
    if (def.timeout_policy() != WorkflowDef::TIME_OUT_WF) return;  // ALERT_ONLY only logs
    EndWorkflow(Workflow::TIMED_OUT,
                absl::StrFormat("Workflow timed out after %d seconds. Timeout configured as %d "
                                "seconds. Timeout policy configured to TIME_OUT_WF",
                                elapsed / 1000, def.timeout_seconds()),
                "");
  }

  // ---- One decide pass -----------------------------------------------------------------------

  absl::StatusOr<bool> Pass() {
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
      if (IsSystemType(task->task_type()) && !IsTerminal(task->status())) {
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

  // Appends new tasks (Conductor's dedupAndAddTasks + scheduleTask); true if any was added.
  bool AddTasks(std::vector<Task> tasks) {
    bool added = false;
    for (Task& t : tasks) {
      if (AlreadyInWorkflow(t)) continue;
      t.set_seq(wf_.tasks_size() + 1);
      SetDomain(t);
      Task* stored = wf_.add_tasks();
      *stored = std::move(t);
      MarkChanged(*stored);
      if (!IsSystemType(stored->task_type()) && stored->status() == Task::SCHEDULED) {
        decision_.enqueue_task_ids.push_back(stored->task_id());
      }
      added = true;
    }
    return added;
  }

  // Conductor's dedup: a reference runs once at a time, so a candidate is dropped when an
  // attempt of its reference exists that it does not retry.
  bool AlreadyInWorkflow(const Task& candidate) const {
    for (const Task& t : wf_.tasks()) {
      if (t.reference_task_name() == candidate.reference_task_name() && !t.retried() &&
          t.task_id() != candidate.retried_task_id()) {
        return true;
      }
    }
    return false;
  }

  void SetDomain(Task& t) const {
    if (IsSystemType(t.task_type())) return;
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

  // ---- Timeouts ------------------------------------------------------------------------------

  // When the first attempt of `t` was scheduled: totalTimeoutSeconds spans every attempt,
  // retry delays included.
  int64_t FirstScheduledTime(const Task& t) const {
    const Task* first = &t;
    for (int hops = 0; hops < wf_.tasks_size() && !first->retried_task_id().empty(); ++hops) {
      const Task* previous = nullptr;
      for (const Task& candidate : wf_.tasks()) {
        if (candidate.task_id() == first->retried_task_id()) previous = &candidate;
      }
      if (previous == nullptr) break;
      first = previous;
    }
    return first->scheduled_time();
  }

  void CheckTaskTimeouts(const TaskDef& def, Task& t) {
    if (IsTerminal(t.status())) return;
    bool system = IsSystemType(t.task_type());
    // totalTimeoutSeconds is checked first: with the whole budget spent, per-attempt limits
    // are moot.
    if (def.total_timeout_seconds() > 0) {
      int64_t first = FirstScheduledTime(t);
      int64_t elapsed_s = (now_ - first) / 1000;
      if (first > 0 && elapsed_s >= def.total_timeout_seconds()) {
        ApplyTimeoutPolicy(
            def, t,
            absl::StrFormat("Task %s/%s exceeded total timeout of %d seconds (elapsed %d seconds "
                            "across all attempts including retry delays). Timeout policy: %s",
                            t.task_def_name(), t.task_id(), def.total_timeout_seconds(), elapsed_s,
                            TaskDef::TimeoutPolicy_Name(def.timeout_policy())));
        if (ended_ || IsTerminal(t.status())) return;
      }
    }
    // timeoutSeconds: measured from the start of the attempt (after its start delay).
    if (def.timeout_seconds() > 0 && t.start_time() > 0) {
      int64_t elapsed = now_ - (t.start_time() + t.start_delay_in_seconds() * 1000LL);
      if (elapsed >= def.timeout_seconds() * 1000) {
        ApplyTimeoutPolicy(def, t,
                           absl::StrFormat("Task timed out after %d seconds. Timeout configured "
                                           "as %d seconds. Timeout policy configured to %s",
                                           elapsed / 1000, def.timeout_seconds(),
                                           TaskDef::TimeoutPolicy_Name(def.timeout_policy())));
        if (ended_ || IsTerminal(t.status())) return;
      }
    }
    if (system) return;  // system tasks are never polled and complete asynchronously
    if (def.poll_timeout_seconds() > 0 && t.status() == Task::SCHEDULED) {
      int64_t elapsed = now_ - (t.scheduled_time() + t.start_delay_in_seconds() * 1000LL);
      int64_t limit = def.poll_timeout_seconds() * 1000LL + t.callback_after_seconds() * 1000LL;
      if (elapsed >= limit) {
        ApplyTimeoutPolicy(
            def, t,
            absl::StrFormat("Task poll timed out after %d seconds. Poll timeout configured as %d "
                            "seconds. Timeout policy configured to %s",
                            elapsed / 1000, def.poll_timeout_seconds(),
                            TaskDef::TimeoutPolicy_Name(def.timeout_policy())));
        if (ended_ || IsTerminal(t.status())) return;
      }
    }
    if (t.status() == Task::IN_PROGRESS && def.response_timeout_seconds() != 0) {
      int64_t last_heard = ResponseReference(t);
      int64_t limit = def.response_timeout_seconds() * 1000 + t.callback_after_seconds() * 1000LL;
      if (now_ - last_heard >= limit) {
        t.set_status(Task::TIMED_OUT);
        t.set_end_time(now_);
        t.set_reason_for_incompletion(absl::StrCat(
            "responseTimeout: ", def.response_timeout_seconds(), " exceeded for the taskId: ",
            t.task_id(), " with Task Definition: ", t.task_def_name()));
        MarkChanged(t);
      }
    }
  }

  // The last time the worker was heard from: the engine stamps update_time on poll and on
  // every update; a task it never stamped counts from its start.
  static int64_t ResponseReference(const Task& t) {
    if (t.update_time() > 0) return t.update_time();
    if (t.start_time() > 0) return t.start_time();
    return t.scheduled_time();
  }

  void ApplyTimeoutPolicy(const TaskDef& def, Task& t, const std::string& reason) {
    switch (def.timeout_policy()) {
      case TaskDef::ALERT_ONLY:
        return;
      case TaskDef::TIME_OUT_WF:
        t.set_status(Task::TIMED_OUT);
        t.set_end_time(now_);
        t.set_reason_for_incompletion(reason);
        MarkChanged(t);
        EndWorkflow(Workflow::TIMED_OUT, reason, t.task_id());
        return;
      default:  // RETRY
        t.set_status(Task::TIMED_OUT);
        t.set_end_time(now_);
        t.set_reason_for_incompletion(reason);
        MarkChanged(t);
        return;
    }
  }

  void CollectWakeups() {
    const WorkflowDef& wdef = wf_.workflow_definition();
    if (wdef.timeout_seconds() > 0 && wdef.timeout_policy() == WorkflowDef::TIME_OUT_WF) {
      int64_t start = WorkflowStartMs();
      if (start > 0) AddWake(start + wdef.timeout_seconds() * 1000);
    }
    for (const Task& t : wf_.tasks()) {
      if (t.retried() || IsTerminal(t.status())) continue;
      const WorkflowTask& wt = TaskWorkflowTask(t);
      const TaskDef& def = EffectiveDef(wt);
      bool alert_only = def.timeout_policy() == TaskDef::ALERT_ONLY;
      if (!alert_only && def.total_timeout_seconds() > 0) {
        int64_t first = FirstScheduledTime(t);
        if (first > 0) AddWake(first + def.total_timeout_seconds() * 1000);
      }
      if (!alert_only && def.timeout_seconds() > 0 && t.start_time() > 0) {
        AddWake(t.start_time() + t.start_delay_in_seconds() * 1000LL +
                def.timeout_seconds() * 1000);
      }
      if (t.task_type() == kSubWorkflow && t.status() == Task::SCHEDULED) {
        AddWake(t.scheduled_time() + t.callback_after_seconds() * 1000LL);
      }
      if (IsSystemType(t.task_type())) continue;
      if (!alert_only && def.poll_timeout_seconds() > 0 && t.status() == Task::SCHEDULED) {
        AddWake(t.scheduled_time() + t.start_delay_in_seconds() * 1000LL +
                def.poll_timeout_seconds() * 1000LL + t.callback_after_seconds() * 1000LL);
      }
      if (t.status() == Task::IN_PROGRESS && def.response_timeout_seconds() != 0) {
        AddWake(ResponseReference(t) + def.response_timeout_seconds() * 1000 +
                t.callback_after_seconds() * 1000LL);
      }
    }
  }

  // ---- Retries -------------------------------------------------------------------------------

  // DeciderService.retry for a task that ended unsuccessfully: the next attempt, or nothing
  // when none is due (an optional task then completes with errors; otherwise the workflow has
  // ended, FAILED, TIMED_OUT or TERMINATED after the task's status).
  std::optional<Task> Retry(const TaskDef& def, const WorkflowTask& wt, Task& task) {
    int expected = wt.retry_count() >= 0 ? wt.retry_count() : def.retry_count();
    if (!IsRetriable(task.status()) || IsBuiltIn(task.task_type()) ||
        expected <= task.retry_count()) {
      if (wt.optional()) return std::nullopt;
      Workflow::WorkflowStatus status = Workflow::FAILED;
      if (task.status() == Task::CANCELED) status = Workflow::TERMINATED;
      if (task.status() == Task::TIMED_OUT) status = Workflow::TIMED_OUT;
      EndWorkflow(
          status,
          absl::StrFormat("Task %s failed with status: %s and reason: '%s'", task.task_id(),
                          Workflow::WorkflowStatus_Name(status), task.reason_for_incompletion()),
          task.task_id());
      return std::nullopt;
    }

    // No further attempt once the total budget across attempts is spent.
    if (def.total_timeout_seconds() > 0) {
      int64_t first = FirstScheduledTime(task);
      int64_t elapsed_s = (now_ - first) / 1000;
      if (first > 0 && elapsed_s >= def.total_timeout_seconds()) {
        EndWorkflow(task.status() == Task::TIMED_OUT ? Workflow::TIMED_OUT : Workflow::FAILED,
                    absl::StrFormat("Task %s/%s exceeded total timeout of %d seconds (elapsed %d "
                                    "seconds across all attempts). No further retries will be "
                                    "attempted.",
                                    task.task_id(), task.task_def_name(),
                                    def.total_timeout_seconds(), elapsed_s),
                    task.task_id());
        return std::nullopt;
      }
    }

    int64_t delay = RetryDelaySeconds(def, task.retry_count());
    task.set_retried(true);

    Task next = task;
    next.set_update_time(0);
    next.set_start_time(0);
    next.set_end_time(0);
    next.clear_worker_id();
    next.clear_output_data();
    next.clear_output_message();
    next.mutable_input_data()->erase("subWorkflowId");
    next.set_start_delay_in_seconds(static_cast<int32_t>(delay));
    next.set_callback_after_seconds(delay);
    next.set_retry_count(task.retry_count() + 1);
    next.set_retried(false);
    next.set_executed(false);
    next.set_task_id(new_id_());
    next.set_retried_task_id(task.task_id());
    next.set_status(Task::SCHEDULED);
    next.set_poll_count(0);
    next.clear_sub_workflow_id();
    next.set_seq(0);
    next.set_scheduled_time(now_);
    // Schema version 2 re-resolves the inputs so a retry sees the workflow as it is now.
    Struct fresh = ResolveTaskInput(wt, def);
    for (auto& [k, v] : *fresh.mutable_fields()) (*next.mutable_input_data())[k] = std::move(v);
    return next;
  }

  // ---- Mapping WorkflowTasks to tasks --------------------------------------------------------

  // ParametersUtils.getTaskInputV2: the task definition's inputTemplate supplies keys the
  // inputParameters lack (resolved like them) and values that resolved to null.
  Struct ResolveTaskInput(const WorkflowTask& wt, const TaskDef& def) const {
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

  Task NewTask(const WorkflowTask& wt, int retry_count, const std::string& retried_task_id) {
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

  // DeciderService.getTasksToBeScheduled: the tasks `wt` expands to, minus references that
  // already run or ran.
  // Inside a DO_WHILE (iteration > 0) every task is renamed "<ref>__<iteration>".
  absl::StatusOr<std::vector<Task>> TasksToBeScheduled(const WorkflowTask& wt, int retry_count,
                                                       const std::string& retried_task_id,
                                                       int iteration = 0) {
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

  absl::Status MapTask(const WorkflowTask& wt, int retry_count, const std::string& retried_task_id,
                       std::vector<Task>& out) {
    const std::string type = wt.type().empty() ? std::string(kSimple) : wt.type();
    for (absl::string_view unsupported : kUnsupportedSystemTypes) {
      if (type == unsupported) {
        return absl::InvalidArgumentError(absl::StrCat(
            TaskName(wt), ": task type ", type, " is not supported by the embedded orchestrator"));
      }
    }
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
      if (type == kInline) RETURN_IF_ERROR(ExecuteInline(wt, t));
      if (type == kSetVariable) {
        // SetVariable.execute: the task's input becomes workflow variables.
        for (const auto& [k, v] : t.input_data()) (*wf_.mutable_variables())[k] = v;
        decision_.workflow_changed = true;
      }
      if (t.status() == Task::IN_PROGRESS) t.set_status(Task::COMPLETED);
      t.set_end_time(now_);
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

  // Schedules the first task of the chosen branch (a key that exists but lists no tasks is an
  // empty branch; a missing key falls back to defaultCase).
  absl::Status MapBranch(const WorkflowTask& wt, const std::string& case_value,
                         bool empty_means_default, int retry_count,
                         const std::string& retried_task_id, Task& parent, std::vector<Task>& out) {
    const RepeatedPtrField<WorkflowTask>* selected = nullptr;
    auto it = wt.decision_cases().find(case_value);
    if (it != wt.decision_cases().end()) selected = &it->second.tasks();
    if (selected == nullptr || (empty_means_default && selected->empty())) {
      selected = &wt.default_case();
    }
    std::vector<Task> children;
    if (!selected->empty()) {
      ASSIGN_OR_RETURN(children,
                       TasksToBeScheduled(selected->Get(0), retry_count, retried_task_id));
      (*parent.mutable_input_data())["hasChildren"] = StringValue("true");
    }
    out.push_back(std::move(parent));
    for (Task& c : children) out.push_back(std::move(c));
    return absl::OkStatus();
  }

  absl::Status MapSwitch(const WorkflowTask& wt, int retry_count,
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
    } else if (evaluator == "javascript" || evaluator == "graaljs") {
      Value input_value;
      *input_value.mutable_struct_value() = input;
      absl::StatusOr<ScriptValue> v = EvaluateScript(wt.expression(), input_value);
      if (!v.ok() && v.status().code() == absl::StatusCode::kInvalidArgument) {
        return absl::InvalidArgumentError(
            absl::StrCat(TaskName(wt), ": expression '", wt.expression(),
                         "' cannot be evaluated: ", v.status().message()));
      }
      if (!v.ok()) {
        // A script that fails at run time fails the SWITCH task, as in Conductor.
        t.set_status(Task::FAILED);
        t.set_end_time(now_);
        t.set_reason_for_incompletion(std::string(v.status().message()));
        out.push_back(std::move(t));
        return absl::OkStatus();
      }
      result = ScriptResultString(*v);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(TaskName(wt), ": evaluatorType '", evaluator,
                       "' is not supported (use value-param or javascript)"));
    }
    (*t.mutable_input_data())["case"] = StringValue(result);
    Value evaluation;
    evaluation.mutable_list_value()->add_values()->set_string_value(result);
    (*t.mutable_output_data())["evaluationResult"] = evaluation;
    (*t.mutable_output_data())["selectedCase"] = StringValue(result);
    t.set_status(Task::COMPLETED);
    t.set_end_time(now_);
    return MapBranch(wt, result, /*empty_means_default=*/false, retry_count, retried_task_id, t,
                     out);
  }

  absl::Status MapDecision(const WorkflowTask& wt, int retry_count,
                           const std::string& retried_task_id, std::vector<Task>& out) {
    Struct input = ResolveMap(wt.input_parameters(), wf_);
    std::string result;
    if (!absl::StripAsciiWhitespace(wt.case_expression()).empty()) {
      Value input_value;
      *input_value.mutable_struct_value() = input;
      absl::StatusOr<ScriptValue> v = EvaluateScript(wt.case_expression(), input_value);
      if (!v.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(TaskName(wt), ": caseExpression '", wt.case_expression(),
                         "' cannot be evaluated: ", v.status().message()));
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
    return MapBranch(wt, result, /*empty_means_default=*/true, retry_count, retried_task_id, t,
                     out);
  }

  absl::Status MapFork(const WorkflowTask& wt, int retry_count, std::vector<Task>& out) {
    Task fork = NewTask(wt, retry_count, "");
    fork.set_task_type(std::string(kFork));
    fork.set_task_def_name(std::string(kFork));
    fork.set_start_time(now_);
    fork.set_end_time(now_);
    Struct input = ResolveMap(wt.input_parameters(), wf_);
    fork.mutable_input_data()->insert(input.fields().begin(), input.fields().end());
    fork.set_status(Task::COMPLETED);
    out.push_back(std::move(fork));
    for (const auto& branch : wt.fork_tasks()) {
      if (branch.tasks().empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(TaskName(wt), ": a fork branch has no tasks"));
      }
      ASSIGN_OR_RETURN(std::vector<Task> tasks,
                       TasksToBeScheduled(branch.tasks(0), retry_count, ""));
      for (Task& t : tasks) out.push_back(std::move(t));
    }
    const WorkflowTask* join = NextInDefinition(wt.task_reference_name());
    if (join == nullptr || join->type() != kJoin) {
      return absl::InvalidArgumentError(
          absl::StrCat(TaskName(wt), ": a FORK_JOIN must be followed by a JOIN"));
    }
    ASSIGN_OR_RETURN(std::vector<Task> joins, TasksToBeScheduled(*join, retry_count, ""));
    for (Task& t : joins) out.push_back(std::move(t));
    return absl::OkStatus();
  }

  absl::Status MapSubWorkflow(const WorkflowTask& wt, const Struct& input, Task& t) {
    if (!wt.has_sub_workflow_param()) {
      return absl::InvalidArgumentError(
          absl::StrCat(TaskName(wt), ": subWorkflowParam is required"));
    }
    const auto& params = wt.sub_workflow_param();
    Value name = ResolveValue(StringValue(params.name()), wf_);
    bool inline_def = params.has_workflow_definition() &&
                      params.workflow_definition().kind_case() != Value::kNullValue &&
                      params.workflow_definition().kind_case() != Value::KIND_NOT_SET;
    std::string name_str = JavaString(name);
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
    } else if (params.name().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(TaskName(wt), ": subWorkflowParam.name is required"));
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

  // ---- DO_WHILE ------------------------------------------------------------------------------

  // The reference a task has in the definition: loop body tasks drop their "__<iteration>".
  static std::string BaseRef(const Task& t) {
    const std::string& ref = t.reference_task_name();
    if (t.iteration() <= 0 || t.task_type() == kDoWhile) return ref;
    std::string suffix = absl::StrCat("__", t.iteration());
    return absl::EndsWith(ref, suffix) ? ref.substr(0, ref.size() - suffix.size()) : ref;
  }

  // Whether `ref` is somewhere inside `loop`'s body (WorkflowTask.has).
  bool InLoopBody(const WorkflowTask& loop, const std::string& ref) const {
    const Location* loc = index_.Find(ref);
    while (loc != nullptr && loc->parent != nullptr) {
      if (loc->parent->task_reference_name() == loop.task_reference_name()) return true;
      loc = index_.Find(loc->parent->task_reference_name());
    }
    return false;
  }

  absl::Status MapDoWhile(const WorkflowTask& wt, int retry_count,
                          const std::string& retried_task_id, std::vector<Task>& out) {
    for (const Location* loc = index_.Find(wt.task_reference_name());
         loc != nullptr && loc->parent != nullptr;
         loc = index_.Find(loc->parent->task_reference_name())) {
      if (loc->parent->type() == kDoWhile) {
        return absl::InvalidArgumentError(
            absl::StrCat(TaskName(wt), ": a DO_WHILE inside another DO_WHILE is not supported"));
      }
    }
    if (!wt.items().empty() || wt.input_parameters().contains("_items")) {
      return absl::InvalidArgumentError(absl::StrCat(
          TaskName(wt), ": DO_WHILE list iteration (items) is not supported; use loopCondition"));
    }
    if (wt.loop_over().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(TaskName(wt), ": loopOver has no tasks"));
    }
    // Reject a condition the evaluator cannot parse before anything runs.
    absl::StatusOr<ScriptValue> probe = EvaluateScript(wt.loop_condition(), Value());
    if (!wt.loop_condition().empty() && !probe.ok() &&
        probe.status().code() == absl::StatusCode::kInvalidArgument) {
      return absl::InvalidArgumentError(
          absl::StrCat(TaskName(wt), ": loopCondition '", wt.loop_condition(),
                       "' cannot be evaluated: ", probe.status().message()));
    }
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

  absl::Status ScheduleIteration(int loop_index) {
    const Task& loop = wf_.tasks(loop_index);
    const WorkflowTask& wt = TaskWorkflowTask(loop);
    ASSIGN_OR_RETURN(std::vector<Task> tasks,
                     TasksToBeScheduled(wt.loop_over(0), loop.retry_count(), "", loop.iteration()));
    AddTasks(std::move(tasks));
    return absl::OkStatus();
  }

  // DoWhile.execute: starts iteration 1, waits for the body, records each iteration's outputs,
  // fails with the body, and evaluates loopCondition to go round again or complete.
  absl::StatusOr<bool> EvaluateDoWhile(int loop_index) {
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
      absl::StatusOr<ScriptValue> v = EvaluateScript(wt.loop_condition(), condition_input);
      if (!v.ok() && v.status().code() == absl::StatusCode::kInvalidArgument) {
        return absl::InvalidArgumentError(
            absl::StrCat(TaskName(wt), ": loopCondition '", wt.loop_condition(),
                         "' cannot be evaluated: ", v.status().message()));
      }
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

  // DoWhile.isIterationComplete: every loopOver task of this iteration exists and ended, every
  // body task ended, and no ended body task still has a successor to schedule.
  bool IterationComplete(const Task& loop, const WorkflowTask& wt,
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

  // ---- System task execution -----------------------------------------------------------------

  // Inline.execute: evaluates input.expression with input.evaluatorType (javascript by
  // default) over the task's input; the value lands in output.result.
  absl::Status ExecuteInline(const WorkflowTask& wt, Task& t) {
    auto get = [&](const char* key) -> std::string {
      auto it = t.input_data().find(key);
      return it == t.input_data().end() ? "" : JavaString(it->second);
    };
    std::string evaluator = get("evaluatorType");
    if (evaluator.empty() || evaluator == "null") evaluator = "javascript";
    std::string expression = get("expression");
    Value input;
    input.mutable_struct_value()->mutable_fields()->insert(t.input_data().begin(),
                                                           t.input_data().end());
    Value result;
    if (evaluator == "value-param") {
      auto it = t.input_data().find(expression);
      result = it == t.input_data().end() ? NullValue() : it->second;
    } else if (evaluator == "javascript" || evaluator == "graaljs") {
      absl::StatusOr<ScriptValue> v = EvaluateScript(expression, input);
      if (!v.ok()) {
        t.set_status(Task::FAILED);
        t.set_reason_for_incompletion(std::string(v.status().message()));
        (*t.mutable_output_data())["error"] = StringValue(std::string(v.status().message()));
        return absl::OkStatus();
      }
      result = v->value;
    } else {
      std::string message = absl::StrCat(TaskName(wt), ": evaluatorType '", evaluator,
                                         "' is not supported (use value-param or javascript)");
      t.set_status(Task::FAILED_WITH_TERMINAL_ERROR);
      t.set_reason_for_incompletion(message);
      (*t.mutable_output_data())["error"] = StringValue(message);
      return absl::OkStatus();
    }
    (*t.mutable_output_data())["result"] = result;
    return absl::OkStatus();
  }

  void ExecuteTerminate(Task& t) {
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

  bool StartSubWorkflowIfDue(Task& t) {
    if (now_ < t.scheduled_time() + t.callback_after_seconds() * 1000) return false;
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
      absl::Status parsed = WorkflowDefFromValue(*def, req.mutable_workflow_def());
      if (!parsed.ok()) {
        t.set_status(Task::FAILED);
        t.set_end_time(now_);
        t.set_reason_for_incompletion(absl::StrCat(
            "subWorkflowDefinition is not a valid workflow definition: ", parsed.message()));
        MarkChanged(t);
        return true;
      }
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
      req.mutable_task_to_domain()->insert(wf_.task_to_domain().begin(),
                                           wf_.task_to_domain().end());
    }
    req.set_priority(wf_.priority());
    decision_.start_workflows.push_back(std::move(start));
    t.set_status(Task::IN_PROGRESS);
    t.set_start_time(now_);
    MarkChanged(t);
    return true;
  }

  // Join.execute: completes when every joined reference is terminal, fails as soon as a
  // non-optional joined task failed for good; its output maps each reference to its output.
  bool EvaluateJoin(Task& join) {
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

  // ---- Next tasks and completion -------------------------------------------------------------

  absl::StatusOr<std::vector<Task>> NextTasks(const Task& task) {
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

  bool CheckForWorkflowCompletion() const {
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

  // ---- Ending the workflow -------------------------------------------------------------------

  const Task* SuccessfulTerminateTask() const {
    for (const Task& t : wf_.tasks()) {
      if (t.task_type() == kTerminate && IsTerminal(t.status()) && IsSuccessful(t.status())) {
        return &t;
      }
    }
    return nullptr;
  }

  // DeciderService.updateWorkflowOutput with no task: a TERMINATE's output, else the resolved
  // outputParameters, else the last task's output.
  void UpdateWorkflowOutput() {
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

  void RecordFailedTasks() {
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

  void CancelNonTerminalTasks() {
    for (Task& t : *wf_.mutable_tasks()) {
      if (IsTerminal(t.status())) continue;
      t.set_status(Task::CANCELED);
      t.set_end_time(now_);
      MarkChanged(t);
      decision_.canceled_task_ids.push_back(t.task_id());
    }
  }

  void CompleteWorkflow() {
    UpdateWorkflowOutput();
    wf_.set_status(Workflow::COMPLETED);
    wf_.set_end_time(now_);
    RecordFailedTasks();
    decision_.workflow_changed = true;
    ended_ = true;
  }

  // WorkflowExecutor.endExecution.
  void CompleteExecution() {
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

  // WorkflowExecutor.terminate / terminateWorkflow: the workflow ends with `status`, its
  // in-flight tasks are canceled, and its failureWorkflow (if any) is started.
  void EndWorkflow(Workflow::WorkflowStatus status, const std::string& reason,
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
    std::string json;
    Value failed;
    if (google::protobuf::util::MessageToJsonString(wf_, &json).ok() &&
        google::protobuf::util::JsonStringToMessage(json, failed.mutable_struct_value()).ok()) {
      input["failedWorkflow"] = std::move(failed);
    }
    decision_.start_workflows.push_back(std::move(start));
  }

  Workflow& wf_;
  const TaskDefLookup& task_defs_;
  const IdGenerator& new_id_;
  const int64_t now_;
  const DecideOptions options_;
  const DefinitionIndex index_;
  Decision decision_;
  absl::flat_hash_set<std::string> changed_set_;
  bool ended_ = false;
  mutable absl::flat_hash_map<std::string, int> latest_by_ref_;
  // node_hash_map: EffectiveDef hands out references that must survive later insertions.
  mutable absl::node_hash_map<std::string, TaskDef> ad_hoc_defs_;
  mutable int indexed_tasks_ = 0;
};

}  // namespace

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

absl::StatusOr<Decision> RetryWorkflow(Workflow& workflow, const TaskDefLookup& task_defs,
                                       const IdGenerator& new_id, int64_t now_ms,
                                       const DecideOptions& options) {
  if (!IsWorkflowTerminal(workflow.status())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Workflow is still running.  status=", Workflow::WorkflowStatus_Name(workflow.status())));
  }
  if (workflow.tasks_size() == 0) {
    return absl::FailedPreconditionError("Workflow has not started yet");
  }
  Workflow work = workflow;

  // The last unsuccessful attempt of each reference, unless a later attempt succeeded; a
  // canceled JOIN or DO_WHILE simply resumes.
  absl::flat_hash_map<std::string, int> retriable;
  std::vector<int> resumed;
  for (int i = 0; i < work.tasks_size(); ++i) {
    Task& t = *work.mutable_tasks(i);
    switch (t.status()) {
      case Task::FAILED:
      case Task::FAILED_WITH_TERMINAL_ERROR:
      case Task::TIMED_OUT:
        retriable[t.reference_task_name()] = i;
        break;
      case Task::CANCELED:
        if (t.task_type() == kJoin || t.task_type() == kDoWhile) {
          resumed.push_back(i);
        } else {
          retriable[t.reference_task_name()] = i;
        }
        break;
      default:
        retriable.erase(t.reference_task_name());
        break;
    }
  }
  if (retriable.empty() && work.status() != Workflow::TIMED_OUT) {
    return absl::FailedPreconditionError(
        "There are no retryable tasks! Use restart if you want to attempt entire workflow "
        "execution again.");
  }

  Decision prep;
  auto touched = [&](const Task& t) { prep.changed_task_ids.push_back(t.task_id()); };
  for (int i : resumed) {
    Task& t = *work.mutable_tasks(i);
    t.set_status(Task::IN_PROGRESS);
    t.set_end_time(0);
    touched(t);
  }
  std::vector<int> order;
  for (const auto& [ref, i] : retriable) order.push_back(i);
  std::sort(order.begin(), order.end(),
            [&](int a, int b) { return work.tasks(a).seq() < work.tasks(b).seq(); });
  work.set_status(Workflow::RUNNING);
  work.set_last_retried_time(now_ms);
  work.clear_reason_for_incompletion();
  work.set_end_time(0);
  for (int i : order) {
    Task& t = *work.mutable_tasks(i);
    // Containers and joins are retried in place: a JOIN is only ever evaluated IN_PROGRESS.
    if (t.task_type() == kDoWhile || t.task_type() == kJoin) {
      t.set_retried(false);
      t.set_retry_count(t.retry_count() + 1);
      t.set_status(Task::IN_PROGRESS);
      t.set_end_time(0);
      touched(t);
      continue;
    }
    Task next = t;
    next.set_task_id(new_id());
    next.set_retried_task_id(t.task_id());
    next.set_status(Task::SCHEDULED);
    next.set_retry_count(t.retry_count() + 1);
    next.set_retried(false);
    next.set_executed(false);
    next.set_poll_count(0);
    next.set_callback_after_seconds(0);
    next.set_start_delay_in_seconds(0);
    next.clear_sub_workflow_id();
    next.set_scheduled_time(now_ms);
    next.set_start_time(0);
    next.set_end_time(0);
    next.set_update_time(0);
    next.clear_worker_id();
    next.clear_reason_for_incompletion();
    next.clear_output_data();
    next.clear_output_message();
    next.mutable_input_data()->erase("subWorkflowId");
    if (next.has_workflow_task()) {
      Struct fresh = ResolveMap(next.workflow_task().input_parameters(), work);
      for (auto& [k, v] : *fresh.mutable_fields()) (*next.mutable_input_data())[k] = v;
    }
    next.set_seq(work.tasks_size() + 1);
    t.set_retried(true);
    t.set_executed(true);
    touched(t);
    Task* stored = work.add_tasks();
    *stored = std::move(next);
    touched(*stored);
    if (!IsSystemType(stored->task_type())) prep.enqueue_task_ids.push_back(stored->task_id());
  }

  Decider decider(work, task_defs, new_id, now_ms, options);
  ASSIGN_OR_RETURN(Decision decision, decider.Run());
  workflow.Swap(&work);
  absl::flat_hash_set<std::string> seen(prep.changed_task_ids.begin(), prep.changed_task_ids.end());
  for (std::string& id : decision.changed_task_ids) {
    if (seen.insert(id).second) prep.changed_task_ids.push_back(std::move(id));
  }
  for (std::string& id : decision.enqueue_task_ids) prep.enqueue_task_ids.push_back(std::move(id));
  absl::flat_hash_set<std::string> canceled(decision.canceled_task_ids.begin(),
                                            decision.canceled_task_ids.end());
  auto& q = prep.enqueue_task_ids;
  q.erase(std::remove_if(q.begin(), q.end(),
                         [&](const std::string& id) { return canceled.contains(id); }),
          q.end());
  prep.start_workflows = std::move(decision.start_workflows);
  prep.canceled_task_ids = std::move(decision.canceled_task_ids);
  prep.workflow_changed = true;
  prep.next_wake_ms = decision.next_wake_ms;
  return prep;
}

Value ResolveExpressions(const Value& template_value, const Workflow& workflow) {
  return ResolveValue(template_value, workflow);
}

int64_t RetryDelaySeconds(const TaskDef& def, int retry_count) {
  int32_t delay = def.retry_delay_seconds();
  switch (def.retry_logic()) {
    case TaskDef::LINEAR_BACKOFF:
      delay = JavaIntMultiply(
          JavaIntMultiply(def.retry_delay_seconds(), def.backoff_scale_factor()), retry_count + 1);
      if (delay < 0) delay = INT32_MAX;
      break;
    case TaskDef::EXPONENTIAL_BACKOFF:
      delay =
          JavaIntMultiply(def.retry_delay_seconds(), JavaDoubleToInt(std::pow(2.0, retry_count)));
      if (delay < 0) delay = INT32_MAX;
      break;
    default:
      break;
  }
  int32_t cap = def.max_retry_delay_seconds();
  if (cap > 0 && delay > cap) delay = cap;
  return delay;
}

}  // namespace cmig::orchestrator
