#include "orchestrator/scheduler.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "base/status_macros.h"
#include "orchestrator/cron.h"
#include "spdlog/spdlog.h"

namespace cmig::orchestrator {

using v1::ScheduleExecution;
using v1::WorkflowSchedule;

namespace {

constexpr char kPolled[] = "POLLED";
constexpr char kExecuted[] = "EXECUTED";
constexpr char kFailed[] = "FAILED";
constexpr char kSkipped[] = "SKIPPED";

absl::Status NotFound(const std::string& name) {
  return absl::NotFoundError(absl::StrCat("Schedule '", name, "' not found"));
}

// The first run of `cron` in `zone` after `after_ms` within [start_ms, end_ms] (0 = unbounded);
// 0 when there is none. A run due exactly at a bound happens.
int64_t NextRun(const CronExpression& cron, const absl::TimeZone& zone, int64_t after_ms,
                int64_t start_ms, int64_t end_ms) {
  if (start_ms > 0) after_ms = std::max(after_ms, start_ms - 1);
  std::optional<absl::Time> next = cron.Next(absl::FromUnixMillis(after_ms), zone);
  if (!next) return 0;
  const int64_t ms = absl::ToUnixMillis(*next);
  if (end_ms > 0 && ms > end_ms) return 0;
  return ms;
}

struct Parsed {
  CronExpression cron;
  absl::TimeZone zone;
};

absl::StatusOr<Parsed> Parse(const WorkflowSchedule& s) {
  if (s.cron_expression().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("schedule '", s.name(), "' needs a cronExpression"));
  }
  absl::StatusOr<CronExpression> cron = CronExpression::Parse(s.cron_expression());
  if (!cron.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("schedule '", s.name(), "': ", cron.status().message()));
  }
  absl::StatusOr<absl::TimeZone> zone = LoadZone(s.zone_id());
  if (!zone.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("schedule '", s.name(), "': ", zone.status().message()));
  }
  return Parsed{*std::move(cron), *zone};
}

// Runs `sql` on `db` with `bind` setting its parameters; `row` sees each result row.
absl::Status Sql(sqlite3* db, const char* sql, const std::function<void(SqliteStatement&)>& bind,
                 const std::function<void(const SqliteStatement&)>& row = nullptr) {
  ASSIGN_OR_RETURN(SqliteStatement s, SqliteStatement::Prepare(db, sql));
  if (bind) bind(s);
  for (;;) {
    ASSIGN_OR_RETURN(bool has_row, s.Step());
    if (!has_row) return absl::OkStatus();
    if (row) row(s);
  }
}

}  // namespace

struct Scheduler::Row {
  WorkflowSchedule schedule;  // next_run_time is the schedule's next run
};

Scheduler::Scheduler(SqliteDb db, Engine& engine, const Clock& clock, SchedulerOptions options)
    : engine_(engine), clock_(clock), options_(options), db_(std::move(db)) {}

absl::StatusOr<std::unique_ptr<Scheduler>> Scheduler::Open(const std::string& db_path,
                                                           Engine& engine, const Clock& clock,
                                                           SchedulerOptions options) {
  ASSIGN_OR_RETURN(SqliteDb db, SqliteDb::Open(db_path, SQLITE_OPEN_FULLMUTEX, absl::Seconds(10)));
  RETURN_IF_ERROR(db.Exec(
      "CREATE TABLE IF NOT EXISTS cmig_schedules(name TEXT PRIMARY KEY, data BLOB NOT NULL);"
      "CREATE TABLE IF NOT EXISTS cmig_schedule_runs(execution_id TEXT PRIMARY KEY,"
      " schedule_name TEXT NOT NULL, scheduled_time INTEGER NOT NULL, state TEXT NOT NULL,"
      " data BLOB NOT NULL);"
      "CREATE INDEX IF NOT EXISTS cmig_schedule_runs_by_schedule"
      " ON cmig_schedule_runs(schedule_name, scheduled_time);"));
  auto scheduler = std::unique_ptr<Scheduler>(new Scheduler(std::move(db), engine, clock, options));
  RETURN_IF_ERROR(scheduler->Recover());
  if (options.run_thread) scheduler->thread_ = std::thread([s = scheduler.get()] { s->Loop(); });
  return scheduler;
}

