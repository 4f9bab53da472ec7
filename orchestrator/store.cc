#include "orchestrator/store.h"

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "base/status_macros.h"
#include "spdlog/spdlog.h"

namespace cmig::orchestrator {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS workflow_defs(
  name TEXT NOT NULL, version INTEGER NOT NULL, def BLOB NOT NULL, PRIMARY KEY(name, version));
CREATE TABLE IF NOT EXISTS task_defs(name TEXT PRIMARY KEY, def BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS workflow_def_extras(
  name TEXT NOT NULL, version INTEGER NOT NULL, json TEXT NOT NULL, PRIMARY KEY(name, version));
CREATE TABLE IF NOT EXISTS task_def_extras(name TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS event_handlers(
  name TEXT PRIMARY KEY, handler BLOB NOT NULL, extra TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS workflows(
  id TEXT PRIMARY KEY, status INTEGER NOT NULL, workflow_type TEXT NOT NULL,
  version INTEGER NOT NULL, correlation_id TEXT NOT NULL, parent_id TEXT NOT NULL,
  start_time INTEGER NOT NULL, end_time INTEGER NOT NULL, update_time INTEGER NOT NULL,
  data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS workflows_by_status ON workflows(status, workflow_type);
CREATE INDEX IF NOT EXISTS workflows_by_type ON workflows(workflow_type, start_time);
CREATE INDEX IF NOT EXISTS workflows_by_correlation ON workflows(correlation_id);
CREATE TABLE IF NOT EXISTS tasks(id TEXT PRIMARY KEY, workflow_id TEXT NOT NULL, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS tasks_by_workflow ON tasks(workflow_id);
CREATE TABLE IF NOT EXISTS queue(
  task_id TEXT PRIMARY KEY, queue_name TEXT NOT NULL, visible_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS logs(task_id TEXT NOT NULL, created_time INTEGER NOT NULL, line TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS logs_by_task ON logs(task_id);
)sql";

// Workflow statuses that are not final (RUNNING, PAUSED).
constexpr const char* kOpenStatuses = "(0, 5)";

// Statement indexes for the committer's prepared-statement cache.
enum StmtIndex {
  kPutWorkflowDef,
  kPutTaskDef,
  kDeleteTaskDef,
  kPutWorkflow,
  kDeleteWorkflow,
  kDeleteWorkflowTasks,
  kDeleteWorkflowQueue,
  kDeleteWorkflowLogs,
  kPutTask,
  kDeleteTask,
  kPutQueue,
  kDeleteQueue,
  kAddLog,
  kDeleteWorkflowDef,
  kPutWorkflowDefExtra,
  kDeleteWorkflowDefExtra,
  kPutTaskDefExtra,
  kDeleteTaskDefExtra,
  kPutEventHandler,
  kDeleteEventHandler,
  kStmtCount
};

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& path) {
  constexpr absl::Duration kBusyTimeout = absl::Seconds(5);
  ASSIGN_OR_RETURN(SqliteDb writer, SqliteDb::Open(path, SQLITE_OPEN_NOMUTEX, kBusyTimeout));
  ASSIGN_OR_RETURN(SqliteDb reader, SqliteDb::Open(path, SQLITE_OPEN_NOMUTEX, kBusyTimeout));
  ASSIGN_OR_RETURN(SqliteDb checkpointer, SqliteDb::Open(path, SQLITE_OPEN_NOMUTEX, kBusyTimeout));
  std::unique_ptr<Store> store(
      new Store(std::move(writer), std::move(reader), std::move(checkpointer)));
  // FULL: a committed transaction survives power loss too; group commit keeps
  // the fsync count per second bounded regardless of the RPC rate.
  RETURN_IF_ERROR(store->Exec("PRAGMA journal_mode=WAL"));
  RETURN_IF_ERROR(store->Exec("PRAGMA synchronous=FULL"));
  RETURN_IF_ERROR(store->Exec("PRAGMA wal_autocheckpoint=0"));
  RETURN_IF_ERROR(store->Exec(kSchema));
  store->committer_ = std::thread([p = store.get()] { p->CommitterLoop(); });
  store->checkpointer_ = std::thread([p = store.get()] { p->CheckpointerLoop(); });
  return store;
}

Store::Store(SqliteDb writer, SqliteDb reader, SqliteDb checkpointer)
    : writer_(std::move(writer)),
      reader_(std::move(reader)),
      checkpointer_db_(std::move(checkpointer)),
      write_stmts_(kStmtCount) {}

Store::~Store() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (committer_.joinable()) committer_.join();
  if (checkpointer_.joinable()) checkpointer_.join();
  // Statements are finalized before their connections close.
  write_stmts_.clear();
}

absl::Status Store::Exec(const char* sql) { return writer_.Exec(sql); }

void Store::Commit(WriteBatch batch, std::function<void(absl::Status)> done) {
  absl::MutexLock lock(&mu_);
  queue_.push_back(Pending{std::move(batch), std::move(done)});
}

absl::Status Store::CommitAndWait(WriteBatch batch) {
  absl::Notification n;
  absl::Status result;
  Commit(std::move(batch), [&](absl::Status s) {
    result = std::move(s);
    n.Notify();
  });
  n.WaitForNotification();
  return result;
}

int64_t Store::commits() const {
  absl::MutexLock lock(&mu_);
  return commits_;
}

void Store::CommitterLoop() {
  for (;;) {
    std::deque<Pending> work;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](Store* s)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) { return s->stopping_ || !s->queue_.empty(); },
          this));
      if (queue_.empty()) return;  // stopping and drained
      work.swap(queue_);
    }
    absl::Status status = writer_.InWriteTransaction([&] {
      for (const Pending& p : work) {
        for (const WriteOp& op : p.batch) RETURN_IF_ERROR(Apply(op));
      }
      return absl::OkStatus();
    });
    if (!status.ok()) {
      spdlog::error("group commit of {} batches failed: {}", work.size(),
                    std::string(status.message()));
    }
    {
      absl::MutexLock lock(&mu_);
      ++commits_;
    }
    for (Pending& p : work) {
      if (p.done) p.done(status);
    }
  }
}

