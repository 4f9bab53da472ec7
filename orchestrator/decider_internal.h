// The decider's implementation, shared by the files it is split into (decider.cc,
// definition_checks.cc, task_mappers.cc, system_tasks.cc, task_policies.cc, workflow_retry.cc).
// Private to the decider: nothing outside those files includes this header.
//
// One Decider advances one workflow at one instant (now_ms) and is then thrown away; it mutates
// the Workflow it was given in place and collects what the engine must do in a Decision.
// Thread safety: none; a Decider is used by one thread for one call.
#ifndef CMIG_ORCHESTRATOR_DECIDER_INTERNAL_H_
#define CMIG_ORCHESTRATOR_DECIDER_INTERNAL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "orchestrator/clock.h"
#include "orchestrator/decider.h"

namespace cmig::orchestrator::decider_internal {

using conductor::proto::StartWorkflowRequest;
using conductor::proto::Task;
using conductor::proto::TaskDef;
using conductor::proto::Workflow;
using conductor::proto::WorkflowDef;
using conductor::proto::WorkflowTask;
using google::protobuf::RepeatedPtrField;
using google::protobuf::Struct;
using google::protobuf::Value;

inline constexpr absl::string_view kSimple = "SIMPLE";
inline constexpr absl::string_view kSwitch = "SWITCH";
inline constexpr absl::string_view kDecision = "DECISION";
inline constexpr absl::string_view kForkJoin = "FORK_JOIN";
inline constexpr absl::string_view kFork = "FORK";  // the task type a FORK_JOIN becomes at runtime
inline constexpr absl::string_view kJoin = "JOIN";
inline constexpr absl::string_view kSubWorkflow = "SUB_WORKFLOW";
inline constexpr absl::string_view kTerminate = "TERMINATE";
inline constexpr absl::string_view kDoWhile = "DO_WHILE";
inline constexpr absl::string_view kInline = "INLINE";
inline constexpr absl::string_view kSetVariable = "SET_VARIABLE";
inline constexpr absl::string_view kNoop = "NOOP";

inline bool IsTerminal(Task::Status s) { return s != Task::IN_PROGRESS && s != Task::SCHEDULED; }

inline bool IsSuccessful(Task::Status s) {
  return s != Task::CANCELED && s != Task::FAILED && s != Task::FAILED_WITH_TERMINAL_ERROR &&
         s != Task::TIMED_OUT;
}

inline bool IsRetriable(Task::Status s) {
  return s != Task::CANCELED && s != Task::FAILED_WITH_TERMINAL_ERROR && s != Task::SKIPPED;
}

inline bool IsWorkflowTerminal(Workflow::WorkflowStatus s) {
  return s != Workflow::RUNNING && s != Workflow::PAUSED;
}

// "SWITCH task 'ref'": how every message names a task of the definition.
inline std::string TaskName(const WorkflowTask& wt) {
  return absl::StrCat(wt.type().empty() ? std::string(kSimple) : wt.type(), " task '",
                      wt.task_reference_name(), "'");
}

// The messages of definition problems, written in one place (definition_checks.cc) whether the
// problem is found by the definition check or only when a value resolved at run time.
absl::Status UnsupportedEvaluatorError(const WorkflowTask& wt, absl::string_view evaluator);
absl::Status ScriptError(const WorkflowTask& wt, absl::string_view field,
                         absl::string_view expression, absl::string_view message);
// The checks of a SUB_WORKFLOW's subWorkflowParam: present, and naming a workflow unless it
// carries an inline definition.
absl::Status CheckSubWorkflowParam(const WorkflowTask& wt, bool has_inline_definition);

// Where a WorkflowTask sits in the definition tree.
struct Location {
  const WorkflowTask* task = nullptr;
  const RepeatedPtrField<WorkflowTask>* siblings = nullptr;
  int index = 0;
  const WorkflowTask* parent = nullptr;  // SWITCH/DECISION/FORK_JOIN/DO_WHILE, or null
};

// Every WorkflowTask of a definition by reference name. Borrows the definition, which must
// outlive it.
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

// Borrows everything it is given for the duration of one Run().
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