Scheduler::~Scheduler() {
  {
    absl::MutexLock lock(&wake_mu_);
    stopping_ = true;
    wake_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
}

absl::StatusOr<std::vector<Scheduler::Row>> Scheduler::LoadRows(const char* where,
                                                                const std::string& param) {
  std::vector<Row> rows;
  absl::Status parse = absl::OkStatus();
  absl::MutexLock lock(&db_mu_);
  RETURN_IF_ERROR(Sql(
      db_.get(), absl::StrCat("SELECT data FROM cmig_schedules ", where, " ORDER BY name").c_str(),
      [&](SqliteStatement& s) {
        if (!param.empty()) s.BindText(1, param);
      },
      [&](const SqliteStatement& s) {
        Row row;
        if (!row.schedule.ParseFromString(s.ColumnBytes(0))) {
          parse = absl::DataLossError("a stored schedule does not parse");
          return;
        }
        rows.push_back(std::move(row));
      }));
  RETURN_IF_ERROR(parse);
  return rows;
}

absl::Status Scheduler::WriteRow(const Row& row) {
  return Sql(db_.get(), "INSERT OR REPLACE INTO cmig_schedules(name, data) VALUES(?, ?)",
             [&](SqliteStatement& s) {
               s.BindText(1, row.schedule.name());
               s.BindBlob(2, row.schedule.SerializeAsString());
             });
}

absl::Status Scheduler::WriteRun(const ScheduleExecution& run) {
  return Sql(db_.get(),
             "INSERT OR REPLACE INTO cmig_schedule_runs(execution_id, schedule_name,"
             " scheduled_time, state, data) VALUES(?, ?, ?, ?, ?)",
             [&](SqliteStatement& s) {
               s.BindText(1, run.execution_id());
               s.BindText(2, run.schedule_name());
               s.BindInt64(3, run.scheduled_time());
               s.BindText(4, run.state());
               s.BindBlob(5, run.SerializeAsString());
             });
}

absl::StatusOr<WorkflowSchedule> Scheduler::Save(WorkflowSchedule schedule) {
  if (schedule.name().empty()) return absl::InvalidArgumentError("a schedule needs a name");
  ASSIGN_OR_RETURN(Parsed parsed, Parse(schedule));
  if (schedule.start_workflow_request().name().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "schedule '", schedule.name(), "' needs a startWorkflowRequest naming a workflow"));
  }
  if (schedule.schedule_start_time() < 0 || schedule.schedule_end_time() < 0 ||
      (schedule.schedule_start_time() > 0 && schedule.schedule_end_time() > 0 &&
       schedule.schedule_end_time() < schedule.schedule_start_time())) {
    return absl::InvalidArgumentError(
        absl::StrCat("schedule '", schedule.name(),
                     "': scheduleEndTime comes before scheduleStartTime (or either is negative)"));
  }
  const int64_t now = clock_.NowMs();
  {
    absl::MutexLock lock(&db_mu_);
    // Creation time and creator survive an update.
    RETURN_IF_ERROR(Sql(
        db_.get(), "SELECT data FROM cmig_schedules WHERE name = ?",
        [&](SqliteStatement& s) { s.BindText(1, schedule.name()); },
        [&](const SqliteStatement& s) {
          WorkflowSchedule before;
          if (before.ParseFromString(s.ColumnBytes(0))) {
            schedule.set_create_time(before.create_time());
            schedule.set_created_by(before.created_by());
          }
        }));
    if (schedule.create_time() == 0) schedule.set_create_time(now);
    schedule.set_updated_time(now);
    if (!schedule.paused()) schedule.clear_paused_reason();
    schedule.set_next_run_time(schedule.paused() ? 0
                                                 : NextRun(parsed.cron, parsed.zone, now,
                                                           schedule.schedule_start_time(),
                                                           schedule.schedule_end_time()));
    RETURN_IF_ERROR(WriteRow(Row{schedule}));
  }
  absl::MutexLock lock(&wake_mu_);
  changed_ = true;
  wake_.Signal();
  return schedule;
}