void Store::CheckpointerLoop() {
  // Often enough that the WAL stays a few MB at thousands of commits per second.
  constexpr absl::Duration kInterval = absl::Milliseconds(200);
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), kInterval)) return;
    }
    int log_frames = 0, checkpointed = 0;
    // PASSIVE never blocks the committer; a busy result is simply retried later.
    int rc = sqlite3_wal_checkpoint_v2(checkpointer_db_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                       &log_frames, &checkpointed);
    if (rc != SQLITE_BUSY) {
      if (absl::Status s = SqliteError(rc, checkpointer_db_.get(), "WAL checkpoint"); !s.ok()) {
        spdlog::warn("{}", std::string(s.message()));
      }
    }
  }
}

absl::StatusOr<SqliteStatement*> Store::Prepared(int index, const char* sql) {
  std::optional<SqliteStatement>& s = write_stmts_[index];
  if (!s.has_value()) {
    ASSIGN_OR_RETURN(s, SqliteStatement::Prepare(writer_.get(), sql));
  }
  s->Reset();
  return &*s;
}

absl::Status Store::PutWorkflowDefExtra(const std::string& name, int version,
                                        const std::string& json) {
  SqliteStatement* s = nullptr;
  if (json.empty()) {
    ASSIGN_OR_RETURN(s, Prepared(kDeleteWorkflowDefExtra,
                                 "DELETE FROM workflow_def_extras WHERE name = ? AND version = ?"));
  } else {
    ASSIGN_OR_RETURN(s, Prepared(kPutWorkflowDefExtra,
                                 "INSERT OR REPLACE INTO workflow_def_extras(name, version, json) "
                                 "VALUES(?,?,?)"));
    s->BindText(3, json, /*copy=*/false);
  }
  s->BindText(1, name, /*copy=*/false);
  s->BindInt64(2, version);
  absl::StatusOr<bool> row = s->Step();
  s->Reset();
  return row.status();
}

absl::Status Store::PutTaskDefExtra(const std::string& name, const std::string& json) {
  SqliteStatement* s = nullptr;
  if (json.empty()) {
    ASSIGN_OR_RETURN(s,
                     Prepared(kDeleteTaskDefExtra, "DELETE FROM task_def_extras WHERE name = ?"));
  } else {
    ASSIGN_OR_RETURN(s, Prepared(kPutTaskDefExtra,
                                 "INSERT OR REPLACE INTO task_def_extras(name, json) VALUES(?,?)"));
    s->BindText(2, json, /*copy=*/false);
  }
  s->BindText(1, name, /*copy=*/false);
  absl::StatusOr<bool> row = s->Step();
  s->Reset();
  return row.status();
}

