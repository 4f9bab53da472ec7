// The scheduler driven by a fake clock over a real engine and SQLite file: schedules saved,
// checked and listed; runs at the right instants across daylight-saving changes; catch-up on and
// off after a stop; pause and resume; and a restart between recording a run and starting its
// workflow, which neither loses the run nor starts it twice.
#include "orchestrator/scheduler.h"

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/civil_time.h"
#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/engine.h"
#include "orchestrator/store.h"
#include "orchestrator_testing.h"

namespace cmig::orchestrator {
namespace {

using ::cmig::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using v1::ScheduleExecution;
using v1::WorkflowSchedule;

class FakeClock final : public Clock {
 public:
  int64_t NowMs() const override { return now_.load(); }
  void Set(absl::Time t) { now_ = absl::ToUnixMillis(t); }

 private:
  std::atomic<int64_t> now_{0};
};

absl::Time Berlin(int y, int mo, int d, int h, int mi) {
  absl::TimeZone z;
  EXPECT_TRUE(absl::LoadTimeZone("Europe/Berlin", &z));
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, 0), z);
}

std::string BerlinText(int64_t ms) {
  absl::TimeZone z;
  EXPECT_TRUE(absl::LoadTimeZone("Europe/Berlin", &z));
  return absl::FormatTime("%Y-%m-%d %H:%M%Ez", absl::FromUnixMillis(ms), z);
}

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::MakeTempDir();
    clock_.Set(Berlin(2027, 3, 26, 12, 0));
    OpenAll();
    conductor::proto::WorkflowDef def;
    def.set_name("nightly");
    def.set_version(1);
    *def.add_tasks() = test::SimpleTask("nightly_step", "step");
    absl::Notification created;
    engine_->CreateWorkflowDef(def, [&](const absl::Status& s) {
      EXPECT_OK(s);
      created.Notify();
    });
    created.WaitForNotification();
  }
  void TearDown() override {
    CloseAll();
    std::filesystem::remove_all(dir_);
  }

  void OpenAll() {
    ASSERT_OK_AND_ASSIGN(store_, Store::Open(dir_ + "/o.db"));
    ASSERT_OK_AND_ASSIGN(engine_, Engine::Create(*store_, clock_, /*system_clock=*/false));
    OpenScheduler();
  }
  void OpenScheduler() {
    ASSERT_OK_AND_ASSIGN(scheduler_,
                         Scheduler::Open(dir_ + "/o.db", *engine_, clock_, {.run_thread = false}));
  }
  void CloseAll() {
    scheduler_.reset();
    engine_.reset();
    store_.reset();
  }

  WorkflowSchedule Schedule(const std::string& name, const std::string& cron) {
    WorkflowSchedule s;
    s.set_name(name);
    s.set_cron_expression(cron);
    s.set_zone_id("Europe/Berlin");
    s.mutable_start_workflow_request()->set_name("nightly");
    (*s.mutable_start_workflow_request()->mutable_input())["target"].set_string_value("prod");
    return s;
  }

  // The local times of `name`'s runs, oldest first.
  std::vector<std::string> RunTimes(const std::string& name) {
    absl::StatusOr<std::vector<ScheduleExecution>> runs = scheduler_->Executions(name, 1000);
    EXPECT_OK(runs.status());
    std::vector<std::string> out;
    if (!runs.ok()) return out;
    for (auto it = runs->rbegin(); it != runs->rend(); ++it) {
      out.push_back(BerlinText(it->scheduled_time()));
    }
    return out;
  }

  // Moves the clock to each instant in turn and lets the scheduler run what is due.
  void RunAt(std::initializer_list<absl::Time> instants) {
    for (absl::Time t : instants) {
      clock_.Set(t);
      ASSERT_OK(scheduler_->RunDue().status());
    }
  }

  std::string dir_;
  FakeClock clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Scheduler> scheduler_;
};