absl::StatusOr<WorkflowSchedule> Scheduler::Get(const std::string& name) {
  ASSIGN_OR_RETURN(std::vector<Row> rows, LoadRows("WHERE name = ?", name));
  if (rows.empty() || name.empty()) return NotFound(name);
  return rows.front().schedule;
}

absl::StatusOr<std::vector<WorkflowSchedule>> Scheduler::List(const std::string& workflow_name) {
  ASSIGN_OR_RETURN(std::vector<Row> rows, LoadRows("", ""));
  std::vector<WorkflowSchedule> out;
  for (Row& r : rows) {
    if (workflow_name.empty() || r.schedule.start_workflow_request().name() == workflow_name) {
      out.push_back(std::move(r.schedule));
    }
  }
  return out;
}

absl::Status Scheduler::Delete(const std::string& name) {
  absl::MutexLock lock(&db_mu_);
  auto by_name = [&](SqliteStatement& s) { s.BindText(1, name); };
  RETURN_IF_ERROR(Sql(db_.get(), "DELETE FROM cmig_schedules WHERE name = ?", by_name));
  return Sql(db_.get(), "DELETE FROM cmig_schedule_runs WHERE schedule_name = ?", by_name);
}

absl::Status Scheduler::Pause(const std::string& name, const std::string& reason) {
  ASSIGN_OR_RETURN(WorkflowSchedule s, Get(name));
  s.set_paused(true);
  s.set_paused_reason(reason);
  s.set_next_run_time(0);
  s.set_updated_time(clock_.NowMs());
  absl::MutexLock lock(&db_mu_);
  return WriteRow(Row{std::move(s)});
}

absl::Status Scheduler::Resume(const std::string& name) {
  ASSIGN_OR_RETURN(WorkflowSchedule s, Get(name));
  if (!s.paused()) return absl::OkStatus();
  s.set_paused(false);
  return Save(std::move(s)).status();
}

absl::StatusOr<std::vector<ScheduleExecution>> Scheduler::Executions(
    const std::string& schedule_name, int limit) {
  if (limit <= 0) limit = 100;
  std::vector<ScheduleExecution> out;
  absl::MutexLock lock(&db_mu_);
  RETURN_IF_ERROR(Sql(
      db_.get(),
      schedule_name.empty()
          ? "SELECT data FROM cmig_schedule_runs ORDER BY scheduled_time DESC, rowid DESC LIMIT ?"
          : "SELECT data FROM cmig_schedule_runs WHERE schedule_name = ?"
            " ORDER BY scheduled_time DESC, rowid DESC LIMIT ?",
      [&](SqliteStatement& s) {
        int i = 1;
        if (!schedule_name.empty()) s.BindText(i++, schedule_name);
        s.BindInt64(i, limit);
      },
      [&](const SqliteStatement& s) {
        ScheduleExecution run;
        if (run.ParseFromString(s.ColumnBytes(0))) out.push_back(std::move(run));
      }));
  return out;
}

absl::StatusOr<std::vector<int64_t>> Scheduler::NextRunTimes(const std::string& cron,
                                                             const std::string& zone_id,
                                                             int64_t start_ms, int64_t end_ms,
                                                             int limit) const {
  ASSIGN_OR_RETURN(CronExpression parsed, CronExpression::Parse(cron));
  ASSIGN_OR_RETURN(absl::TimeZone zone, LoadZone(zone_id));
  std::vector<int64_t> out;
  int64_t after = clock_.NowMs();
  for (int i = 0; i < std::min(limit, 5); ++i) {
    const int64_t next = NextRun(parsed, zone, after, start_ms, end_ms);
    if (next == 0) break;
    out.push_back(next);
    after = next;
  }
  return out;
}

