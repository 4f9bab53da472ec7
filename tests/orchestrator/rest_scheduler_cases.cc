// Conductor's scheduler paths (/api/scheduler/...) over HTTP: a schedule in Conductor's JSON
// saved, read, listed, previewed, paused and resumed; bad ones refused naming what is wrong; and
// a schedule due every second starting its workflow on the orchestrator's own clock. Part of
// rest_api_test.
#include <string>

#include "absl/strings/str_cat.h"
#include "cmig/v1/schedules.grpc.pb.h"
#include "tests/orchestrator/rest_api_fixture.h"

namespace cmig::orchestrator::test {
namespace {

TEST_F(RestApiTest, SchedulesAreServedAsConductorsSchedulerServesThem) {
  DefineOneTaskWorkflow("report");
  HttpResult saved = rest_->Post("/api/scheduler/schedules", R"({
    "name": "daily_report", "cronExpression": "0 0 6 * * MON-FRI", "zoneId": "Europe/Berlin",
    "startWorkflowRequest": {"name": "report_wf", "input": {"x": 3}},
    "description": "the morning report"})");
  ASSERT_EQ(saved.status, 200) << saved.body;
  EXPECT_EQ(Field(saved.Json(), "name").string_value(), "daily_report");
  EXPECT_GT(Field(saved.Json(), "nextRunTime").number_value(), 0);
  EXPECT_GT(Field(saved.Json(), "createTime").number_value(), 0);
  EXPECT_EQ(Field(saved.Json(), "paused").bool_value(), false);

  HttpResult got = rest_->Get("/api/scheduler/schedules/daily_report");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(Field(Field(got.Json(), "startWorkflowRequest"), "name").string_value(), "report_wf");
  EXPECT_EQ(Field(got.Json(), "description").string_value(), "the morning report");
  EXPECT_EQ(rest_->Get("/api/scheduler/schedules?workflowName=report_wf")
                .Json()
                .list_value()
                .values_size(),
            1);
  EXPECT_EQ(
      rest_->Get("/api/scheduler/schedules?workflowName=other").Json().list_value().values_size(),
      0);

  HttpResult next =
      rest_->Get("/api/scheduler/nextFewSchedules?cronExpression=0%200%202%20*%20*%20*&limit=9");
  ASSERT_EQ(next.status, 200) << next.body;
  const Value next_times = next.Json();
  ASSERT_EQ(next_times.list_value().values_size(), 5);  // at most five, as Conductor
  const auto& times = next_times.list_value();
  EXPECT_EQ(times.values(1).number_value() - times.values(0).number_value(), 86'400'000);

  EXPECT_EQ(rest_->Put("/api/scheduler/schedules/daily_report/pause?reason=freeze", "").status,
            200);
  HttpResult paused = rest_->Get("/api/scheduler/schedules/daily_report");
  EXPECT_TRUE(Field(paused.Json(), "paused").bool_value());
  EXPECT_EQ(Field(paused.Json(), "pausedReason").string_value(), "freeze");
  EXPECT_EQ(Field(paused.Json(), "nextRunTime").number_value(), 0);
  EXPECT_EQ(rest_->Put("/api/scheduler/schedules/daily_report/resume", "").status, 200);
  EXPECT_GT(Field(rest_->Get("/api/scheduler/schedules/daily_report").Json(), "nextRunTime")
                .number_value(),
            0);

  HttpResult bad_cron = rest_->Post(
      "/api/scheduler/schedules",
      R"({"name":"bad","cronExpression":"0 0 25 * * *","startWorkflowRequest":{"name":"x"}})");
  EXPECT_EQ(bad_cron.status, 400);
  EXPECT_EQ(Field(bad_cron.Json(), "message").string_value(),
            "schedule 'bad': cron expression '0 0 25 * * *': the hour field '25' is out of "
            "range 0-23");
  HttpResult unknown = rest_->Get("/api/scheduler/schedules/bad");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(Field(unknown.Json(), "message").string_value(), "Schedule 'bad' not found");
  EXPECT_EQ(rest_->Put("/api/scheduler/schedules/bad/pause", "").status, 404);
  EXPECT_EQ(rest_->Get("/api/scheduler/nextFewSchedules?cronExpression=nope").status, 400);

