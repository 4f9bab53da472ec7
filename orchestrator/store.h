// The orchestrator's durable state: one SQLite file in WAL mode.
//
// Writes are grouped: callers hand a WriteBatch to Commit(), a committer thread
// applies every batch queued since its last transaction in one transaction
// (one fsync), then tells each caller its batch is durable. Batches are applied
// in the order Commit() was called, so callers that enqueue under their own lock
// get their in-memory order on disk. Reads use a second connection and see only
// committed data.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<Store> store, Store::Open("/var/lib/x.db"));
//   WriteBatch batch;
//   batch.push_back(
//       PutTaskOp{task.task_id(), task.workflow_instance_id(), task.SerializeAsString()});
//   store->Commit(std::move(batch), [](absl::Status s) { /* durable (or failed) */ });
#ifndef CMIG_ORCHESTRATOR_STORE_H_
#define CMIG_ORCHESTRATOR_STORE_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "conductor/model/eventhandler.pb.h"
#include "conductor/model/taskdef.pb.h"
#include "conductor/model/taskexeclog.pb.h"
#include "conductor/model/workflow.pb.h"
#include "conductor/model/workflowdef.pb.h"
#include "orchestrator/sqlite.h"

namespace cmig::orchestrator {

// `extra`: the definition's keys its message cannot carry, as JSON text (json_overlay.h); empty
// = none, and any kept before are dropped.
struct PutWorkflowDefOp {
  conductor::proto::WorkflowDef def;
  std::string extra;
};
struct PutTaskDefOp {
  conductor::proto::TaskDef def;
  std::string extra;
};
struct PutEventHandlerOp {
  conductor::proto::EventHandler handler;
  std::string extra;  // as PutWorkflowDefOp::extra
};
struct DeleteEventHandlerOp {
  std::string name;
};
struct DeleteTaskDefOp {
  std::string name;
};
struct DeleteWorkflowDefOp {
  std::string name;
  int version = 0;
};
// The workflow row: indexed columns plus the Workflow without its tasks (each
// task attempt is a row of its own).
struct PutWorkflowOp {
  std::string workflow_id;
  int status = 0;
  std::string workflow_type;
  int version = 0;
  std::string correlation_id;
  std::string parent_workflow_id;
  int64_t start_time = 0;
  int64_t end_time = 0;
  int64_t update_time = 0;
  std::string data;  // serialized Workflow without tasks
};
// Removes the workflow, its tasks, their queue entries and logs.
struct DeleteWorkflowOp {
  std::string workflow_id;
};
struct PutTaskOp {
  std::string task_id;
  std::string workflow_id;
  std::string data;  // serialized Task
};
struct DeleteTaskOp {
  std::string task_id;
};
struct PutQueueOp {
  std::string task_id;
  std::string queue_name;
  int64_t visible_at_ms = 0;
};
struct DeleteQueueOp {
  std::string task_id;
};
struct AddLogOp {
  std::string task_id;
  int64_t created_time = 0;
  std::string line;
};

using WriteOp =
    std::variant<PutWorkflowDefOp, PutTaskDefOp, DeleteTaskDefOp, PutWorkflowOp, DeleteWorkflowOp,
                 PutTaskOp, DeleteTaskOp, PutQueueOp, DeleteQueueOp, AddLogOp, DeleteWorkflowDefOp,
                 PutEventHandlerOp, DeleteEventHandlerOp>;
using WriteBatch = std::vector<WriteOp>;

// What survives a restart: every definition, every workflow not yet ended (with
// its task attempts in creation order) and the queue.
struct LoadedState {
  std::vector<conductor::proto::WorkflowDef> workflow_defs;
  std::vector<conductor::proto::TaskDef> task_defs;
  // The keys beyond the message, by (name, version) and by name (PutWorkflowDefOp::extra).
  std::map<std::pair<std::string, int>, std::string> workflow_def_extras;
  std::map<std::string, std::string> task_def_extras;
  std::vector<conductor::proto::EventHandler> event_handlers;
  std::map<std::string, std::string> event_handler_extras;
  struct WorkflowRecord {
    conductor::proto::Workflow workflow;  // with tasks
    int64_t start_time = 0;
  };
  std::vector<WorkflowRecord> open_workflows;
  struct QueueEntry {
    std::string task_id;
    std::string queue_name;
    int64_t visible_at_ms = 0;
  };
  std::vector<QueueEntry> queue;
};

// Which workflows a query selects; unset members select everything.
struct WorkflowQuery {
  std::string workflow_type;
  int version = 0;  // 0 = any
  std::vector<int> statuses;
  std::optional<std::string> correlation_id;
  // Matches the workflow id or the correlation id.
  std::optional<std::string> id_or_correlation_id;
  int64_t start_time_from = 0;  // inclusive, 0 = unbounded
  int64_t start_time_to = 0;    // inclusive, 0 = unbounded
  int offset = 0;
  int limit = -1;             // -1 = no limit
  bool newest_first = false;  // order by start time, descending
};

struct WorkflowRow {
  conductor::proto::Workflow workflow;  // without tasks
  int64_t start_time = 0;
  int64_t update_time = 0;
};

// One page of a query's rows, and how many rows the query selects without offset and limit.
struct WorkflowPage {
  std::vector<WorkflowRow> rows;
  int64_t total_hits = 0;
};

// Thread safety: every method may be called from any thread.
class Store {
 public:
  // Opens (creating if absent) the database at `path` and starts the committer.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path);
  ~Store();  // commits what is queued, then stops the committer
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Queues `batch`; `done` runs on the committer thread once the transaction
  // that holds it committed (OK) or failed. Never blocks on I/O. `done` may be
  // empty. Must not be called after the destructor started.
  void Commit(WriteBatch batch, std::function<void(absl::Status)> done);
  // Commit() and block until durable.
  absl::Status CommitAndWait(WriteBatch batch);