absl::Status Store::Apply(const WriteOp& op) {
  // Bound values are not copied: each lives until run() reset the statement.
  auto run = [](SqliteStatement* s) -> absl::Status {
    absl::StatusOr<bool> row = s->Step();
    s->Reset();
    return row.status();
  };
  if (auto* o = std::get_if<PutWorkflowDefOp>(&op)) {
    ASSIGN_OR_RETURN(
        SqliteStatement * s,
        Prepared(kPutWorkflowDef,
                 "INSERT OR REPLACE INTO workflow_defs(name, version, def) VALUES(?,?,?)"));
    const std::string bytes = o->def.SerializeAsString();
    s->BindText(1, o->def.name(), /*copy=*/false);
    s->BindInt64(2, o->def.version());
    s->BindBlob(3, bytes, /*copy=*/false);
    RETURN_IF_ERROR(run(s));
    return PutWorkflowDefExtra(o->def.name(), o->def.version(), o->extra);
  }
  if (auto* o = std::get_if<PutTaskDefOp>(&op)) {
    ASSIGN_OR_RETURN(
        SqliteStatement * s,
        Prepared(kPutTaskDef, "INSERT OR REPLACE INTO task_defs(name, def) VALUES(?,?)"));
    const std::string bytes = o->def.SerializeAsString();
    s->BindText(1, o->def.name(), /*copy=*/false);
    s->BindBlob(2, bytes, /*copy=*/false);
    RETURN_IF_ERROR(run(s));
    return PutTaskDefExtra(o->def.name(), o->extra);
  }
  if (auto* o = std::get_if<DeleteTaskDefOp>(&op)) {
    ASSIGN_OR_RETURN(SqliteStatement * s,
                     Prepared(kDeleteTaskDef, "DELETE FROM task_defs WHERE name = ?"));
    s->BindText(1, o->name, /*copy=*/false);
    RETURN_IF_ERROR(run(s));
    return PutTaskDefExtra(o->name, "");
  }
  if (auto* o = std::get_if<DeleteWorkflowDefOp>(&op)) {
    ASSIGN_OR_RETURN(
        SqliteStatement * s,
        Prepared(kDeleteWorkflowDef, "DELETE FROM workflow_defs WHERE name = ? AND version = ?"));
    s->BindText(1, o->name, /*copy=*/false);
    s->BindInt64(2, o->version);
    RETURN_IF_ERROR(run(s));
    return PutWorkflowDefExtra(o->name, o->version, "");
  }
  if (auto* o = std::get_if<PutEventHandlerOp>(&op)) {
    ASSIGN_OR_RETURN(SqliteStatement * s,
                     Prepared(kPutEventHandler,
                              "INSERT OR REPLACE INTO event_handlers(name, handler, extra) "
                              "VALUES(?,?,?)"));
    const std::string bytes = o->handler.SerializeAsString();
    s->BindText(1, o->handler.name(), /*copy=*/false);
    s->BindBlob(2, bytes, /*copy=*/false);
    s->BindText(3, o->extra, /*copy=*/false);
    return run(s);
  }
  if (auto* o = std::get_if<DeleteEventHandlerOp>(&op)) {
    ASSIGN_OR_RETURN(SqliteStatement * s,
                     Prepared(kDeleteEventHandler, "DELETE FROM event_handlers WHERE name = ?"));
    s->BindText(1, o->name, /*copy=*/false);
    return run(s);
  }
  if (auto* o = std::get_if<PutWorkflowOp>(&op)) {
    ASSIGN_OR_RETURN(
        SqliteStatement * s,
        Prepared(
            kPutWorkflow,
            "INSERT INTO workflows(id, status, workflow_type, version, correlation_id, parent_id, "
            "start_time, end_time, update_time, data) VALUES(?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT(id) DO UPDATE SET status=excluded.status, "
            "workflow_type=excluded.workflow_type, version=excluded.version, "
            "correlation_id=excluded.correlation_id, parent_id=excluded.parent_id, "
            "start_time=excluded.start_time, end_time=excluded.end_time, "
            "update_time=excluded.update_time, data=excluded.data"));
    s->BindText(1, o->workflow_id, /*copy=*/false);
    s->BindInt64(2, o->status);
    s->BindText(3, o->workflow_type, /*copy=*/false);
    s->BindInt64(4, o->version);
    s->BindText(5, o->correlation_id, /*copy=*/false);
    s->BindText(6, o->parent_workflow_id, /*copy=*/false);
    s->BindInt64(7, o->start_time);
    s->BindInt64(8, o->end_time);
    s->BindInt64(9, o->update_time);
    s->BindBlob(10, o->data, /*copy=*/false);
    return run(s);
  }
  if (auto* o = std::get_if<DeleteWorkflowOp>(&op)) {
    struct {
      int index;
      const char* sql;
    } steps[] = {
        {kDeleteWorkflowLogs,
         "DELETE FROM logs WHERE task_id IN (SELECT id FROM tasks WHERE workflow_id = ?)"},
        {kDeleteWorkflowQueue,
         "DELETE FROM queue WHERE task_id IN (SELECT id FROM tasks WHERE workflow_id = ?)"},
        {kDeleteWorkflowTasks, "DELETE FROM tasks WHERE workflow_id = ?"},
        {kDeleteWorkflow, "DELETE FROM workflows WHERE id = ?"},
    };
    for (const auto& step : steps) {
      ASSIGN_OR_RETURN(SqliteStatement * s, Prepared(step.index, step.sql));
      s->BindText(1, o->workflow_id, /*copy=*/false);
      RETURN_IF_ERROR(run(s));
    }
    return absl::OkStatus();
  }
  if (auto* o = std::get_if<PutTaskOp>(&op)) {
    // An upsert keeps the rowid, which orders a workflow's task attempts.
    ASSIGN_OR_RETURN(SqliteStatement * s,
                     Prepared(kPutTask,
                              "INSERT INTO tasks(id, workflow_id, data) VALUES(?,?,?) "
                              "ON CONFLICT(id) DO UPDATE SET data=excluded.data"));
    s->BindText(1, o->task_id, /*copy=*/false);
    s->BindText(2, o->workflow_id, /*copy=*/false);
    s->BindBlob(3, o->data, /*copy=*/false);
    return run(s);
  }
  if (auto* o = std::get_if<DeleteTaskOp>(&op)) {
    ASSIGN_OR_RETURN(SqliteStatement * s, Prepared(kDeleteTask, "DELETE FROM tasks WHERE id = ?"));
    s->BindText(1, o->task_id, /*copy=*/false);
    return run(s);
  }
  if (auto* o = std::get_if<PutQueueOp>(&op)) {
    ASSIGN_OR_RETURN(
        SqliteStatement * s,
        Prepared(kPutQueue,
                 "INSERT OR REPLACE INTO queue(task_id, queue_name, visible_at) VALUES(?,?,?)"));
    s->BindText(1, o->task_id, /*copy=*/false);
    s->BindText(2, o->queue_name, /*copy=*/false);
    s->BindInt64(3, o->visible_at_ms);
    return run(s);
  }
  if (auto* o = std::get_if<DeleteQueueOp>(&op)) {
    ASSIGN_OR_RETURN(SqliteStatement * s,
                     Prepared(kDeleteQueue, "DELETE FROM queue WHERE task_id = ?"));
    s->BindText(1, o->task_id, /*copy=*/false);
    return run(s);
  }
  if (auto* o = std::get_if<AddLogOp>(&op)) {
    ASSIGN_OR_RETURN(
        SqliteStatement * s,
        Prepared(kAddLog, "INSERT INTO logs(task_id, created_time, line) VALUES(?,?,?)"));
    s->BindText(1, o->task_id, /*copy=*/false);
    s->BindInt64(2, o->created_time);
    s->BindText(3, o->line, /*copy=*/false);
    return run(s);
  }
  return absl::InternalError("unknown write op");
}

