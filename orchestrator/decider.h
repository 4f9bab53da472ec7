// The decider: Conductor's workflow semantics as a pure function.
//
// Given a running workflow (its definition snapshot in
// `workflow.workflow_definition()` and every task attempt so far in
// `workflow.tasks()`), the decider advances it as far as it can at `now_ms`:
// schedules the next tasks, completes system tasks that need no worker
// (SWITCH, DECISION, FORK_JOIN, JOIN, TERMINATE, DO_WHILE, INLINE, SET_VARIABLE,
// NOOP), creates retry attempts of failed or timed-out tasks with the task
// definition's retry policy, times out tasks whose responseTimeoutSeconds /
// timeoutSeconds / pollTimeoutSeconds / totalTimeoutSeconds passed, and
// completes, fails or times out the workflow itself (cancelling its in-flight
// tasks and starting its failureWorkflow).
//
// It does no I/O and reads no clock: the engine persists what changed, puts
// newly scheduled worker tasks on their queues, starts the workflows listed in
// `start_workflows`, and calls Decide again at `next_wake_ms` or when anything
// about the workflow changes (a task result, a sub-workflow's end, a retry).
// Deciding again with nothing changed changes nothing.
//
// What the engine must keep up for the decider (Conductor does the same):
// - task.update_time on every poll and update: responseTimeoutSeconds counts
//   from it (plus callback_after_seconds), falling back to start_time;
// - task.start_time when a worker polls the task (timeoutSeconds counts from it);
// - the SUB_WORKFLOW task's status and output when the child ends
//   (COMPLETED -> COMPLETED, FAILED -> FAILED, TIMED_OUT -> TIMED_OUT,
//   TERMINATED -> CANCELED), and its sub_workflow_id once started.
//
// Task policies: retryCount / retryLogic / retryDelaySeconds / backoffScaleFactor
// / maxRetryDelaySeconds (see RetryDelaySeconds), timeoutSeconds with
// timeoutPolicy, responseTimeoutSeconds, pollTimeoutSeconds and
// totalTimeoutSeconds (across all attempts); backoffJitterMs is not applied
// (deciding stays deterministic), nor are rate limits.
//
// Semantics follow conductor-oss's DeciderService, WorkflowExecutor and the
// task mappers: SIMPLE tasks are queued under their name, any type that is not
// a Conductor system type is a worker task queued under its type; the task
// definition is WorkflowTask.task_definition, else the registered one, else
// Conductor's ad-hoc defaults (SIMPLE: 3 retries 60 s apart, 3600 s response
// timeout; other types: no retries). WorkflowTask.retry_count overrides the
// definition's unless it is -1 (the proto's "unset"; 0 means no retries, as on
// Conductor's gRPC API). Expressions are always resolved as schema version 2.
// Every Decide first checks the whole definition tree, taken branches or not:
// Conductor system types without an executor here (HTTP, WAIT,
// FORK_JOIN_DYNAMIC, ...), scripts outside the supported JavaScript subset
// (see script.h) in SWITCH / DECISION / DO_WHILE / literal INLINE
// expressions, unknown evaluator types, a FORK_JOIN not followed by a JOIN,
// a SUB_WORKFLOW without a name or definition, DO_WHILE list iteration
// (items) and nested DO_WHILE loops make Decide return InvalidArgument naming
// the task, before anything changes. Problems only known at run time (a
// script that fails, an INLINE expression resolved from data, an inline
// sub-workflow definition that is not one) fail the task, as in Conductor.
//
// Thread safety: none needed; the engine serialises calls per workflow.
#ifndef CMIG_ORCHESTRATOR_DECIDER_H_
#define CMIG_ORCHESTRATOR_DECIDER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "conductor/model/startworkflowrequest.pb.h"
#include "conductor/model/taskdef.pb.h"
#include "conductor/model/workflow.pb.h"
#include "orchestrator/script.h"

