// Recurring migrations through the real migrationctl binary: a schedule due every second
// promotes A -> B three times (the first creates, the later ones find everything unchanged);
// list, runs, next, pause, resume and delete; and the errors.
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "tests/cli/migration_commands_fixture.h"
#include "tests/testing/wait_for.h"

namespace cmig::cli::test {
namespace {

using ::testing::HasSubstr;

// The migrations schedule `name` started, oldest first, once `n` of them completed.
std::vector<conductor::proto::Workflow> CompletedRuns(client::GrpcOrchestratorClient& a,
                                                      client::GrpcExtensionsClient& ext,
                                                      const std::string& name, int n) {
  std::vector<conductor::proto::Workflow> done;
  cmig::testing::WaitFor(
      [&] {
        done.clear();
        absl::StatusOr<std::vector<v1::ScheduleExecution>> runs =
            ext.ListScheduleExecutions(name, 100);
        if (!runs.ok()) return false;
        for (auto it = runs->rbegin(); it != runs->rend(); ++it) {
          if (it->state() != "EXECUTED") continue;
          absl::StatusOr<conductor::proto::Workflow> wf =
              a.GetWorkflowStatus(it->workflow_id(), /*include_tasks=*/true);
          if (!wf.ok() || wf->status() != conductor::proto::Workflow::COMPLETED) break;
          done.push_back(*std::move(wf));
        }
        return static_cast<int>(done.size()) >= n;
      },
      absl::Seconds(60), absl::Milliseconds(50));
  return done;
}

std::vector<std::string> Actions(const conductor::proto::Workflow& migration) {
  std::vector<std::string> out;
  const google::protobuf::Value& report = migration.output().at("report");
  for (const auto& item : Field(Field(report, "incoming"), "items").list_value().values()) {
    out.push_back(absl::StrCat(Field(item, "name").string_value(), " ",
                               Field(item, "status").string_value()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(MigrationCommandsTest, AScheduleDueEverySecondPromotesAToBAgainAndAgain) {
  SeedSource();
  StartWorkers();
  AddTargetEnvironment();
  RunResult created =
      Cli({"schedule", "create", "every-second", "--cron", "* * * * * *", "--zone", "Europe/Berlin",
           "--target", "B", "--workflow", "order_flow", "--source", "A"});
  ASSERT_EQ(created.exit_code, 0) << created;
  EXPECT_THAT(created.out, HasSubstr("schedule every-second: * * * * * * (Europe/Berlin) -> B"));

  std::vector<conductor::proto::Workflow> runs =
      CompletedRuns(*a_.client, *a_.ext, "every-second", 3);
  ASSERT_GE(runs.size(), 3u);
  // Each run is an ordinary migration; the first created everything, the next ones found it
  // unchanged.
  EXPECT_EQ(runs[0].input().at("_startedByScheduler").string_value(), "every-second");
  EXPECT_THAT(Actions(runs[0]), ::testing::Contains(HasSubstr("order_flow ITEM_ACTION_CREATE")));
  for (size_t i = 1; i < 3; ++i) {
    for (const std::string& action : Actions(runs[i])) {
      EXPECT_THAT(action, HasSubstr("ITEM_ACTION_UNCHANGED")) << "run " << i;
    }
  }
  EXPECT_OK(b_.client->GetWorkflowDef("pay_flow", 1).status());

  RunResult list = Cli({"schedule", "list"});
  ASSERT_EQ(list.exit_code, 0) << list;
  EXPECT_THAT(list.out, HasSubstr("every-second"));
  EXPECT_THAT(list.out, HasSubstr("outgoing_migration_request"));
  EXPECT_THAT(list.out, HasSubstr("active"));
  RunResult history = Cli({"schedule", "runs", "every-second", "--json"});
  ASSERT_EQ(history.exit_code, 0) << history;
  EXPECT_GE(Field(ParseOut(history), "runs").list_value().values_size(), 3);

  RunResult paused = Cli({"schedule", "pause", "every-second", "--reason", "release freeze"});
  ASSERT_EQ(paused.exit_code, 0) << paused;
  RunResult listed = Cli({"schedule", "list", "--json"});
  const google::protobuf::Value schedule =
      Field(ParseOut(listed), "schedules").list_value().values(0);
  EXPECT_TRUE(Field(schedule, "paused").bool_value());
  EXPECT_EQ(Field(schedule, "pausedReason").string_value(), "release freeze");
  RunResult next = Cli({"schedule", "next", "every-second"});
  ASSERT_EQ(next.exit_code, 0) << next;
  EXPECT_THAT(next.out, HasSubstr("is paused; once resumed it runs at"));
  EXPECT_EQ(Cli({"schedule", "resume", "every-second"}).exit_code, 0);
  EXPECT_EQ(Cli({"schedule", "delete", "every-second"}).exit_code, 0);
  RunResult gone = Cli({"schedule", "runs", "every-second"});
  EXPECT_EQ(gone.exit_code, 1) << gone;
  EXPECT_THAT(gone.err, HasSubstr("no schedule named 'every-second'"));
}

TEST_F(MigrationCommandsTest, MigrateCarriesASelectedScheduleAndItsWorkflowToB) {
  SeedSource();
  StartWorkers();
  AddTargetEnvironment();
  v1::WorkflowSchedule nightly;
  nightly.set_name("nightly-payments");
  nightly.set_cron_expression("0 15 1 * * *");
  nightly.set_zone_id("Europe/Berlin");
  nightly.mutable_start_workflow_request()->set_name("pay_flow");
  nightly.mutable_start_workflow_request()->set_version(1);
  ASSERT_OK(a_.ext->SaveSchedule(nightly).status());

  RunResult r = Cli(
      {"migrate", "--target", "B", "--schedule", "nightly-payments", "--source", "A", "--wait"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("nightly-payments"));
  // The schedule runs in B as in A, and the workflow it starts came with it (not order_flow).
  ASSERT_OK_AND_ASSIGN(v1::WorkflowSchedule arrived, b_.ext->GetSchedule("nightly-payments"));
  EXPECT_FALSE(arrived.paused());
  EXPECT_EQ(arrived.cron_expression(), "0 15 1 * * *");
  EXPECT_EQ(arrived.zone_id(), "Europe/Berlin");
  EXPECT_GT(arrived.next_run_time(), 0);
  EXPECT_OK(b_.client->GetWorkflowDef("pay_flow", 1).status());
  EXPECT_TRUE(absl::IsNotFound(b_.client->GetWorkflowDef("order_flow", 1).status()));

  RunResult empty = Cli({"migrate", "--target", "B", "--schedule", "", "--source", "A"});
  EXPECT_EQ(empty.exit_code, 2) << empty;
  EXPECT_THAT(empty.err, HasSubstr("selects nothing"));
  EXPECT_THAT(empty.err, HasSubstr("--schedule NAME"));
}

TEST_F(MigrationCommandsTest, ExportCarriesTheSchedulesItsConfigNames) {
  SeedSource();
  v1::WorkflowSchedule nightly;
  nightly.set_name("nightly-payments");
  nightly.set_cron_expression("0 15 1 * * *");
  nightly.mutable_start_workflow_request()->set_name("pay_flow");
  ASSERT_OK(a_.ext->SaveSchedule(nightly).status());
  const std::string config = dir_ + "/export.textproto";
  ASSERT_EQ(Cli({"template", "--output", config}).exit_code, 0);
  WriteFile(config, absl::StrReplaceAll(
                        ReadFile(config),
                        {{"address: \"\"", absl::StrCat("address: \"", server_->address(), "\"")},
                         {"# schedules: \"nightly_orders\"", "schedules: \"nightly-payments\""}}));
  const std::string package = dir_ + "/schedules.cmigpkg.json";
  RunResult e = RunCli({"export", "--config", config, "--output", package});
  ASSERT_EQ(e.exit_code, 0) << e;
  RunResult inspect = RunCli({"inspect", package});
  ASSERT_EQ(inspect.exit_code, 0) << inspect;
  EXPECT_THAT(inspect.out, HasSubstr("1 workflows, 1 task definitions, 1 schedules"));
  EXPECT_THAT(inspect.out, HasSubstr("schedule  nightly-payments"));
  EXPECT_THAT(inspect.out, HasSubstr("via schedule:nightly-payments"));
}

TEST_F(MigrationCommandsTest, ScheduleCreateRefusesWhatCannotWork) {
  AddTargetEnvironment();
  RunResult no_cron = Cli({"schedule", "create", "s", "--target", "B", "--workflow", "w"});
  EXPECT_EQ(no_cron.exit_code, 2) << no_cron;
  EXPECT_THAT(no_cron.err, HasSubstr("schedule create needs --cron"));
  RunResult nothing = Cli({"schedule", "create", "s", "--cron", "@daily", "--target", "B"});
  EXPECT_EQ(nothing.exit_code, 2) << nothing;
  EXPECT_THAT(nothing.err, HasSubstr("schedule create selects nothing"));
  RunResult bad_cron =
      Cli({"schedule", "create", "s", "--cron", "0 0 2 * *", "--target", "B", "--workflow", "w"});
  EXPECT_EQ(bad_cron.exit_code, 1) << bad_cron;
  EXPECT_THAT(bad_cron.err, HasSubstr("has 5 fields; it needs six"));
  RunResult bad_zone = Cli({"schedule", "create", "s", "--cron", "@daily", "--zone", "Nowhere/X",
                            "--target", "B", "--workflow", "w"});
  EXPECT_EQ(bad_zone.exit_code, 1) << bad_zone;
  EXPECT_THAT(bad_zone.err, HasSubstr("unknown time zone 'Nowhere/X'"));
  RunResult no_target =
      Cli({"schedule", "create", "s", "--cron", "@daily", "--target", "nope", "--workflow", "w"});
  EXPECT_NE(no_target.exit_code, 0) << no_target;
  EXPECT_THAT(no_target.err, HasSubstr("nope"));
  RunResult list = Cli({"schedule", "list"});
  EXPECT_THAT(list.out, HasSubstr("No schedules"));
}

}  // namespace
}  // namespace cmig::cli::test