TEST_F(SchedulerTest, SchedulesAreCheckedSavedAndListed) {
  ASSERT_OK_AND_ASSIGN(WorkflowSchedule saved,
                       scheduler_->Save(Schedule("nightly_promotion", "0 0 2 * * *")));
  EXPECT_EQ(saved.create_time(), clock_.NowMs());
  EXPECT_EQ(BerlinText(saved.next_run_time()), "2027-03-27 02:00+01:00");
  ASSERT_OK_AND_ASSIGN(WorkflowSchedule got, scheduler_->Get("nightly_promotion"));
  EXPECT_EQ(got.next_run_time(), saved.next_run_time());
  EXPECT_EQ(got.start_workflow_request().input().at("target").string_value(), "prod");

  // An update keeps the creation time.
  clock_.Set(Berlin(2027, 3, 26, 13, 0));
  WorkflowSchedule changed = Schedule("nightly_promotion", "0 0 3 * * *");
  ASSERT_OK_AND_ASSIGN(WorkflowSchedule updated, scheduler_->Save(changed));
  EXPECT_EQ(updated.create_time(), saved.create_time());
  EXPECT_EQ(updated.updated_time(), clock_.NowMs());

  WorkflowSchedule other = Schedule("weekly_other", "@weekly");
  other.mutable_start_workflow_request()->set_name("other_flow");
  ASSERT_OK(scheduler_->Save(other).status());
  ASSERT_OK_AND_ASSIGN(auto all, scheduler_->List(""));
  EXPECT_EQ(all.size(), 2u);
  ASSERT_OK_AND_ASSIGN(auto of_nightly, scheduler_->List("nightly"));
  ASSERT_EQ(of_nightly.size(), 1u);
  EXPECT_EQ(of_nightly[0].name(), "nightly_promotion");

  auto error = [&](WorkflowSchedule s) {
    absl::StatusOr<WorkflowSchedule> r = scheduler_->Save(std::move(s));
    EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
    return r.ok() ? std::string() : std::string(r.status().message());
  };
  EXPECT_EQ(error(Schedule("", "@daily")), "a schedule needs a name");
  EXPECT_THAT(error(Schedule("bad", "0 0 2 * *")), HasSubstr("schedule 'bad': cron expression"));
  WorkflowSchedule zone = Schedule("bad", "@daily");
  zone.set_zone_id("Mars/Olympus");
  EXPECT_EQ(error(zone), "schedule 'bad': unknown time zone 'Mars/Olympus'");
  // A zone name is never read as a path: a device or pipe would stall the call.
  for (const char* path : {"/dev/stdin", "../../../dev/zero", "Europe/../../etc/passwd"}) {
    zone.set_zone_id(path);
    EXPECT_THAT(error(zone), HasSubstr("is not a time zone name")) << path;
  }
  WorkflowSchedule nothing = Schedule("bad", "@daily");
  nothing.clear_start_workflow_request();
  EXPECT_EQ(error(nothing), "schedule 'bad' needs a startWorkflowRequest naming a workflow");
  WorkflowSchedule bounds = Schedule("bad", "@daily");
  bounds.set_schedule_start_time(2000);
  bounds.set_schedule_end_time(1000);
  EXPECT_THAT(error(bounds), HasSubstr("scheduleEndTime comes before scheduleStartTime"));
  EXPECT_THAT(scheduler_->Get("bad"),
              StatusIs(absl::StatusCode::kNotFound, "Schedule 'bad' not found"));

  ASSERT_OK(scheduler_->Delete("weekly_other"));
  ASSERT_OK(scheduler_->Delete("weekly_other"));  // as Conductor: no error
  EXPECT_THAT(scheduler_->Get("weekly_other"), StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  EXPECT_THAT(scheduler_->Pause("weekly_other", ""),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));
}