  // Advances the workflow as Decide (decider.h) describes. Call once per Decider.
  absl::StatusOr<Decision> Run();

 private:
  // ---- decider.cc: the decide loop, bookkeeping, what comes next, ending the workflow.

  Decision Finish();

  // The definition Conductor would have attached to the WorkflowTask when the workflow started:
  // the embedded one, else the registered one, else an ad-hoc TaskDef with Java's defaults
  // (retries and response timeout disabled for anything but SIMPLE).
  const TaskDef& EffectiveDef(const WorkflowTask& wt) const;

  const WorkflowTask& TaskWorkflowTask(const Task& t) const;

  void MarkChanged(const Task& t);

  void AddWake(int64_t at);

  // Index of the latest task with reference `ref`, or -1. References never change once a task
  // is in the workflow and tasks are only appended, so the map is extended, never rebuilt.
  int LatestIndex(absl::string_view ref) const;

  bool IsSkipped(const WorkflowTask* wt) const;

  // WorkflowDef.getNextTask: the next sibling, else the next task after the enclosing
  // SWITCH/DECISION/FORK_JOIN (a fork branch's end leads to the JOIN after the fork), or the
  // enclosing DO_WHILE itself when the loop body ends; nothing after a TERMINATE.
  const WorkflowTask* NextInDefinition(absl::string_view ref) const;

  const WorkflowTask* NextUnskipped(absl::string_view ref) const;

  absl::StatusOr<bool> Pass();

  // Appends new tasks (Conductor's dedupAndAddTasks + scheduleTask); true if any was added.
  bool AddTasks(std::vector<Task> tasks);

  // Conductor's dedup: a reference runs once at a time, so a candidate is dropped when an
  // attempt of its reference exists that it does not retry.
  bool AlreadyInWorkflow(const Task& candidate) const;

  void SetDomain(Task& t) const;

  // The reference a task has in the definition: loop body tasks drop their "__<iteration>".
  static std::string BaseRef(const Task& t);

  // Whether `ref` is somewhere inside `loop`'s body (WorkflowTask.has).
  bool InLoopBody(const WorkflowTask& loop, const std::string& ref) const;

  absl::StatusOr<std::vector<Task>> NextTasks(const Task& task);

  bool CheckForWorkflowCompletion() const;

  const Task* SuccessfulTerminateTask() const;

  // DeciderService.updateWorkflowOutput with no task: a TERMINATE's output, else the resolved
  // outputParameters, else the last task's output.
  void UpdateWorkflowOutput();

  void RecordFailedTasks();

  void CancelNonTerminalTasks();

  void CompleteWorkflow();

  // WorkflowExecutor.endExecution.
  void CompleteExecution();

  // WorkflowExecutor.terminate / terminateWorkflow: the workflow ends with `status`, its
  // in-flight tasks are canceled, and its failureWorkflow (if any) is started.
  void EndWorkflow(Workflow::WorkflowStatus status, const std::string& reason,
                   const std::string& failed_task_id);

  // ---- definition_checks.cc: everything a definition can get wrong, checked before anything
  // changes.

  // The JOIN a FORK_JOIN must be followed by; InvalidArgument naming the fork otherwise.
  absl::StatusOr<const WorkflowTask*> JoinAfterFork(const WorkflowTask& fork) const;

  // Everything a definition can get wrong for this decider, anywhere in the tree (a branch not
  // taken today may be taken tomorrow).
  absl::Status ValidateTasks(const RepeatedPtrField<WorkflowTask>& tasks, bool in_loop) const;

  // ---- task_policies.cc: the workflow timeout, task timeouts and task retries.

  // The workflow proto carries no create time; unless the engine supplies it, the first task's
  // scheduled time stands in (that task is scheduled when the workflow starts).
  int64_t WorkflowStartMs() const;

  void CheckWorkflowTimeout();

  // When the first attempt of `t` was scheduled: totalTimeoutSeconds spans every attempt,
  // retry delays included.
  int64_t FirstScheduledTime(const Task& t) const;