absl::StatusOr<int> Scheduler::RunDue() {
  absl::MutexLock run_lock(&run_mu_);
  const int64_t now = clock_.NowMs();
  ASSIGN_OR_RETURN(std::vector<Row> rows, LoadRows("", ""));
  int started = 0;
  for (Row& row : rows) {
    WorkflowSchedule& s = row.schedule;
    if (s.paused() || s.next_run_time() == 0 || s.next_run_time() > now) continue;
    absl::StatusOr<Parsed> parsed = Parse(s);
    if (!parsed.ok()) continue;  // saved before its expression became invalid: cannot happen
    while (s.next_run_time() > 0 && s.next_run_time() <= now &&
           started < options_.max_runs_per_pass) {
      const int64_t slot = s.next_run_time();
      ScheduleExecution run;
      run.set_execution_id(NewUuid());
      run.set_schedule_name(s.name());
      run.set_scheduled_time(slot);
      run.set_execution_time(now);
      run.set_workflow_name(s.start_workflow_request().name());
      run.set_workflow_id(NewUuid());
      run.set_state(kPolled);
      run.set_zone_id(s.zone_id().empty() ? "UTC" : s.zone_id());
      if (s.skip_while_running()) {
        ASSIGN_OR_RETURN(std::optional<std::string> busy, StillRunning(s.name()));
        if (busy) {
          run.set_state(kSkipped);
          run.set_reason(*busy);
          run.clear_workflow_id();
        }
      }
      // Catch-up makes each missed run; otherwise this (possibly late) run is the only one
      // before the next in the future.
      const int64_t after = s.run_catchup_schedule_instances() ? slot : std::max(now, slot);
      s.set_next_run_time(NextRun(parsed->cron, parsed->zone, after, s.schedule_start_time(),
                                  s.schedule_end_time()));
      {
        // The run and the schedule's next run in one transaction: recorded before the start,
        // unless the schedule was paused, changed or deleted since it was read.
        absl::MutexLock lock(&db_mu_);
        bool unchanged = false;
        RETURN_IF_ERROR(db_.InWriteTransaction([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_mu_) {
          RETURN_IF_ERROR(Sql(
              db_.get(), "SELECT data FROM cmig_schedules WHERE name = ?",
              [&](SqliteStatement& st) { st.BindText(1, s.name()); },
              [&](const SqliteStatement& st) {
                WorkflowSchedule now_stored;
                unchanged = now_stored.ParseFromString(st.ColumnBytes(0)) && !now_stored.paused() &&
                            now_stored.next_run_time() == slot &&
                            now_stored.updated_time() == s.updated_time();
              }));
          // Nothing is written then: the commit only ends the read.
          if (!unchanged) return absl::OkStatus();
          RETURN_IF_ERROR(WriteRun(run));
          return WriteRow(row);
        }));
        if (!unchanged) break;
      }
      if (run.state() == kSkipped) {
        spdlog::info("schedule {}: skipped the run of {}: {}", s.name(), slot, run.reason());
      } else {
        RETURN_IF_ERROR(StartRecorded(std::move(run), s));
      }
      ++started;
    }
  }
  return started;
}

