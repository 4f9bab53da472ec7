#include "orchestrator/store.h"

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "base/status_macros.h"
#include "spdlog/spdlog.h"

namespace cmig::orchestrator {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS workflow_defs(
  name TEXT NOT NULL, version INTEGER NOT NULL, def BLOB NOT NULL, PRIMARY KEY(name, version));
CREATE TABLE IF NOT EXISTS task_defs(name TEXT PRIMARY KEY, def BLOB NOT NULL);
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

absl::Status SqliteError(sqlite3* db, absl::string_view what) {
  return absl::InternalError(absl::StrCat("SQLite ", what, ": ", sqlite3_errmsg(db)));
}

class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK) stmt_ = nullptr;
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  bool ok() const { return stmt_ != nullptr; }
  sqlite3_stmt* get() { return stmt_; }
  absl::Status error(absl::string_view what) const { return SqliteError(db_, what); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// Bound without a copy: `v` must outlive the statement's step (every caller
// binds strings that live until after it resets the statement).
void BindText(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
}
void BindBlob(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_blob(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
}
std::string ColumnBytes(sqlite3_stmt* s, int i) {
  const void* p = sqlite3_column_blob(s, i);
  int n = sqlite3_column_bytes(s, i);
  return p ? std::string(static_cast<const char*>(p), n) : std::string();
}

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
  kStmtCount
};

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& path) {
  auto open = [&](sqlite3** db) -> absl::Status {
    int rc =
        sqlite3_open_v2(path.c_str(), db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      absl::Status s = absl::UnavailableError(
          absl::StrCat("cannot open SQLite database ", path, ": ", sqlite3_errstr(rc)));
      sqlite3_close(*db);
      *db = nullptr;
      return s;
    }
    sqlite3_busy_timeout(*db, 5000);
    return absl::OkStatus();
  };
  sqlite3* writer = nullptr;
  sqlite3* reader = nullptr;
  sqlite3* checkpointer = nullptr;
  RETURN_IF_ERROR(open(&writer));
  absl::Status s = open(&reader);
  if (s.ok()) s = open(&checkpointer);
  if (!s.ok()) {
    sqlite3_close(writer);
    sqlite3_close(reader);
    return s;
  }
  std::unique_ptr<Store> store(new Store(writer, reader, checkpointer));
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

Store::Store(sqlite3* writer, sqlite3* reader, sqlite3* checkpointer)
    : writer_(writer),
      reader_(reader),
      checkpointer_db_(checkpointer),
      write_stmts_(kStmtCount, nullptr) {}

Store::~Store() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (committer_.joinable()) committer_.join();
  if (checkpointer_.joinable()) checkpointer_.join();
  for (sqlite3_stmt* s : write_stmts_) sqlite3_finalize(s);
  sqlite3_close(checkpointer_db_);
  sqlite3_close(writer_);
  sqlite3_close(reader_);
}

absl::Status Store::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(writer_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    absl::Status s = absl::InternalError(absl::StrCat("SQLite: ", err ? err : "error"));
    sqlite3_free(err);
    return s;
  }
  return absl::OkStatus();
}

void Store::Commit(WriteBatch batch, std::function<void(absl::Status)> done) {
  absl::MutexLock lock(&mu_);
  queue_.push_back(Pending{std::move(batch), std::move(done)});
}