absl::StatusOr<LoadedState> Store::Load() {
  absl::MutexLock lock(&read_mu_);
  LoadedState out;
  {
    ASSIGN_OR_RETURN(SqliteStatement s,
                     SqliteStatement::Prepare(
                         reader_.get(), "SELECT def FROM workflow_defs ORDER BY name, version"));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      if (!out.workflow_defs.emplace_back().ParseFromString(s.ColumnBytes(0))) {
        return absl::DataLossError("unreadable workflow definition row");
      }
    }
  }
  {
    ASSIGN_OR_RETURN(
        SqliteStatement s,
        SqliteStatement::Prepare(reader_.get(), "SELECT def FROM task_defs ORDER BY name"));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      if (!out.task_defs.emplace_back().ParseFromString(s.ColumnBytes(0))) {
        return absl::DataLossError("unreadable task definition row");
      }
    }
  }
  {
    ASSIGN_OR_RETURN(SqliteStatement s,
                     SqliteStatement::Prepare(
                         reader_.get(), "SELECT name, version, json FROM workflow_def_extras"));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      out.workflow_def_extras[{s.ColumnBytes(0), static_cast<int>(s.ColumnInt64(1))}] =
          s.ColumnBytes(2);
    }
  }
  {
    ASSIGN_OR_RETURN(
        SqliteStatement s,
        SqliteStatement::Prepare(reader_.get(), "SELECT name, json FROM task_def_extras"));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      out.task_def_extras[s.ColumnBytes(0)] = s.ColumnBytes(1);
    }
  }
  {
    ASSIGN_OR_RETURN(SqliteStatement s,
                     SqliteStatement::Prepare(
                         reader_.get(), "SELECT handler, extra FROM event_handlers ORDER BY name"));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      conductor::proto::EventHandler& h = out.event_handlers.emplace_back();
      if (!h.ParseFromString(s.ColumnBytes(0))) {
        return absl::DataLossError("unreadable event handler row");
      }
      std::string extra = s.ColumnBytes(1);
      if (!extra.empty()) out.event_handler_extras[h.name()] = std::move(extra);
    }
  }
  absl::flat_hash_map<std::string, size_t> index;
  {
    ASSIGN_OR_RETURN(
        SqliteStatement s,
        SqliteStatement::Prepare(
            reader_.get(), absl::StrCat("SELECT data, start_time FROM workflows WHERE status IN ",
                                        kOpenStatuses, " ORDER BY start_time")));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      LoadedState::WorkflowRecord& r = out.open_workflows.emplace_back();
      if (!r.workflow.ParseFromString(s.ColumnBytes(0))) {
        return absl::DataLossError("unreadable workflow row");
      }
      r.start_time = s.ColumnInt64(1);
      index[r.workflow.workflow_id()] = out.open_workflows.size() - 1;
    }
  }
  {
    ASSIGN_OR_RETURN(
        SqliteStatement s,
        SqliteStatement::Prepare(
            reader_.get(),
            absl::StrCat("SELECT t.workflow_id, t.data FROM tasks t JOIN workflows w ON "
                         "w.id = t.workflow_id WHERE w.status IN ",
                         kOpenStatuses, " ORDER BY t.rowid")));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      auto it = index.find(s.ColumnBytes(0));
      if (it == index.end()) continue;
      if (!out.open_workflows[it->second].workflow.add_tasks()->ParseFromString(s.ColumnBytes(1))) {
        return absl::DataLossError("unreadable task row");
      }
    }
  }
  {
    ASSIGN_OR_RETURN(SqliteStatement s,
                     SqliteStatement::Prepare(
                         reader_.get(),
                         "SELECT task_id, queue_name, visible_at FROM queue ORDER BY visible_at"));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      out.queue.push_back({s.ColumnBytes(0), s.ColumnBytes(1), s.ColumnInt64(2)});
    }
  }
  return out;
}

