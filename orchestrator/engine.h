// The orchestrator's state machine: definitions, running workflows, task
// queues, parked long polls and timers, kept in memory with SQLite (Store) as
// the authoritative copy.
//
// Every change to a workflow goes through the decider (decider.h) under one
// engine mutex, so decisions for a workflow are serialised. The changes of one
// call are one WriteBatch, handed to the store in the order they were made;
// callers are answered only after their batch (and so every earlier one)
// committed. Newly scheduled tasks reach pollers as soon as their batch is
// handed to the store, and a poll's own write (SCHEDULED -> IN_PROGRESS) is not
// awaited: a crash can at worst deliver a task again or drop a scheduling that
// the restarted engine decides again, never lose or repeat an accepted result.
//
// Asynchronous methods take a callback that runs exactly once, on the calling
// thread, the timer thread or the committer thread, never while the engine
// mutex is held. No method blocks on
// I/O except the synchronous reads of finished workflows, tasks and logs.
#ifndef CMIG_ORCHESTRATOR_ENGINE_H_
#define CMIG_ORCHESTRATOR_ENGINE_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "conductor/model/eventhandler.pb.h"
#include "conductor/model/rerunworkflowrequest.pb.h"
#include "conductor/model/startworkflowrequest.pb.h"
#include "conductor/model/task.pb.h"
#include "conductor/model/taskdef.pb.h"
#include "conductor/model/taskexeclog.pb.h"
#include "conductor/model/taskresult.pb.h"
#include "conductor/model/workflow.pb.h"
#include "conductor/model/workflowdef.pb.h"
#include "orchestrator/clock.h"
#include "orchestrator/decider.h"
#include "orchestrator/store.h"

namespace cmig::orchestrator {

// Bounds the engine applies to what definitions make it do.
struct EngineLimits {
  // The most workflows one chain of sub-workflows and failure workflows may hold: a workflow
  // that would start deeper fails instead (its SUB_WORKFLOW task fails; a failure workflow is
  // not started). Stops a workflow that starts itself from starting copies without end.
  int max_workflow_chain_depth = 100;
  // Conductor's maxTaskOutputPayloadSizeThreshold and maxWorkflowInputPayloadSizeThreshold
  // (10240 KB each): a task result whose output is larger fails the task terminally; a start
  // request whose input is larger is refused.
  int64_t max_task_output_bytes = int64_t{10240} << 10;
  int64_t max_workflow_input_bytes = int64_t{10240} << 10;
  // How long one INLINE, SWITCH or DO_WHILE script may run before it fails (script.h).
  absl::Duration script_time_limit = kScriptTimeLimit;
};

// A random RFC 4122 version-4 id, the form of every workflow and task id. Thread-safe.
std::string NewUuid();

class Engine {
 public:
  // How the script thread runs an INLINE task's script: RunInlineTask under
  // EngineLimits.script_time_limit when empty. Tests block in one to watch the engine serve other
  // calls while a script runs.
  using InlineRunner = std::function<void(conductor::proto::Task&)>;
  using Done = std::function<void(absl::Status)>;
  using PollCallback = std::function<void(std::vector<conductor::proto::Task>)>;

  // Loads the state in `store`, re-queues what was queued, decides every running
  // workflow once (which re-arms its timers) and starts the timer thread.
  // `store` and `clock` must outlive the engine. With a clock other than the
  // system clock, timers re-read it at least every 10 ms.
  static absl::StatusOr<std::unique_ptr<Engine>> Create(Store& store, const Clock& clock,
                                                        bool system_clock, EngineLimits limits = {},
                                                        InlineRunner inline_runner = nullptr);
  ~Engine();  // Shutdown(), then waits for the batches it queued in the store to commit
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Stops timers and the script thread and answers every parked poll with no tasks. Idempotent.
  void Shutdown();