TEST_F(SchedulerTest, RunsAtTheRightInstantsAcrossDaylightSavingChanges) {
  ASSERT_OK(scheduler_->Save(Schedule("half_past_two", "0 30 2 * * *")).status());
  ASSERT_OK(scheduler_->Save(Schedule("six", "0 0 6 * * *")).status());
  // A minute before each run nothing happens; at the run, it does. Clocks go forward at 02:00 on
  // the 28th: there is no 02:30 that day.
  RunAt({Berlin(2027, 3, 27, 2, 29), Berlin(2027, 3, 27, 2, 30), Berlin(2027, 3, 27, 5, 59),
         Berlin(2027, 3, 27, 6, 0), Berlin(2027, 3, 28, 4, 0), Berlin(2027, 3, 28, 6, 0),
         Berlin(2027, 3, 29, 2, 30), Berlin(2027, 3, 29, 6, 0)});
  EXPECT_THAT(RunTimes("half_past_two"),
              ElementsAre("2027-03-27 02:30+01:00", "2027-03-29 02:30+02:00"));
  EXPECT_THAT(RunTimes("six"), ElementsAre("2027-03-27 06:00+01:00", "2027-03-28 06:00+02:00",
                                           "2027-03-29 06:00+02:00"));

  // Each run started its workflow, with the scheduler's keys added to the input.
  ASSERT_OK_AND_ASSIGN(auto runs, scheduler_->Executions("six", 10));
  ASSERT_EQ(runs.size(), 3u);
  for (const ScheduleExecution& run : runs) {
    EXPECT_EQ(run.state(), "EXECUTED");
    ASSERT_OK_AND_ASSIGN(conductor::proto::Workflow wf,
                         engine_->GetWorkflow(run.workflow_id(), false));
    EXPECT_EQ(wf.workflow_definition().name(), "nightly");
    EXPECT_EQ(wf.input().at("target").string_value(), "prod");
    EXPECT_EQ(wf.input().at("_startedByScheduler").string_value(), "six");
    EXPECT_EQ(wf.input().at("_scheduledTime").number_value(), run.scheduled_time());
    EXPECT_EQ(wf.input().at("_schedulerCron").string_value(), "0 0 6 * * * Europe/Berlin");
  }
  // Clocks go back at 03:00 on October 31st: 02:30 happens twice and runs once.
  clock_.Set(Berlin(2027, 10, 30, 12, 0));
  ASSERT_OK(scheduler_->Save(Schedule("half_past_two", "0 30 2 * * *")).status());
  const absl::Time second_half_past_two = Berlin(2027, 10, 31, 3, 0) + absl::Minutes(30);
  RunAt({Berlin(2027, 10, 31, 2, 30), second_half_past_two, Berlin(2027, 11, 1, 2, 30)});
  EXPECT_THAT(RunTimes("half_past_two"),
              ElementsAre("2027-03-27 02:30+01:00", "2027-03-29 02:30+02:00",
                          "2027-10-31 02:30+02:00", "2027-11-01 02:30+01:00"));
}

TEST_F(SchedulerTest, AfterAStopCatchUpMakesEveryMissedRunAndOtherwiseOnlyTheLatest) {
  WorkflowSchedule catch_up = Schedule("catch_up", "0 0 * * * *");
  catch_up.set_run_catchup_schedule_instances(true);
  ASSERT_OK(scheduler_->Save(catch_up).status());
  ASSERT_OK(scheduler_->Save(Schedule("no_catch_up", "0 0 * * * *")).status());
  // Down from 12:00 to 17:30: the 13:00 ... 17:00 runs were missed.
  CloseAll();
  clock_.Set(Berlin(2027, 3, 26, 17, 30));
  OpenAll();
  ASSERT_OK(scheduler_->RunDue().status());
  EXPECT_THAT(RunTimes("catch_up"), ElementsAre("2027-03-26 13:00+01:00", "2027-03-26 14:00+01:00",
                                                "2027-03-26 15:00+01:00", "2027-03-26 16:00+01:00",
                                                "2027-03-26 17:00+01:00"));
  // One run, late, for the first missed instant; then on from now.
  EXPECT_THAT(RunTimes("no_catch_up"), ElementsAre("2027-03-26 13:00+01:00"));
  ASSERT_OK_AND_ASSIGN(WorkflowSchedule after, scheduler_->Get("no_catch_up"));
  EXPECT_EQ(BerlinText(after.next_run_time()), "2027-03-26 18:00+01:00");
  ASSERT_OK(scheduler_->RunDue().status());  // nothing more is due
  EXPECT_EQ(RunTimes("catch_up").size(), 5u);
  EXPECT_EQ(RunTimes("no_catch_up").size(), 1u);
}

TEST_F(SchedulerTest, PausedSchedulesMakeNoRunsAndResumeFromNow) {
  ASSERT_OK(scheduler_->Save(Schedule("hourly", "0 0 * * * *")).status());
  ASSERT_OK(scheduler_->Pause("hourly", "release freeze"));
  ASSERT_OK_AND_ASSIGN(WorkflowSchedule paused, scheduler_->Get("hourly"));
  EXPECT_TRUE(paused.paused());
  EXPECT_EQ(paused.paused_reason(), "release freeze");
  EXPECT_EQ(paused.next_run_time(), 0);
  RunAt({Berlin(2027, 3, 26, 13, 0), Berlin(2027, 3, 26, 15, 30)});
  EXPECT_TRUE(RunTimes("hourly").empty());
  ASSERT_OK(scheduler_->Resume("hourly"));
  ASSERT_OK_AND_ASSIGN(WorkflowSchedule resumed, scheduler_->Get("hourly"));
  EXPECT_FALSE(resumed.paused());
  EXPECT_EQ(resumed.paused_reason(), "");
  EXPECT_EQ(BerlinText(resumed.next_run_time()), "2027-03-26 16:00+01:00");
  RunAt({Berlin(2027, 3, 26, 16, 0)});
  EXPECT_THAT(RunTimes("hourly"), ElementsAre("2027-03-26 16:00+01:00"));
}