absl::Status Store::CommitAndWait(WriteBatch batch) {
  absl::Notification n;
  absl::Status result;
  Commit(std::move(batch), [&](absl::Status s) {
    result = s;
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
    absl::Status status = Exec("BEGIN");
    for (const Pending& p : work) {
      for (const WriteOp& op : p.batch) {
        if (!status.ok()) break;
        status = Apply(op);
      }
    }
    if (status.ok()) {
      status = Exec("COMMIT");
    }
    if (!status.ok()) {
      spdlog::error("group commit of {} batches failed: {}", work.size(),
                    std::string(status.message()));
      Exec("ROLLBACK").IgnoreError();
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
    int rc = sqlite3_wal_checkpoint_v2(checkpointer_db_, nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                       &log_frames, &checkpointed);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
      spdlog::warn("WAL checkpoint failed: {}", sqlite3_errmsg(checkpointer_db_));
    }
  }
}

sqlite3_stmt* Store::Prepared(int index, const char* sql) {
  sqlite3_stmt*& s = write_stmts_[index];
  if (s == nullptr) {
    if (sqlite3_prepare_v2(writer_, sql, -1, &s, nullptr) != SQLITE_OK) {
      s = nullptr;
      return nullptr;
    }
  }
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  return s;
}

absl::Status Store::Apply(const WriteOp& op) {
  auto run = [&](sqlite3_stmt* s) -> absl::Status {
    if (s == nullptr) return SqliteError(writer_, "prepare");
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return SqliteError(writer_, "write");
    return absl::OkStatus();
  };
  if (auto* o = std::get_if<PutWorkflowDefOp>(&op)) {
    sqlite3_stmt* s = Prepared(
        kPutWorkflowDef, "INSERT OR REPLACE INTO workflow_defs(name, version, def) VALUES(?,?,?)");
    if (!s) return run(s);
    const std::string bytes = o->def.SerializeAsString();
    BindText(s, 1, o->def.name());
    sqlite3_bind_int64(s, 2, o->def.version());
    BindBlob(s, 3, bytes);
    return run(s);
  }
  if (auto* o = std::get_if<PutTaskDefOp>(&op)) {
    sqlite3_stmt* s =
        Prepared(kPutTaskDef, "INSERT OR REPLACE INTO task_defs(name, def) VALUES(?,?)");
    if (!s) return run(s);
    const std::string bytes = o->def.SerializeAsString();
    BindText(s, 1, o->def.name());
    BindBlob(s, 2, bytes);
    return run(s);
  }
  if (auto* o = std::get_if<DeleteTaskDefOp>(&op)) {
    sqlite3_stmt* s = Prepared(kDeleteTaskDef, "DELETE FROM task_defs WHERE name = ?");
    if (!s) return run(s);
    BindText(s, 1, o->name);
    return run(s);
  }
  if (auto* o = std::get_if<DeleteWorkflowDefOp>(&op)) {
    sqlite3_stmt* s =
        Prepared(kDeleteWorkflowDef, "DELETE FROM workflow_defs WHERE name = ? AND version = ?");
    if (!s) return run(s);
    BindText(s, 1, o->name);
    sqlite3_bind_int64(s, 2, o->version);
    return run(s);
  }
  if (auto* o = std::get_if<PutWorkflowOp>(&op)) {
    sqlite3_stmt* s = Prepared(
        kPutWorkflow,
        "INSERT INTO workflows(id, status, workflow_type, version, correlation_id, parent_id, "
        "start_time, end_time, update_time, data) VALUES(?,?,?,?,?,?,?,?,?,?) "
        "ON CONFLICT(id) DO UPDATE SET status=excluded.status, "
        "workflow_type=excluded.workflow_type, version=excluded.version, "
        "correlation_id=excluded.correlation_id, parent_id=excluded.parent_id, "
        "start_time=excluded.start_time, end_time=excluded.end_time, "
        "update_time=excluded.update_time, data=excluded.data");
    if (!s) return run(s);
    BindText(s, 1, o->workflow_id);
    sqlite3_bind_int(s, 2, o->status);
    BindText(s, 3, o->workflow_type);
    sqlite3_bind_int(s, 4, o->version);
    BindText(s, 5, o->correlation_id);
    BindText(s, 6, o->parent_workflow_id);
    sqlite3_bind_int64(s, 7, o->start_time);
    sqlite3_bind_int64(s, 8, o->end_time);
    sqlite3_bind_int64(s, 9, o->update_time);
    BindBlob(s, 10, o->data);
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
      sqlite3_stmt* s = Prepared(step.index, step.sql);
      if (s) BindText(s, 1, o->workflow_id);
      RETURN_IF_ERROR(run(s));
    }
    return absl::OkStatus();
  }
  if (auto* o = std::get_if<PutTaskOp>(&op)) {
    // An upsert keeps the rowid, which orders a workflow's task attempts.
    sqlite3_stmt* s = Prepared(kPutTask,
                               "INSERT INTO tasks(id, workflow_id, data) VALUES(?,?,?) "
                               "ON CONFLICT(id) DO UPDATE SET data=excluded.data");
    if (!s) return run(s);
    BindText(s, 1, o->task_id);
    BindText(s, 2, o->workflow_id);
    BindBlob(s, 3, o->data);
    return run(s);
  }
  if (auto* o = std::get_if<DeleteTaskOp>(&op)) {
    sqlite3_stmt* s = Prepared(kDeleteTask, "DELETE FROM tasks WHERE id = ?");
    if (!s) return run(s);
    BindText(s, 1, o->task_id);
    return run(s);
  }
  if (auto* o = std::get_if<PutQueueOp>(&op)) {
    sqlite3_stmt* s = Prepared(
        kPutQueue, "INSERT OR REPLACE INTO queue(task_id, queue_name, visible_at) VALUES(?,?,?)");
    if (!s) return run(s);
    BindText(s, 1, o->task_id);
    BindText(s, 2, o->queue_name);
    sqlite3_bind_int64(s, 3, o->visible_at_ms);
    return run(s);
  }
  if (auto* o = std::get_if<DeleteQueueOp>(&op)) {
    sqlite3_stmt* s = Prepared(kDeleteQueue, "DELETE FROM queue WHERE task_id = ?");
    if (!s) return run(s);
    BindText(s, 1, o->task_id);
    return run(s);
  }
  if (auto* o = std::get_if<AddLogOp>(&op)) {
    sqlite3_stmt* s =
        Prepared(kAddLog, "INSERT INTO logs(task_id, created_time, line) VALUES(?,?,?)");
    if (!s) return run(s);
    BindText(s, 1, o->task_id);
    sqlite3_bind_int64(s, 2, o->created_time);
    BindText(s, 3, o->line);
    return run(s);
  }
  return absl::InternalError("unknown write op");
}