absl::StatusOr<conductor::proto::Workflow> Store::ReadWorkflow(const std::string& workflow_id,
                                                               bool include_tasks,
                                                               int64_t* start_time) {
  absl::MutexLock lock(&read_mu_);
  conductor::proto::Workflow wf;
  {
    ASSIGN_OR_RETURN(SqliteStatement s,
                     SqliteStatement::Prepare(
                         reader_.get(), "SELECT data, start_time FROM workflows WHERE id = ?"));
    s.BindText(1, workflow_id);
    ASSIGN_OR_RETURN(bool found, s.Step());
    if (!found) {
      return absl::NotFoundError(absl::StrCat("no workflow with id ", workflow_id));
    }
    if (!wf.ParseFromString(s.ColumnBytes(0))) {
      return absl::DataLossError(absl::StrCat("unreadable row of workflow ", workflow_id));
    }
    if (start_time != nullptr) *start_time = s.ColumnInt64(1);
  }
  if (include_tasks) {
    ASSIGN_OR_RETURN(
        SqliteStatement s,
        SqliteStatement::Prepare(reader_.get(),
                                 "SELECT data FROM tasks WHERE workflow_id = ? ORDER BY rowid"));
    s.BindText(1, workflow_id);
    for (;;) {
      ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      if (!wf.add_tasks()->ParseFromString(s.ColumnBytes(0))) {
        return absl::DataLossError(absl::StrCat("unreadable task row of workflow ", workflow_id));
      }
    }
  }
  return wf;
}