  void CheckTaskTimeouts(const TaskDef& def, Task& t);

  // The last time the worker was heard from: the engine stamps update_time on poll and on
  // every update; a task it never stamped counts from its start.
  static int64_t ResponseReference(const Task& t);

  void ApplyTimeoutPolicy(const TaskDef& def, Task& t, const std::string& reason);

  void CollectWakeups();

  // DeciderService.retry for a task that ended unsuccessfully: the next attempt, or nothing
  // when none is due (an optional task then completes with errors; otherwise the workflow has
  // ended, FAILED, TIMED_OUT or TERMINATED after the task's status).
  std::optional<Task> Retry(const TaskDef& def, const WorkflowTask& wt, Task& task);

  // ---- task_mappers.cc: WorkflowTasks mapped to the tasks they schedule.

  // ParametersUtils.getTaskInputV2: the task definition's inputTemplate supplies keys the
  // inputParameters lack (resolved like them) and values that resolved to null.
  Struct ResolveTaskInput(const WorkflowTask& wt, const TaskDef& def) const;

  Task NewTask(const WorkflowTask& wt, int retry_count, const std::string& retried_task_id);

  // DeciderService.getTasksToBeScheduled: the tasks `wt` expands to, minus references that
  // already run or ran.
  // Inside a DO_WHILE (iteration > 0) every task is renamed "<ref>__<iteration>".
  absl::StatusOr<std::vector<Task>> TasksToBeScheduled(const WorkflowTask& wt, int retry_count,
                                                       const std::string& retried_task_id,
                                                       int iteration = 0);

  absl::Status MapTask(const WorkflowTask& wt, int retry_count, const std::string& retried_task_id,
                       std::vector<Task>& out);

  // Schedules the first task of the chosen branch (a key that exists but lists no tasks is an
  // empty branch; a missing key falls back to defaultCase).
  absl::Status MapBranch(const WorkflowTask& wt, const std::string& case_value,
                         bool empty_means_default, int retry_count,
                         const std::string& retried_task_id, Task& parent, std::vector<Task>& out);

  absl::Status MapSwitch(const WorkflowTask& wt, int retry_count,
                         const std::string& retried_task_id, std::vector<Task>& out);

  absl::Status MapDecision(const WorkflowTask& wt, int retry_count,
                           const std::string& retried_task_id, std::vector<Task>& out);

  absl::Status MapFork(const WorkflowTask& wt, int retry_count, std::vector<Task>& out);

  absl::Status MapSubWorkflow(const WorkflowTask& wt, const Struct& input, Task& t);

  absl::Status MapDoWhile(const WorkflowTask& wt, int retry_count,
                          const std::string& retried_task_id, std::vector<Task>& out);

  // ---- system_tasks.cc: the system tasks the decider executes (JOIN, DO_WHILE, INLINE, TERMINATE,
  // SUB_WORKFLOW starts).

  absl::Status ScheduleIteration(int loop_index);

  // DoWhile.execute: starts iteration 1, waits for the body, records each iteration's outputs,
  // fails with the body, and evaluates loopCondition to go round again or complete.
  absl::StatusOr<bool> EvaluateDoWhile(int loop_index);

  // DoWhile.isIterationComplete: every loopOver task of this iteration exists and ended, every
  // body task ended, and no ended body task still has a successor to schedule.
  bool IterationComplete(const Task& loop, const WorkflowTask& wt,
                         const std::vector<const Task*>& relevant) const;

  // Inline.execute (RunInlineTask); false, with nothing done, when the engine evaluates the
  // script itself (DecideOptions.defer_inline_scripts): the task then stays IN_PROGRESS.
  bool ExecuteInline(Task& t);

  void ExecuteTerminate(Task& t);

  bool StartSubWorkflowIfDue(Task& t);

  // Join.execute: completes when every joined reference is terminal, fails as soon as a
  // non-optional joined task failed for good; its output maps each reference to its output.
  bool EvaluateJoin(Task& join);
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

}  // namespace cmig::orchestrator::decider_internal

#endif  // CMIG_ORCHESTRATOR_DECIDER_INTERNAL_H_