  // --- Definitions (Conductor's MetadataService semantics) ---
  // A definition's `extra` is the JSON text of its keys the message cannot carry (as REST
  // received them, definitions/json_overlay.h), kept and returned with it; empty = none. Writing
  // a definition without one drops what an earlier write kept.
  //
  // ALREADY_EXISTS when that name and version exist; INVALID_ARGUMENT when malformed.
  void CreateWorkflowDef(conductor::proto::WorkflowDef def, Done done, std::string extra = {});
  // Creates or replaces each definition; `extras` is empty or one per definition.
  void UpdateWorkflowDefs(std::vector<conductor::proto::WorkflowDef> defs, Done done,
                          std::vector<std::string> extras = {});
  // version 0 = the highest version. NOT_FOUND when absent.
  absl::StatusOr<conductor::proto::WorkflowDef> GetWorkflowDef(const std::string& name,
                                                               int version) const;
  static absl::Status ValidateWorkflowDef(const conductor::proto::WorkflowDef& def);
  // Creates or replaces each definition; `extras` is empty or one per definition.
  void CreateTaskDefs(std::vector<conductor::proto::TaskDef> defs, Done done,
                      std::vector<std::string> extras = {});
  // NOT_FOUND when no definition has that name.
  void UpdateTaskDef(conductor::proto::TaskDef def, Done done, std::string extra = {});
  // The extra keys kept with a definition; empty when none (or no such definition).
  std::string WorkflowDefExtra(const std::string& name, int version) const;
  std::string TaskDefExtra(const std::string& name) const;
  void DeleteTaskDef(const std::string& name, Done done);
  // NOT_FOUND when there is no such (name, version). Running workflows keep
  // the definition they started with.
  void DeleteWorkflowDef(const std::string& name, int version, Done done);
  absl::StatusOr<conductor::proto::TaskDef> GetTaskDef(const std::string& name) const;
  std::vector<conductor::proto::WorkflowDef> ListWorkflowDefs(const std::string& name,
                                                              bool all_versions) const;
  std::vector<conductor::proto::TaskDef> ListTaskDefs() const;
  // The same lists a page at a time: the definitions after `after` ((name, version) / name;
  // nullopt = from the first) in the same order, as many as fit in `max_bytes` (at least one);
  // `more` when others follow.
  struct WorkflowDefPage {
    std::vector<conductor::proto::WorkflowDef> defs;
    bool more = false;
  };
  WorkflowDefPage ListWorkflowDefsPage(const std::string& name, bool all_versions,
                                       const std::optional<std::pair<std::string, int>>& after,
                                       int64_t max_bytes) const;
  struct TaskDefPage {
    std::vector<conductor::proto::TaskDef> defs;
    bool more = false;
  };
  TaskDefPage ListTaskDefsPage(const std::optional<std::string>& after, int64_t max_bytes) const;

  // --- Event handlers (Conductor's EventService semantics; `extra` as for definitions) ---
  // ALREADY_EXISTS for a name in use; INVALID_ARGUMENT without name, event or actions.
  void AddEventHandler(conductor::proto::EventHandler handler, Done done, std::string extra = {});
  // NOT_FOUND when no handler has that name.
  void UpdateEventHandler(conductor::proto::EventHandler handler, Done done,
                          std::string extra = {});
  void RemoveEventHandler(const std::string& name, Done done);
  // By name.
  std::vector<conductor::proto::EventHandler> ListEventHandlers() const;
  std::vector<conductor::proto::EventHandler> EventHandlersForEvent(const std::string& event,
                                                                    bool active_only) const;
  std::string EventHandlerExtra(const std::string& name) const;