absl::StatusOr<std::optional<std::string>> Scheduler::StillRunning(const std::string& name) {
  ScheduleExecution last;
  {
    absl::MutexLock lock(&db_mu_);
    RETURN_IF_ERROR(Sql(
        db_.get(),
        "SELECT data FROM cmig_schedule_runs WHERE schedule_name = ? AND state = ?"
        " ORDER BY scheduled_time DESC, rowid DESC LIMIT 1",
        [&](SqliteStatement& st) {
          st.BindText(1, name);
          st.BindText(2, kExecuted);
        },
        [&](const SqliteStatement& st) { last.ParseFromString(st.ColumnBytes(0)); }));
  }
  if (last.workflow_id().empty()) return std::nullopt;
  absl::StatusOr<conductor::proto::Workflow> wf = engine_.GetWorkflow(last.workflow_id(), false);
  if (!wf.ok()) return std::nullopt;  // removed: nothing runs
  if (wf->status() != conductor::proto::Workflow::RUNNING &&
      wf->status() != conductor::proto::Workflow::PAUSED) {
    return std::nullopt;
  }
  return absl::StrCat("the run of ", absl::FormatTime(absl::FromUnixMillis(last.scheduled_time())),
                      " (workflow ", last.workflow_id(), ") is still ",
                      conductor::proto::Workflow::WorkflowStatus_Name(wf->status()));
}

absl::Status Scheduler::StartRecorded(ScheduleExecution run, const WorkflowSchedule& schedule) {
  conductor::proto::StartWorkflowRequest request = schedule.start_workflow_request();
  auto& input = *request.mutable_input();
  input["_startedByScheduler"].set_string_value(schedule.name());
  input["_scheduledTime"].set_number_value(static_cast<double>(run.scheduled_time()));
  input["_executedTime"].set_number_value(static_cast<double>(run.execution_time()));
  input["_executionId"].set_string_value(run.execution_id());
  input["_schedulerCron"].set_string_value(
      absl::StrCat(schedule.cron_expression(), " ", run.zone_id()));
  absl::Notification done;
  absl::StatusOr<std::string> started;
  engine_.StartWorkflow(
      std::move(request),
      [&](absl::StatusOr<std::string> id) {
        started = std::move(id);
        done.Notify();
      },
      run.workflow_id());
  done.WaitForNotification();
  if (started.ok()) {
    run.set_state(kExecuted);
  } else {
    run.set_state(kFailed);
    run.set_reason(std::string(started.status().message()));
    spdlog::warn("schedule {}: the run of {} could not start its workflow: {}", run.schedule_name(),
                 run.scheduled_time(), started.status().ToString());
  }
  absl::MutexLock lock(&db_mu_);
  return WriteRun(run);
}

absl::Status Scheduler::Recover() {
  std::vector<ScheduleExecution> pending;
  {
    absl::MutexLock lock(&db_mu_);
    RETURN_IF_ERROR(Sql(
        db_.get(), "SELECT data FROM cmig_schedule_runs WHERE state = ? ORDER BY scheduled_time",
        [](SqliteStatement& s) { s.BindText(1, kPolled); },
        [&](const SqliteStatement& s) {
          ScheduleExecution run;
          if (run.ParseFromString(s.ColumnBytes(0))) pending.push_back(std::move(run));
        }));
  }
  for (ScheduleExecution& run : pending) {
    absl::StatusOr<WorkflowSchedule> schedule = Get(run.schedule_name());
    if (!schedule.ok()) continue;  // deleted meanwhile, with its runs
    RETURN_IF_ERROR(StartRecorded(std::move(run), *schedule));
  }
  return absl::OkStatus();
}

void Scheduler::Loop() {
  for (;;) {
    absl::StatusOr<int> ran = RunDue();
    if (!ran.ok()) spdlog::error("scheduler: {}", ran.status().ToString());
    absl::Duration sleep = options_.max_sleep;
    if (absl::StatusOr<std::vector<Row>> rows = LoadRows("", ""); rows.ok()) {
      const int64_t now = clock_.NowMs();
      for (const Row& r : *rows) {
        if (r.schedule.paused() || r.schedule.next_run_time() == 0) continue;
        sleep = std::min(
            sleep, absl::Milliseconds(std::max<int64_t>(r.schedule.next_run_time() - now, 0)));
      }
    }
    absl::MutexLock lock(&wake_mu_);
    if (!changed_ && !stopping_) wake_.WaitWithTimeout(&wake_mu_, sleep);
    changed_ = false;
    if (stopping_) return;
  }
}

}  // namespace cmig::orchestrator