TEST_F(SchedulerTest, ARunWhileThePreviousStillRunsIsSkippedWhenTheScheduleSaysSo) {
  WorkflowSchedule s = Schedule("one_at_a_time", "0 0 * * * *");
  s.set_skip_while_running(true);
  ASSERT_OK(scheduler_->Save(s).status());
  ASSERT_OK(scheduler_->Save(Schedule("overlapping", "0 0 * * * *")).status());
  RunAt({Berlin(2027, 3, 26, 13, 0), Berlin(2027, 3, 26, 14, 0)});
  ASSERT_OK_AND_ASSIGN(auto runs, scheduler_->Executions("one_at_a_time", 10));
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[1].state(), "EXECUTED");
  EXPECT_EQ(runs[0].state(), "SKIPPED");
  EXPECT_EQ(runs[0].workflow_id(), "");
  EXPECT_THAT(runs[0].reason(),
              HasSubstr(absl::StrCat("(workflow ", runs[1].workflow_id(), ") is still RUNNING")));
  // Without the flag, runs overlap, as in Conductor.
  ASSERT_OK_AND_ASSIGN(auto overlapping, scheduler_->Executions("overlapping", 10));
  ASSERT_EQ(overlapping.size(), 2u);
  EXPECT_EQ(overlapping[0].state(), "EXECUTED");
  // Once the first run's workflow ended, the next run starts.
  absl::Notification ended;
  engine_->TerminateWorkflow(runs[1].workflow_id(), "done by hand", [&](const absl::Status& st) {
    EXPECT_OK(st);
    ended.Notify();
  });
  ended.WaitForNotification();
  RunAt({Berlin(2027, 3, 26, 15, 0)});
  ASSERT_OK_AND_ASSIGN(auto after, scheduler_->Executions("one_at_a_time", 10));
  ASSERT_EQ(after.size(), 3u);
  EXPECT_EQ(after[0].state(), "EXECUTED");
}

TEST_F(SchedulerTest, ARestartBetweenRecordingARunAndStartingItNeitherLosesNorRepeatsIt) {
  ASSERT_OK(scheduler_->Save(Schedule("six", "0 0 6 * * *")).status());
  RunAt({Berlin(2027, 3, 27, 6, 0), Berlin(2027, 3, 28, 6, 0)});
  ASSERT_OK_AND_ASSIGN(auto runs, scheduler_->Executions("six", 10));
  ASSERT_EQ(runs.size(), 2u);
  // As if the orchestrator stopped after recording each run: the first after its workflow
  // started (the start was made, its outcome not yet written), the second before it started.
  ScheduleExecution started = runs[1];
  ScheduleExecution not_started = runs[0];
  not_started.set_workflow_id("a-workflow-that-was-never-started");
  CloseAll();
  {
    ASSERT_OK_AND_ASSIGN(SqliteDb db, SqliteDb::Open(dir_ + "/o.db", 0, absl::Seconds(5)));
    for (ScheduleExecution run : {started, not_started}) {
      run.set_state("POLLED");
      ASSERT_OK_AND_ASSIGN(
          SqliteStatement s,
          SqliteStatement::Prepare(db.get(),
                                   "UPDATE cmig_schedule_runs SET state = ?, data = ?"
                                   " WHERE execution_id = ?"));
      s.BindText(1, run.state());
      s.BindBlob(2, run.SerializeAsString());
      s.BindText(3, run.execution_id());
      ASSERT_OK(s.Step().status());
    }
  }
  OpenAll();  // finishes both recorded runs
  ASSERT_OK_AND_ASSIGN(auto after, scheduler_->Executions("six", 10));
  ASSERT_EQ(after.size(), 2u);
  for (const ScheduleExecution& run : after) EXPECT_EQ(run.state(), "EXECUTED");
  EXPECT_EQ(after[0].workflow_id(), "a-workflow-that-was-never-started");
  ASSERT_OK(engine_->GetWorkflow("a-workflow-that-was-never-started", false).status());
  // The run whose workflow had started did not start another: the two workflows started before
  // the stop, and the one started now for the run that had none.
  ASSERT_OK_AND_ASSIGN(auto running, engine_->GetRunningWorkflows("nightly", 1, 0, 0));
  EXPECT_EQ(running.size(), 3u);
  // The next run is where it was before the stop.
  ASSERT_OK_AND_ASSIGN(WorkflowSchedule s, scheduler_->Get("six"));
  EXPECT_EQ(BerlinText(s.next_run_time()), "2027-03-29 06:00+02:00");
}

}  // namespace
}  // namespace cmig::orchestrator