  // --- Workflows ---
  // NOT_FOUND for an unknown definition (unless the request carries one).
  // With `workflow_id`, the workflow gets that id, and when a workflow of that id exists the
  // start answers its id and starts nothing: a start that can be repeated (the scheduler's).
  void StartWorkflow(conductor::proto::StartWorkflowRequest request,
                     std::function<void(absl::StatusOr<std::string>)> done,
                     std::string workflow_id = {});
  // `start_time` (optional) receives the workflow's start time, which its message lacks.
  absl::StatusOr<conductor::proto::Workflow> GetWorkflow(const std::string& workflow_id,
                                                         bool include_tasks,
                                                         int64_t* start_time = nullptr);
  absl::StatusOr<std::vector<conductor::proto::Workflow>> GetWorkflowsByCorrelationId(
      const std::string& name, const std::string& correlation_id, bool include_closed,
      bool include_tasks);
  absl::StatusOr<std::vector<std::string>> GetRunningWorkflows(const std::string& name, int version,
                                                               int64_t start_time,
                                                               int64_t end_time);
  // One page of the workflows `query` selects (see search_query.h for Conductor's query
  // language), read from the store: workflows without their tasks, in start-time order.
  absl::StatusOr<WorkflowPage> SearchWorkflows(const WorkflowQuery& query);
  // FAILED_PRECONDITION unless RUNNING (pause) / PAUSED (resume).
  void PauseWorkflow(const std::string& workflow_id, Done done);
  void ResumeWorkflow(const std::string& workflow_id, Done done);
  // FAILED_PRECONDITION when already ended.
  void TerminateWorkflow(const std::string& workflow_id, const std::string& reason, Done done);
  // Resumes a FAILED / TIMED_OUT / TERMINATED workflow with a new attempt of each
  // failed task; FAILED_PRECONDITION otherwise.
  void RetryWorkflow(const std::string& workflow_id, Done done);
  // Runs an ended workflow again from the start under the same id.
  void RestartWorkflow(const std::string& workflow_id, bool use_latest_definitions, Done done);
  void RerunWorkflow(conductor::proto::RerunWorkflowRequest request,
                     std::function<void(absl::StatusOr<std::string>)> done);
  void RemoveWorkflow(const std::string& workflow_id, Done done);
  void DecideWorkflow(const std::string& workflow_id, Done done);

  // --- Tasks ---
  // Hands out up to `count` tasks of `queue_name` to `worker_id`; when none is
  // visible, parks until one is or `timeout_ms` passes, then calls `callback`
  // (possibly with no tasks). Returns an id for CancelPoll.
  uint64_t Poll(const std::string& queue_name, const std::string& worker_id, int count,
                int64_t timeout_ms, PollCallback callback);
  // True if the poll was still parked: its callback will never run.
  bool CancelPoll(uint64_t poll_id);
  // Puts back tasks a poll took but could not hand over (its caller went away):
  // each is SCHEDULED and queued again, unless it changed since.
  void ReturnTasks(const std::vector<conductor::proto::Task>& tasks);
  // Accepted results of tasks that already ended are ignored (OK), as Conductor does.
  void UpdateTask(conductor::proto::TaskResult result, Done done);
  void AddLog(const std::string& task_id, const std::string& line, Done done);
  absl::StatusOr<std::vector<conductor::proto::TaskExecLog>> GetTaskLogs(
      const std::string& task_id);
  absl::StatusOr<conductor::proto::Task> GetTask(const std::string& task_id);
  // Visible plus delayed tasks in the queue `queue_name` ("domain:type" or "type").
  int64_t QueueSize(const std::string& queue_name) const;
  // Every queue that ever held a task, with its size.
  std::vector<std::pair<std::string, int64_t>> QueueSizes() const;
  // The latest poll of each queue polled since the engine started, as Conductor's poll data:
  // of the queues of `task_type` (every domain), or of every queue when it is empty. Sorted by
  // queue name.
  struct PollRecord {
    std::string task_type;
    std::string domain;
    std::string worker_id;
    int64_t last_poll_ms = 0;
  };
  std::vector<PollRecord> PollRecords(const std::string& task_type) const;

  // --- Watching a workflow (engine_watches.cc) ---
  // A running workflow carries a change stamp that moves each time a change to it or to one of
  // its tasks has committed; stamps of one engine never repeat, nor do they repeat those of an
  // earlier run of it. Answers `callback` with the workflow's stamp once it differs from `seen`:
  // at once when it already does, when a change commits, or after `timeout_ms` with the stamp
  // unchanged. A workflow that is not running (ended, or not in this engine's memory) is
  // answered at once, with its stamp or 0: a watcher reads it and stops. NOT_FOUND for an
  // unknown workflow. Returns an id for CancelWatch, 0 when answered at once.
  using WatchCallback = std::function<void(absl::StatusOr<int64_t>)>;
  uint64_t WatchWorkflow(const std::string& workflow_id, int64_t seen, int64_t timeout_ms,
                         WatchCallback callback);
  // True if the watch was still waiting: its callback will never run.
  bool CancelWatch(uint64_t watch_id);