  absl::StatusOr<LoadedState> Load();
  // NOT_FOUND when no such workflow. `start_time` (optional) receives the
  // start time, which the Workflow message has no field for.
  absl::StatusOr<conductor::proto::Workflow> ReadWorkflow(const std::string& workflow_id,
                                                          bool include_tasks,
                                                          int64_t* start_time = nullptr);
  absl::StatusOr<conductor::proto::Task> ReadTask(const std::string& task_id);
  absl::StatusOr<std::vector<conductor::proto::TaskExecLog>> ReadLogs(const std::string& task_id);
  // Rows in start-time order; `total` (if set) receives the count ignoring offset/limit.
  absl::StatusOr<std::vector<WorkflowRow>> QueryWorkflows(const WorkflowQuery& query,
                                                          int64_t* total);

  // Transactions committed so far (for tests and benchmarks).
  int64_t commits() const;

 private:
  struct Pending {
    WriteBatch batch;
    std::function<void(absl::Status)> done;
  };
  Store(SqliteDb writer, SqliteDb reader, SqliteDb checkpointer);
  void CommitterLoop();
  // Copies the WAL into the database file off the commit path, so commits never
  // wait for a checkpoint's writes and fsync.
  void CheckpointerLoop();
  absl::Status Apply(const WriteOp& op);
  absl::Status Exec(const char* sql);
  // The committer's cached statement `index`, reset and ready to bind.
  absl::StatusOr<SqliteStatement*> Prepared(int index, const char* sql);
  // Writes (or, with `json` empty, removes) a definition's keys beyond its message.
  absl::Status PutWorkflowDefExtra(const std::string& name, int version, const std::string& json);
  absl::Status PutTaskDefExtra(const std::string& name, const std::string& json);

  SqliteDb writer_;  // committer thread only
  absl::Mutex read_mu_;
  SqliteDb reader_ ABSL_GUARDED_BY(read_mu_);
  SqliteDb checkpointer_db_;                                 // checkpointer thread only
  std::vector<std::optional<SqliteStatement>> write_stmts_;  // committer thread only

  mutable absl::Mutex mu_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int64_t commits_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread committer_;
  std::thread checkpointer_;
};

}  // namespace cmig::orchestrator

#endif  // CMIG_ORCHESTRATOR_STORE_H_