absl::StatusOr<LoadedState> Store::Load() {
  absl::MutexLock lock(&read_mu_);
  LoadedState out;
  {
    Stmt s(reader_, "SELECT def FROM workflow_defs ORDER BY name, version");
    if (!s.ok()) return s.error("load workflow_defs");
    while (sqlite3_step(s.get()) == SQLITE_ROW) {
      if (!out.workflow_defs.emplace_back().ParseFromString(ColumnBytes(s.get(), 0))) {
        return absl::DataLossError("unreadable workflow definition row");
      }
    }
  }
  {
    Stmt s(reader_, "SELECT def FROM task_defs ORDER BY name");
    if (!s.ok()) return s.error("load task_defs");
    while (sqlite3_step(s.get()) == SQLITE_ROW) {
      if (!out.task_defs.emplace_back().ParseFromString(ColumnBytes(s.get(), 0))) {
        return absl::DataLossError("unreadable task definition row");
      }
    }
  }
  absl::flat_hash_map<std::string, size_t> index;
  {
    Stmt s(reader_, absl::StrCat("SELECT data, start_time FROM workflows WHERE status IN ",
                                 kOpenStatuses, " ORDER BY start_time"));
    if (!s.ok()) return s.error("load workflows");
    while (sqlite3_step(s.get()) == SQLITE_ROW) {
      LoadedState::WorkflowRecord& r = out.open_workflows.emplace_back();
      if (!r.workflow.ParseFromString(ColumnBytes(s.get(), 0))) {
        return absl::DataLossError("unreadable workflow row");
      }
      r.start_time = sqlite3_column_int64(s.get(), 1);
      index[r.workflow.workflow_id()] = out.open_workflows.size() - 1;
    }
  }
  {
    Stmt s(reader_, absl::StrCat("SELECT t.workflow_id, t.data FROM tasks t JOIN workflows w ON "
                                 "w.id = t.workflow_id WHERE w.status IN ",
                                 kOpenStatuses, " ORDER BY t.rowid"));
    if (!s.ok()) return s.error("load tasks");
    while (sqlite3_step(s.get()) == SQLITE_ROW) {
      auto it = index.find(ColumnBytes(s.get(), 0));
      if (it == index.end()) continue;
      if (!out.open_workflows[it->second].workflow.add_tasks()->ParseFromString(
              ColumnBytes(s.get(), 1))) {
        return absl::DataLossError("unreadable task row");
      }
    }
  }
  {
    Stmt s(reader_, "SELECT task_id, queue_name, visible_at FROM queue ORDER BY visible_at");
    if (!s.ok()) return s.error("load queue");
    while (sqlite3_step(s.get()) == SQLITE_ROW) {
      out.queue.push_back(
          {ColumnBytes(s.get(), 0), ColumnBytes(s.get(), 1), sqlite3_column_int64(s.get(), 2)});
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
    Stmt s(reader_, "SELECT data, start_time FROM workflows WHERE id = ?");
    if (!s.ok()) return s.error("read workflow");
    BindText(s.get(), 1, workflow_id);
    if (sqlite3_step(s.get()) != SQLITE_ROW) {
      return absl::NotFoundError(absl::StrCat("no workflow with id ", workflow_id));
    }
    if (!wf.ParseFromString(ColumnBytes(s.get(), 0))) {
      return absl::DataLossError(absl::StrCat("unreadable row of workflow ", workflow_id));
    }
    if (start_time != nullptr) *start_time = sqlite3_column_int64(s.get(), 1);
  }
  if (include_tasks) {
    Stmt s(reader_, "SELECT data FROM tasks WHERE workflow_id = ? ORDER BY rowid");
    if (!s.ok()) return s.error("read tasks");
    BindText(s.get(), 1, workflow_id);
    while (sqlite3_step(s.get()) == SQLITE_ROW) {
      if (!wf.add_tasks()->ParseFromString(ColumnBytes(s.get(), 0))) {
        return absl::DataLossError(absl::StrCat("unreadable task row of workflow ", workflow_id));
      }
    }
  }
  return wf;
}

absl::StatusOr<conductor::proto::Task> Store::ReadTask(const std::string& task_id) {
  absl::MutexLock lock(&read_mu_);
  Stmt s(reader_, "SELECT data FROM tasks WHERE id = ?");
  if (!s.ok()) return s.error("read task");
  BindText(s.get(), 1, task_id);
  if (sqlite3_step(s.get()) != SQLITE_ROW) {
    return absl::NotFoundError(absl::StrCat("no task with id ", task_id));
  }
  conductor::proto::Task t;
  if (!t.ParseFromString(ColumnBytes(s.get(), 0))) {
    return absl::DataLossError(absl::StrCat("unreadable row of task ", task_id));
  }
  return t;
}

absl::StatusOr<std::vector<conductor::proto::TaskExecLog>> Store::ReadLogs(
    const std::string& task_id) {
  absl::MutexLock lock(&read_mu_);
  Stmt s(reader_, "SELECT created_time, line FROM logs WHERE task_id = ? ORDER BY rowid");
  if (!s.ok()) return s.error("read logs");
  BindText(s.get(), 1, task_id);
  std::vector<conductor::proto::TaskExecLog> out;
  while (sqlite3_step(s.get()) == SQLITE_ROW) {
    conductor::proto::TaskExecLog& l = out.emplace_back();
    l.set_task_id(task_id);
    l.set_created_time(sqlite3_column_int64(s.get(), 0));
    l.set_log(ColumnBytes(s.get(), 1));
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
  auto bind = [&](sqlite3_stmt* s) {
    if (!q.workflow_type.empty()) BindText(s, 1, q.workflow_type);
    if (q.version != 0) sqlite3_bind_int(s, 2, q.version);
    if (q.correlation_id) BindText(s, 3, *q.correlation_id);
    if (q.id_or_correlation_id) BindText(s, 6, *q.id_or_correlation_id);
    if (q.start_time_from != 0) sqlite3_bind_int64(s, 4, q.start_time_from);
    if (q.start_time_to != 0) sqlite3_bind_int64(s, 5, q.start_time_to);
  };
  absl::MutexLock lock(&read_mu_);
  if (total != nullptr) {
    Stmt s(reader_, absl::StrCat("SELECT COUNT(*) FROM workflows", cond));
    if (!s.ok()) return s.error("count workflows");
    bind(s.get());
    *total = sqlite3_step(s.get()) == SQLITE_ROW ? sqlite3_column_int64(s.get(), 0) : 0;
  }
  Stmt s(reader_, absl::StrCat("SELECT data, start_time, update_time FROM workflows", cond,
                               " ORDER BY start_time, id LIMIT ", q.limit, " OFFSET ", q.offset));
  if (!s.ok()) return s.error("query workflows");
  bind(s.get());
  std::vector<WorkflowRow> out;
  while (sqlite3_step(s.get()) == SQLITE_ROW) {
    WorkflowRow& r = out.emplace_back();
    if (!r.workflow.ParseFromString(ColumnBytes(s.get(), 0))) {
      return absl::DataLossError("unreadable workflow row");
    }
    r.start_time = sqlite3_column_int64(s.get(), 1);
    r.update_time = sqlite3_column_int64(s.get(), 2);
  }
  return out;
}

}  // namespace cmig::orchestrator