 private:
  struct WorkflowState;
  struct Txn;
  struct Waiter;
  struct Queue;

  Engine(Store& store, const Clock& clock, bool system_clock, EngineLimits limits,
         InlineRunner inline_runner);
  absl::Status LoadLocked(LoadedState state) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Finds a workflow in memory or reads it from the store into memory.
  absl::StatusOr<WorkflowState*> FindWorkflowLocked(const std::string& workflow_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops workflows FindWorkflowLocked read from the store for this call once
  // they are ended and have no pending writes.
  void EvictLoadedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  conductor::proto::Task* FindTaskLocked(WorkflowState& ws, const std::string& task_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Creates the workflow and decides it (at once, or after the decide in progress). `depth` is
  // its place in a chain of sub-workflows and failure workflows, 1 for a workflow started on
  // its own. FailedPrecondition past limits_.max_workflow_chain_depth.
  absl::StatusOr<std::string> StartWorkflowLocked(
      const conductor::proto::StartWorkflowRequest& request, const std::string& parent_workflow_id,
      const std::string& parent_task_id, Txn& txn, int depth = 1,
      const std::string& workflow_id = {}) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // How the first round of DecideLocked advances the workflow: the decider's Decide, or its
  // RetryWorkflow (new attempts of the failed tasks of an ended workflow).
  enum class DecideMode { kDecide, kRetry };
  // Runs the decider on `ws` and everything it triggers (children, parents). Called while
  // another decide runs, it queues `ws` for the outermost call to decide next: a chain of
  // workflows that start or end one another is worked through in a loop, never by recursion.
  void DecideLocked(WorkflowState& ws, Txn& txn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // As above in `mode`. With kRetry, the decider's RetryWorkflow error (FailedPrecondition when
  // there is nothing to retry) is returned and nothing changed; with kDecide, always OK.
  absl::Status DecideLocked(WorkflowState& ws, Txn& txn, DecideMode mode)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnWorkflowEndedLocked(WorkflowState& ws, Txn& txn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void TerminateLocked(WorkflowState& ws, const std::string& reason, Txn& txn)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriteWorkflowLocked(WorkflowState& ws, Txn& txn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriteTaskLocked(WorkflowState& ws, const conductor::proto::Task& task, Txn& txn)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EnqueueLocked(WorkflowState& ws, const conductor::proto::Task& task, int64_t visible_at,
                     Txn& txn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DequeueLocked(const std::string& task_id, Txn& txn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends `txn` to the store; on commit publishes its enqueues, then calls `done`.
  void SubmitLocked(Txn& txn, Done done) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Answers the watches of `workflow_id` with `stamp` (run through `deferred`).
  void AnswerWatchesLocked(const std::string& workflow_id, int64_t stamp,
                           std::vector<std::function<void()>>& deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Answers, with their unchanged stamps, the watches due by `real_now`.
  void ExpireWatchesLocked(int64_t real_now, std::vector<std::function<void()>>& deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnCommitted(const absl::flat_hash_set<std::string>& touched, const absl::Status& status,
                   const Done& done);
  void PublishLocked(const std::string& queue_name, const std::string& task_id, int64_t visible_at,
                     std::vector<std::function<void()>>& deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Gives visible tasks of `queue_name` to parked polls.
  void ServeWaitersLocked(const std::string& queue_name,
                          std::vector<std::function<void()>>& deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::vector<conductor::proto::Task> TakeTasksLocked(Queue& q, const std::string& worker_id,
                                                      int count, Txn& txn)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ArmTimerLocked(int64_t at_ms) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RemoveWaiterLocked(absl::flat_hash_map<uint64_t, std::unique_ptr<Waiter>>::iterator it)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Replaces the workflow's decider wake-up (nullopt: none); one timer per workflow.
  void SetWakeLocked(WorkflowState& ws, std::optional<int64_t> at_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void TimerLoop();
  // Runs `body` with mu_ held (the lambdas passed here are annotated
  // ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_), so their bodies are checked), then submits its
  // transaction; answers `done` with `body`'s error if it fails.
  void Mutate(Done done, absl::FunctionRef<absl::Status(Txn&)> body);
  const conductor::proto::TaskDef* TaskDefLocked(const std::string& name) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // A lookup valid while mu_ stays held.
  TaskDefLookup TaskDefLookupLocked() const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  // INLINE scripts run on script_thread_, outside mu_: the decider leaves such a task
  // IN_PROGRESS (DecideOptions.defer_inline_scripts), DispatchScriptLocked queues a copy of it,
  // and FinishScriptLocked applies the outcome as a worker's result would be, unless the task
  // ended meanwhile. A task the evaluation left IN_PROGRESS (the engine was stopping, or a test's
  // runner declined it) stays so until the next start of the engine, which queues it again.
  struct ScriptJob {
    std::string workflow_id;
    conductor::proto::Task task;
  };
  void DispatchScriptLocked(const conductor::proto::Task& task) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DispatchScriptsLocked(const WorkflowState& ws) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status FinishScriptLocked(const ScriptJob& job, Txn& txn)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ScriptLoop();
  DecideOptions DecideOptionsFor(const WorkflowState& ws) const;

  // One round of deciding `ws` (the body of DecideLocked, without the queue).
  absl::Status DecideOneLocked(WorkflowState& ws, Txn& txn, DecideMode mode)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Store& store_;
  const Clock& clock_;
  const bool system_clock_;
  const EngineLimits limits_;
  const InlineRunner inline_runner_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::map<int, conductor::proto::WorkflowDef>> workflow_defs_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, conductor::proto::TaskDef> task_defs_ ABSL_GUARDED_BY(mu_);
  // Keys beyond the messages (see CreateWorkflowDef); only definitions that have some.
  absl::flat_hash_map<std::pair<std::string, int>, std::string> workflow_def_extras_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::string> task_def_extras_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, conductor::proto::EventHandler> event_handlers_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::string> event_handler_extras_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::unique_ptr<WorkflowState>> workflows_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::string> task_workflow_ ABSL_GUARDED_BY(mu_);
  // Whether a DecideLocked is running, and the workflows it is still to decide, in order.
  bool deciding_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<std::string> decide_queue_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> loaded_from_store_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::unique_ptr<Queue>> queues_ ABSL_GUARDED_BY(mu_);
  // task id -> queue it sits in (published or awaiting its commit).
  absl::flat_hash_map<std::string, std::string> queued_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint64_t, std::unique_ptr<Waiter>> waiters_ ABSL_GUARDED_BY(mu_);
  uint64_t next_waiter_id_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 1;
  // Timers by due time: workflows to decide (one entry per workflow, see
  // SetWakeLocked), queues whose delayed tasks become visible, polls that
  // expire (entries of polls answered earlier are skipped when they fire).
  std::multimap<int64_t, std::string> workflow_timers_ ABSL_GUARDED_BY(mu_);
  std::multimap<int64_t, std::string> queue_timers_ ABSL_GUARDED_BY(mu_);
  std::multimap<int64_t, uint64_t> poll_timers_ ABSL_GUARDED_BY(mu_);
  // Parked WatchWorkflow calls, by id and by workflow, and when each times out (real time).
  struct Watch {
    std::string workflow_id;
    int64_t seen = 0;
    WatchCallback callback;
  };
  absl::flat_hash_map<uint64_t, Watch> watches_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::flat_hash_set<uint64_t>> watches_of_ ABSL_GUARDED_BY(mu_);
  std::multimap<int64_t, uint64_t> watch_timers_ ABSL_GUARDED_BY(mu_);
  // The latest change stamp given; starts at the engine's start time in microseconds.
  int64_t last_stamp_ ABSL_GUARDED_BY(mu_) = absl::ToUnixMicros(absl::Now());
  absl::CondVar timer_cv_;
  int64_t timer_wake_at_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread timer_thread_;
  std::deque<ScriptJob> script_jobs_ ABSL_GUARDED_BY(mu_);
  // Ids of the tasks queued for the script thread or being evaluated there.
  absl::flat_hash_set<std::string> scripts_dispatched_ ABSL_GUARDED_BY(mu_);
  absl::CondVar script_cv_;
  std::thread script_thread_;
};

}  // namespace cmig::orchestrator

#endif  // CMIG_ORCHESTRATOR_ENGINE_H_