  // The same schedules over gRPC (cmig.v1.Schedules, through its generated stub).
  auto schedules = cmig::v1::Schedules::NewStub(
      ::grpc::CreateChannel(server_->address(), ::grpc::InsecureChannelCredentials()));
  cmig::v1::GetScheduleRequest get;
  get.set_name("daily_report");
  cmig::v1::GetScheduleResponse over_grpc;
  ASSERT_TRUE(schedules->GetSchedule(grpc_->Ctx().get(), get, &over_grpc).ok());
  EXPECT_EQ(over_grpc.schedule().zone_id(), "Europe/Berlin");
  EXPECT_EQ(static_cast<double>(over_grpc.schedule().next_run_time()),
            Field(rest_->Get("/api/scheduler/schedules/daily_report").Json(), "nextRunTime")
                .number_value());
  cmig::v1::SaveScheduleRequest invalid;
  invalid.mutable_schedule()->set_name("no_cron");
  cmig::v1::SaveScheduleResponse not_saved;
  const ::grpc::Status refused = schedules->SaveSchedule(grpc_->Ctx().get(), invalid, &not_saved);
  EXPECT_EQ(refused.error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(refused.error_message(), "schedule 'no_cron' needs a cronExpression");

  // conductor-oss's search and bulk pause/resume.
  ASSERT_EQ(rest_
                ->Post("/api/scheduler/schedules", R"({"name":"Weekly_Audit",
      "cronExpression":"@weekly","startWorkflowRequest":{"name":"audit_wf"}})")
                .status,
            200);
  const Value by_part = rest_->Get("/api/scheduler/schedules/search?scheduleName=AUDIT").Json();
  EXPECT_EQ(Field(by_part, "totalHits").number_value(), 1);
  EXPECT_EQ(Field(Field(by_part, "results").list_value().values(0), "name").string_value(),
            "Weekly_Audit");
  const Value all = rest_->Get("/api/scheduler/schedules/search?start=1&size=5").Json();
  EXPECT_EQ(Field(all, "totalHits").number_value(), 2);
  ASSERT_EQ(Field(all, "results").list_value().values_size(), 1);  // the second, by name
  EXPECT_EQ(Field(Field(all, "results").list_value().values(0), "name").string_value(),
            "daily_report");
  HttpResult bulk = rest_->Put("/api/scheduler/bulk/pause", R"(["Weekly_Audit","ghost"])");
  ASSERT_EQ(bulk.status, 200) << bulk.body;
  const Value outcome = bulk.Json();
  EXPECT_EQ(Field(outcome, "bulkSuccessfulResults").list_value().values(0).string_value(),
            "Weekly_Audit");
  EXPECT_EQ(Field(Field(outcome, "bulkErrorResults"), "ghost").string_value(),
            "Schedule 'ghost' not found");
  const Value paused_ones = rest_->Get("/api/scheduler/schedules/search?paused=true").Json();
  EXPECT_EQ(Field(paused_ones, "totalHits").number_value(), 1);
  EXPECT_EQ(rest_->Get("/api/scheduler/schedules/search?paused=maybe").status, 400);
  EXPECT_EQ(rest_->Put("/api/scheduler/bulk/resume", R"(["Weekly_Audit"])").status, 200);
  EXPECT_FALSE(
      Field(rest_->Get("/api/scheduler/schedules/Weekly_Audit").Json(), "paused").bool_value());
  EXPECT_EQ(rest_->Put("/api/scheduler/bulk/pause", R"({"name":"x"})").status, 400);

  EXPECT_EQ(rest_->Delete("/api/scheduler/schedules/daily_report").status, 200);
  EXPECT_EQ(rest_->Get("/api/scheduler/schedules/daily_report").status, 404);
  EXPECT_EQ(schedules->GetSchedule(grpc_->Ctx().get(), get, &over_grpc).error_code(),
            ::grpc::StatusCode::NOT_FOUND);
}

TEST_F(RestApiTest, AScheduleDueEverySecondStartsItsWorkflow) {
  DefineOneTaskWorkflow("tick");
  ASSERT_EQ(rest_
                ->Post("/api/scheduler/schedules", R"({"name":"every_second",
      "cronExpression":"* * * * * *","startWorkflowRequest":{"name":"tick_wf"}})")
                .status,
            200);
  Value first;
  ASSERT_TRUE(WaitFor([&] {
    HttpResult found =
        rest_->Get("/api/scheduler/search/executions?query=scheduleName%20IN%20(every_second)");
    if (found.status != 200) return false;
    const Value body = found.Json();
    const Value& results = Field(body, "results");
    if (results.list_value().values_size() == 0) return false;
    // The oldest run, once its start is recorded (POLLED while it starts).
    first = results.list_value().values(results.list_value().values_size() - 1);
    return Field(first, "state").string_value() != "POLLED";
  }));
  EXPECT_EQ(Field(first, "state").string_value(), "EXECUTED");
  EXPECT_EQ(Field(first, "workflowName").string_value(), "tick_wf");
  HttpResult wf =
      rest_->Get(absl::StrCat("/api/workflow/", Field(first, "workflowId").string_value()));
  ASSERT_EQ(wf.status, 200) << wf.body;
  EXPECT_EQ(Field(Field(wf.Json(), "input"), "_startedByScheduler").string_value(), "every_second");
  EXPECT_EQ(Field(Field(wf.Json(), "input"), "_scheduledTime").number_value(),
            Field(first, "scheduledTime").number_value());
  EXPECT_EQ(rest_->Get("/api/scheduler/search/executions?query=status%20=%20x").status, 400);
  EXPECT_EQ(rest_->Delete("/api/scheduler/schedules/every_second").status, 200);
}

}  // namespace
}  // namespace cmig::orchestrator::test