absl::StatusOr<conductor::proto::Task> Store::ReadTask(const std::string& task_id) {
  absl::MutexLock lock(&read_mu_);
  ASSIGN_OR_RETURN(SqliteStatement s,
                   SqliteStatement::Prepare(reader_.get(), "SELECT data FROM tasks WHERE id = ?"));
  s.BindText(1, task_id);
  ASSIGN_OR_RETURN(bool found, s.Step());
  if (!found) {
    return absl::NotFoundError(absl::StrCat("no task with id ", task_id));
  }
  conductor::proto::Task t;
  if (!t.ParseFromString(s.ColumnBytes(0))) {
    return absl::DataLossError(absl::StrCat("unreadable row of task ", task_id));
  }
  return t;
}

absl::StatusOr<std::vector<conductor::proto::TaskExecLog>> Store::ReadLogs(
    const std::string& task_id) {
  absl::MutexLock lock(&read_mu_);
  ASSIGN_OR_RETURN(
      SqliteStatement s,
      SqliteStatement::Prepare(
          reader_.get(), "SELECT created_time, line FROM logs WHERE task_id = ? ORDER BY rowid"));
  s.BindText(1, task_id);
  std::vector<conductor::proto::TaskExecLog> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    conductor::proto::TaskExecLog& l = out.emplace_back();
    l.set_task_id(task_id);
    l.set_created_time(s.ColumnInt64(0));
    l.set_log(s.ColumnBytes(1));
  }
  return out;
}

absl::StatusOr<std::vector<WorkflowRow>> Store::QueryWorkflows(const WorkflowQuery& q,
                                                               int64_t* total) {
  std::vector<std::string> where;
  if (!q.workflow_type.empty()) where.push_back("workflow_type = ?1");
  if (q.version != 0) where.push_back("version = ?2");
  if (!q.statuses.empty()) {
    std::vector<std::string> codes;
    for (int st : q.statuses) codes.push_back(absl::StrCat(st));
    where.push_back(absl::StrCat("status IN (", absl::StrJoin(codes, ","), ")"));
  }
  if (q.correlation_id) where.push_back("correlation_id = ?3");
  if (q.id_or_correlation_id) where.push_back("(id = ?6 OR correlation_id = ?6)");
  if (q.start_time_from != 0) where.push_back("start_time >= ?4");
  if (q.start_time_to != 0) where.push_back("start_time <= ?5");
  std::string cond = where.empty() ? "" : absl::StrCat(" WHERE ", absl::StrJoin(where, " AND "));
  auto bind = [&](SqliteStatement& s) {
    if (!q.workflow_type.empty()) s.BindText(1, q.workflow_type);
    if (q.version != 0) s.BindInt64(2, q.version);
    if (q.correlation_id) s.BindText(3, *q.correlation_id);
    if (q.id_or_correlation_id) s.BindText(6, *q.id_or_correlation_id);
    if (q.start_time_from != 0) s.BindInt64(4, q.start_time_from);
    if (q.start_time_to != 0) s.BindInt64(5, q.start_time_to);
  };
  absl::MutexLock lock(&read_mu_);
  if (total != nullptr) {
    ASSIGN_OR_RETURN(SqliteStatement s,
                     SqliteStatement::Prepare(
                         reader_.get(), absl::StrCat("SELECT COUNT(*) FROM workflows", cond)));
    bind(s);
    ASSIGN_OR_RETURN(bool counted, s.Step());
    *total = counted ? s.ColumnInt64(0) : 0;
  }
  ASSIGN_OR_RETURN(
      SqliteStatement s,
      SqliteStatement::Prepare(
          reader_.get(), absl::StrCat("SELECT data, start_time, update_time FROM workflows", cond,
                                      q.newest_first ? " ORDER BY start_time DESC, id DESC"
                                                     : " ORDER BY start_time, id",
                                      " LIMIT ", q.limit, " OFFSET ", q.offset)));
  bind(s);
  std::vector<WorkflowRow> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    WorkflowRow& r = out.emplace_back();
    if (!r.workflow.ParseFromString(s.ColumnBytes(0))) {
      return absl::DataLossError("unreadable workflow row");
    }
    r.start_time = s.ColumnInt64(1);
    r.update_time = s.ColumnInt64(2);
  }
  return out;
}

}  // namespace cmig::orchestrator