namespace cmig::orchestrator {

// Resolves a task definition by name; nullptr when none is registered (Conductor
// then uses the defaults of an empty TaskDef for SIMPLE tasks).
using TaskDefLookup = std::function<const conductor::proto::TaskDef*(const std::string& name)>;

// Supplies unique task ids (the engine uses random UUIDs; tests use counters).
using IdGenerator = std::function<std::string()>;

// A workflow the engine must start on the decider's behalf.
struct WorkflowStart {
  enum class Kind { kSubWorkflow, kFailureWorkflow };
  Kind kind;
  // For kSubWorkflow: the SUB_WORKFLOW task that waits for the child; the engine
  // writes the child's id into that task's sub_workflow_id and, when the child
  // ends, sets the task's status and output from it and decides the parent again.
  std::string parent_task_id;
  // name, version (0 = latest), input, correlation id, taskToDomain, and for an
  // inline sub-workflow the definition itself in workflow_def. For
  // kFailureWorkflow the input is Conductor's: the failed workflow's input plus
  // workflowId, reason, failureStatus, failureTaskId (when a task caused it) and
  // failedWorkflow (the workflow as JSON); Conductor then records the started
  // id in the failed workflow's output under "conductor.failure_workflow".
  conductor::proto::StartWorkflowRequest request;
};

struct Decision {
  // Ids of tasks that were added to workflow.tasks() or whose fields changed.
  std::vector<std::string> changed_task_ids;
  // Ids of worker tasks (SIMPLE and other non-system types) now SCHEDULED that
  // the engine must put on the queue "domain:taskType" (or "taskType"); a task is
  // visible to pollers from scheduled_time + callback_after_seconds * 1000.
  std::vector<std::string> enqueue_task_ids;
  std::vector<WorkflowStart> start_workflows;
  // Ids of tasks this decision moved to CANCELED because the workflow ended: the engine removes
  // them from their queues and terminates the child of a canceled SUB_WORKFLOW task.
  std::vector<std::string> canceled_task_ids;
  // True when workflow-level fields (status, output, reason, end time) changed.
  bool workflow_changed = false;
  // The earliest time the decider must run again even if nothing else happens
  // (a response timeout, a delayed sub-workflow start, a workflow timeout);
  // nullopt if none. now_ms + 1 when the decision stopped early to bound its
  // cost (a DO_WHILE whose body has no worker task loops without waiting).
  std::optional<int64_t> next_wake_ms;
};

// Advances `workflow` in place. A PAUSED workflow is only checked for its
// timeout; an ended one is left as it is, except that an unsuccessful one gets
// its remaining tasks canceled (WorkflowExecutor.decide). Errors are definition
// problems that make the workflow impossible to run (for example a SWITCH whose
// expression the evaluator does not support); they are found before `workflow`
// changes, and the engine then fails it with the status message as
// reason_for_incompletion.
absl::StatusOr<Decision> Decide(conductor::proto::Workflow& workflow,
                                const TaskDefLookup& task_defs, const IdGenerator& new_id,
                                int64_t now_ms);

// What the engine knows about a workflow that its proto does not carry.
struct DecideOptions {
  // When the workflow was created (Conductor's createTime), the base of the workflow's
  // timeoutSeconds unless last_retried_time is later; 0 = unknown, and the decider then uses
  // the scheduled time of the workflow's first task.
  int64_t workflow_create_time_ms = 0;
  // When true, an INLINE task whose evaluator runs a script (javascript, graaljs) is scheduled
  // IN_PROGRESS and left so: the engine runs RunInlineTask on a copy outside its lock and reports
  // the outcome as a worker's result. When false, the script runs within Decide.
  bool defer_inline_scripts = false;
  // How long one script (INLINE, SWITCH, DECISION, DO_WHILE) may run before it fails.
  absl::Duration script_time_limit = kScriptTimeLimit;
};

// As above, with the engine's extra knowledge.
absl::StatusOr<Decision> Decide(conductor::proto::Workflow& workflow,
                                const TaskDefLookup& task_defs, const IdGenerator& new_id,
                                int64_t now_ms, const DecideOptions& options);

// WorkflowExecutor.retry for a FAILED / TIMED_OUT / TERMINATED workflow: each
// reference whose last attempt FAILED, FAILED_WITH_TERMINAL_ERROR, TIMED_OUT or
// was CANCELED gets a new attempt (new id, retry_count + 1, inputs re-resolved,
// the old attempt marked retried), canceled or failed JOIN and DO_WHILE tasks
// resume in place, and the workflow is RUNNING again with last_retried_time =
// now_ms; then it is decided as by Decide. The returned Decision covers both
// steps (the new worker tasks are in enqueue_task_ids). Resuming a failed
// sub-workflow in place (resumeSubworkflowTasks) is the engine's business.
// Errors: FailedPrecondition when the workflow is still running, never started,
// or has nothing to retry (Conductor's messages); InvalidArgument as Decide.
// On error `workflow` is unchanged.
absl::StatusOr<Decision> RetryWorkflow(conductor::proto::Workflow& workflow,
                                       const TaskDefLookup& task_defs, const IdGenerator& new_id,
                                       int64_t now_ms, const DecideOptions& options = {});

// Inline.execute on `task`, an INLINE task with its input resolved: evaluates input.expression
// with input.evaluatorType (javascript by default; value-param reads the input named by the
// expression) and sets the status (COMPLETED; FAILED when the script fails or passes a bound;
// FAILED_WITH_TERMINAL_ERROR for an unknown evaluator), output.result or output.error, and the
// reason. Times are the caller's to set. Thread-compatible: touches nothing but `task`.
void RunInlineTask(conductor::proto::Task& task, absl::Duration time_limit = kScriptTimeLimit);

// True when `task`'s evaluatorType runs a script (javascript, graaljs, or none given).
bool InlineRunsScript(const conductor::proto::Task& task);

// Resolves Conductor input expressions ("${workflow.input.a.b}", "${ref.output.x}",
// "${workflow.workflowId}", nested in maps and lists) against `workflow`. Exposed
// for the engine, which evaluates workflow outputParameters the same way.
google::protobuf::Value ResolveExpressions(const google::protobuf::Value& template_value,
                                           const conductor::proto::Workflow& workflow);

// The delay in seconds before the retry of attempt `retry_count` (0 = the first
// attempt failed) of a task with definition `def`: FIXED retryDelaySeconds;
// LINEAR_BACKOFF retryDelaySeconds * backoffScaleFactor * (retry_count + 1);
// EXPONENTIAL_BACKOFF retryDelaySeconds * 2^retry_count; computed in Java ints
// as Conductor does (a product that overflows negative becomes INT32_MAX), then
// capped at maxRetryDelaySeconds when that is positive.
int64_t RetryDelaySeconds(const conductor::proto::TaskDef& def, int retry_count);

}  // namespace cmig::orchestrator

#endif  // CMIG_ORCHESTRATOR_DECIDER_H_
