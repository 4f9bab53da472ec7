// Workflow schedules (proto/cmig/v1/schedules.proto): Conductor's scheduler in the embedded
// orchestrator. A schedule starts a workflow at each instant its cron expression (cron.h) names
// in its zone, between its start and end times, unless paused.
//
// Schedules, their next runs and their executions live in the orchestrator's SQLite file (tables
// cmig_schedules and cmig_schedule_runs, a connection of their own). A run is recorded, with the
// id its workflow will have, in the same transaction that moves the schedule to its next run,
// before the workflow starts; the start uses that id (Engine::StartWorkflow), so a start repeated
// after a crash finds the workflow instead of starting a second one, and no run is lost or made
// twice.
//
// After the orchestrator was down, a schedule with run_catchup_schedule_instances starts every run
// it missed, oldest first; without, it starts the latest overdue one, late, and goes on from now.
// Runs missed while paused are never made.
//
//   ASSIGN_OR_RETURN(auto scheduler, Scheduler::Open(db_path, engine, clock, {}));
//   ASSIGN_OR_RETURN(v1::WorkflowSchedule saved, scheduler->Save(schedule));
#ifndef CMIG_ORCHESTRATOR_SCHEDULER_H_
#define CMIG_ORCHESTRATOR_SCHEDULER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cmig/v1/schedules.pb.h"
#include "orchestrator/clock.h"
#include "orchestrator/engine.h"
#include "orchestrator/sqlite.h"

namespace cmig::orchestrator {

struct SchedulerOptions {
  // Whether a thread of the scheduler's own starts the runs as they come due. Tests leave it off
  // and call RunDue with a clock they move.
  bool run_thread = true;
  // The longest the thread goes without reading the clock (a schedule saved wakes it at once).
  // Short with a clock a test moves.
  absl::Duration max_sleep = absl::Seconds(30);
  // The most runs one RunDue starts (a catch-up after a long stop goes on at the next pass).
  int max_runs_per_pass = 100;
};

class Scheduler {
 public:
  // Opens the schedule tables in `db_path`, finishes the runs a stop interrupted (recorded, start
  // not known to have happened: started again under their recorded ids), and starts the thread.
  // `engine` and `clock` must outlive the scheduler.
  static absl::StatusOr<std::unique_ptr<Scheduler>> Open(const std::string& db_path, Engine& engine,
                                                         const Clock& clock,
                                                         SchedulerOptions options);
  ~Scheduler();  // stops the thread
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Creates or replaces the schedule of `schedule.name()` and returns it as stored (times set,
  // next run computed from now). InvalidArgument naming what is wrong: no name, a cron
  // expression or zone that does not parse, no workflow to start, an end before the start.
  absl::StatusOr<v1::WorkflowSchedule> Save(v1::WorkflowSchedule schedule);
  // NotFound: "Schedule '<name>' not found", as Conductor says it.
  absl::StatusOr<v1::WorkflowSchedule> Get(const std::string& name);
  // By name; only those that start `workflow_name` unless it is empty.
  absl::StatusOr<std::vector<v1::WorkflowSchedule>> List(const std::string& workflow_name);
  // Removes the schedule and its executions; an unknown name is no error (as Conductor).
  absl::Status Delete(const std::string& name);
  // NotFound for an unknown name. Pausing a paused schedule replaces its reason; resuming counts
  // from now, so runs missed while paused are not made.
  absl::Status Pause(const std::string& name, const std::string& reason);
  absl::Status Resume(const std::string& name);
  // Newest first; every schedule's when `schedule_name` is empty.
  absl::StatusOr<std::vector<v1::ScheduleExecution>> Executions(const std::string& schedule_name,
                                                                int limit);

  // The next `limit` (at most 5) runs of `cron` in `zone_id` from now, within the bounds (0 =
  // none), as Conductor's nextFewSchedules. InvalidArgument for a bad expression or zone.
  absl::StatusOr<std::vector<int64_t>> NextRunTimes(const std::string& cron,
                                                    const std::string& zone_id, int64_t start_ms,
                                                    int64_t end_ms, int limit) const;

  // Starts the runs due by the clock's now, each recorded before its workflow starts. Returns
  // how many it started (or tried to: a start that fails is a FAILED execution). The thread
  // calls it; tests call it after moving their clock.
  absl::StatusOr<int> RunDue();

 private:
  Scheduler(SqliteDb db, Engine& engine, const Clock& clock, SchedulerOptions options);
  struct Row;
  absl::Status Recover();
  // Why a run of schedule `name` must wait: its latest started workflow still runs.
  absl::StatusOr<std::optional<std::string>> StillRunning(const std::string& name);
  // Starts the workflow of a recorded run and records the outcome.
  absl::Status StartRecorded(v1::ScheduleExecution run, const v1::WorkflowSchedule& schedule);
  absl::StatusOr<std::vector<Row>> LoadRows(const char* where, const std::string& param);
  absl::Status WriteRow(const Row& row) ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_mu_);
  absl::Status WriteRun(const v1::ScheduleExecution& run) ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_mu_);
  void Loop();

  Engine& engine_;
  const Clock& clock_;
  const SchedulerOptions options_;
  absl::Mutex db_mu_;
  SqliteDb db_ ABSL_GUARDED_BY(db_mu_);
  // Serialises RunDue (the thread's and a test's) so that one run is never started twice.
  absl::Mutex run_mu_;
  absl::Mutex wake_mu_;
  absl::CondVar wake_;
  bool stopping_ ABSL_GUARDED_BY(wake_mu_) = false;
  bool changed_ ABSL_GUARDED_BY(wake_mu_) = false;
  std::thread thread_;
};

}  // namespace cmig::orchestrator

#endif  // CMIG_ORCHESTRATOR_SCHEDULER_H_
