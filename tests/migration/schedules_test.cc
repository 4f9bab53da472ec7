// Workflow schedules as package items: selected by name or found from the workflows they start,
// packaged, planned with the conflict rules after their workflows, written paused when their
// workflow or a secret it reads is missing, snapshotted, restored and verified.
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "base/status_matchers.h"
#include "definitions/canonical.h"
#include "definitions/conductor_messages.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "migration/apply_order.h"
#include "migration/discovery.h"
#include "migration/package.h"
#include "migration/plan.h"
#include "migration/references.h"
#include "migration/snapshot.h"
#include "migration/verify.h"
#include "tests/migration/migration_fixtures.h"

namespace cmig::migration {
namespace {

using ::cmig::testing::Item;
using ::cmig::testing::Package;
using ::cmig::testing::SimpleWf;
using ::cmig::testing::StatusIs;
using ::cmig::testing::Wf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

v1::WorkflowSchedule Schedule(const std::string& text) {
  v1::WorkflowSchedule s;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &s)) << text;
  return s;
}

// nightly_orders starts order_flow (latest); weekly_report starts report_flow v1, which starts
// a sub-workflow reading secret "warehouse_token"; orphan starts a workflow nobody has.
void AddSource(InMemoryDefinitionSource* s) {
  s->AddWorkflowDef(SimpleWf("order_flow", 1, "pick"));
  s->AddWorkflowDef(SimpleWf("order_flow", 2, "pack"));
  s->AddWorkflowDef(Wf(R"pb(
    name: "report_flow"
    version: 1
    tasks {
      name: "sub"
      task_reference_name: "sub_ref"
      type: "SUB_WORKFLOW"
      sub_workflow_param { name: "export_flow" version: 1 }
    }
  )pb"));
  s->AddWorkflowDef(Wf(R"pb(
    name: "export_flow"
    version: 1
    tasks {
      name: "upload"
      task_reference_name: "upload_ref"
      type: "HTTP"
      input_parameters {
        key: "token"
        value { string_value: "${workflow.secrets.warehouse_token}" }
      }
    }
  )pb"));
  s->AddSchedule(Schedule(R"pb(
    name: "nightly_orders"
    cron_expression: "0 0 2 * * *"
    zone_id: "Europe/Berlin"
    start_workflow_request {
      name: "order_flow"
      input {
        key: "region"
        value { string_value: "eu" }
      }
    }
    create_time: 1790000000000
    created_by: "alice"
    updated_time: 1790000001000
    next_run_time: 1790003600000
  )pb"));
  s->AddSchedule(Schedule(R"pb(
    name: "weekly_report"
    cron_expression: "0 0 6 * * MON"
    start_workflow_request {
      name: "report_flow"
      version: 1
      task_to_domain { key: "upload" value: "eu" }
    }
  )pb"));
  s->AddSchedule(Schedule(R"pb(
    name: "orphan"
    cron_expression: "@hourly"
    start_workflow_request { name: "gone_flow" }
  )pb"));
}

v1::Selection Select(std::initializer_list<const char*> workflows,
                     std::initializer_list<const char*> schedules) {
  v1::Selection s;
  for (const char* w : workflows) s.add_workflows()->set_name(w);
  for (const char* n : schedules) s.add_schedules(n);
  return s;
}

std::vector<std::string> ScheduleNames(const Discovery& d) {
  std::vector<std::string> out;
  for (const auto& s : d.schedules) out.push_back(s.def.name());
  return out;
}

std::vector<std::string> WorkflowNames(const Discovery& d) {
  std::vector<std::string> out;
  for (const auto& w : d.workflows) out.push_back(absl::StrCat(w.def.name(), ":", w.def.version()));
  return out;
}

// Writes what the plan says into `target`, as the apply step does.
void Apply(const v1::MigrationPackage& p, const v1::MigrationPlan& plan,
           InMemoryDefinitionSource& target) {
  auto steps = StepsToApply(p, plan);
  ASSERT_OK(steps.status());
  for (const ApplyStep& s : *steps) {
    if (s.kind == v1::ITEM_KIND_TASK_DEF) target.AddTaskDef(s.task_def);
    if (s.kind == v1::ITEM_KIND_WORKFLOW_DEF) target.AddWorkflowDef(s.workflow_def);
    if (s.kind == v1::ITEM_KIND_SCHEDULE) {
      // A server sets its own times on what it saves.
      v1::WorkflowSchedule saved = s.schedule;
      saved.set_create_time(1800000000000);
      saved.set_next_run_time(1800000360000);
      target.AddSchedule(saved);
    }
  }
}

class SchedulesTest : public ::testing::Test {
 protected:
  void SetUp() override { AddSource(&source_); }
  InMemoryDefinitionSource source_;
  InMemoryDefinitionSource target_;
};

TEST(ScheduleDefinitionTest, WhatAServerSetsIsNotPartOfTheDefinition) {
  v1::WorkflowSchedule a = Schedule(R"pb(
    name: "s"
    cron_expression: "@daily"
    start_workflow_request { name: "w" }
    create_time: 1
    created_by: "x"
    updated_time: 2
    updated_by: "y"
    next_run_time: 3
  )pb");
  v1::WorkflowSchedule b = Schedule(R"pb(
    name: "s"
    cron_expression: "@daily"
    zone_id: "UTC"
    start_workflow_request { name: "w" }
  )pb");
  EXPECT_EQ(CanonicalJson(a), CanonicalJson(b));
  EXPECT_THAT(CanonicalJson(a), ::testing::Not(HasSubstr("createTime")));
  EXPECT_THAT(CanonicalJson(a), HasSubstr(R"("zoneId":"UTC")"));
  b.set_paused(true);
  EXPECT_NE(CanonicalJson(a), CanonicalJson(b));
  ASSERT_OK_AND_ASSIGN(v1::WorkflowSchedule back, ParseScheduleDefinition(CanonicalJson(b)));
  EXPECT_EQ(CanonicalJson(back), CanonicalJson(b));
  // conductor-oss answers unset Long and object fields as null, and keys of its own.
  ASSERT_OK_AND_ASSIGN(
      v1::WorkflowSchedule oss,
      ParseScheduleDefinition(
          R"({"name":"s","cronExpression":"@daily","zoneId":"UTC","paused":false,)"
          R"("pausedReason":null,"scheduleStartTime":null,"scheduleEndTime":null,)"
          R"("runCatchupScheduleInstances":false,"createTime":1,"updatedTime":null,)"
          R"("createdBy":null,"updatedBy":null,"description":null,"tags":[],)"
          R"("startWorkflowRequest":{"name":"w","version":null,"input":{},"taskToDomain":null,)"
          R"("workflowDef":null,"correlationId":null,"priority":0,"externalInputPayloadStoragePath":null}})"));
  EXPECT_EQ(CanonicalJson(oss), CanonicalJson(a));
  EXPECT_THAT(ParseScheduleDefinition(R"({"cronExpression":"@daily"})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no name")));
  EXPECT_THAT(ParseScheduleDefinition("[1]"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a JSON object")));
}

TEST_F(SchedulesTest, SchedulesOfAMigratedWorkflowComeAlongAndBringTheirWorkflow) {
  ASSERT_OK_AND_ASSIGN(Discovery d, Discover(Select({"order_flow"}, {}), source_, {}));
  EXPECT_THAT(ScheduleNames(d), ElementsAre("nightly_orders"));
  EXPECT_FALSE(d.schedules[0].requested);
  EXPECT_EQ(d.schedules[0].discovered_from, "workflow:order_flow:2");

  // A selected schedule brings the workflow it starts, and what that one uses.
  ASSERT_OK_AND_ASSIGN(Discovery w, Discover(Select({}, {"weekly_report"}), source_, {}));
  EXPECT_THAT(ScheduleNames(w), ElementsAre("weekly_report"));
  EXPECT_TRUE(w.schedules[0].requested);
  EXPECT_THAT(WorkflowNames(w), ElementsAre("export_flow:1", "report_flow:1"));
  EXPECT_EQ(w.workflows[1].discovered_from, "schedule:weekly_report");
  bool domain = false;
  for (const auto& dep : w.report.dependencies()) {
    if (dep.kind() != v1::DEPENDENCY_KIND_TASK_TO_DOMAIN) continue;
    domain = true;
    EXPECT_EQ(dep.name(), "upload=eu");
    EXPECT_EQ(DescribeReferrer(dep.referenced_by(0)),
              "schedule 'weekly_report' (startWorkflowRequest.taskToDomain)");
  }
  EXPECT_TRUE(domain);

  // Without discovery, only the schedule.
  ASSERT_OK_AND_ASSIGN(Discovery only, Discover(Select({}, {"weekly_report"}), source_,
                                                {.follow_references = false}));
  EXPECT_THAT(ScheduleNames(only), ElementsAre("weekly_report"));
  EXPECT_THAT(only.workflows, IsEmpty());
}

TEST_F(SchedulesTest, MissingOrUnavailableSelectedSchedulesAreNamed) {
  EXPECT_THAT(Discover(Select({}, {"nightly_orders", "nope"}), source_, {}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("schedule 'nope'")));
  source_.MarkSchedulesUnavailable(absl::UnimplementedError("no scheduler here"));
  EXPECT_THAT(Discover(Select({}, {"nightly_orders"}), source_, {}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no scheduler here")));
  // A source without a scheduler still migrates its workflows.
  ASSERT_OK_AND_ASSIGN(Discovery d, Discover(Select({"order_flow"}, {}), source_, {}));
  EXPECT_THAT(d.schedules, IsEmpty());
  // So does one whose schedules the key may not read (Orkes without the scheduler permission).
  source_.MarkSchedulesUnavailable(absl::PermissionDeniedError("403: no scheduler permission"));
  ASSERT_OK_AND_ASSIGN(Discovery denied, Discover(Select({"order_flow"}, {}), source_, {}));
  EXPECT_THAT(denied.schedules, IsEmpty());
  EXPECT_THAT(WorkflowNames(denied), ElementsAre("order_flow:2"));
  EXPECT_THAT(Discover(Select({}, {"nightly_orders"}), source_, {}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("schedules cannot be read: 403: no scheduler permission")));
}

TEST_F(SchedulesTest, PackagedLastAndValidated) {
  v1::MigrationPackage p = Package(source_, Select({"order_flow"}, {}));
  ASSERT_EQ(p.items_size(), 2);
  EXPECT_EQ(p.items(1).kind(), v1::ITEM_KIND_SCHEDULE);
  EXPECT_EQ(p.manifest().schedule_count(), 1);
  EXPECT_THAT(p.items(1).canonical_json(), ::testing::Not(HasSubstr("nextRunTime")));
  ASSERT_OK_AND_ASSIGN(PackageContents c, ValidatePackage(p));
  ASSERT_EQ(c.schedules.size(), 1u);
  EXPECT_EQ(c.schedules[0].start_workflow_request().input().at("region").string_value(), "eu");

  v1::MigrationPackage renamed = p;
  v1::WorkflowSchedule other = c.schedules[0];
  other.set_name("other");
  renamed.mutable_items(1)->set_canonical_json(CanonicalJson(other));
  renamed.mutable_items(1)->set_sha256(Sha256Hex(renamed.items(1).canonical_json()));
  renamed.mutable_manifest()->mutable_entries(1)->set_sha256(renamed.items(1).sha256());
  renamed.set_digest(ComputePackageDigest(renamed));
  EXPECT_THAT(ValidatePackage(renamed),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("schedule 'nightly_orders'): its JSON names schedule 'other'")));
  v1::MigrationPackage miscounted = p;
  miscounted.mutable_manifest()->set_schedule_count(3);
  EXPECT_THAT(ValidatePackage(miscounted),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("3 schedules")));
}

TEST_F(SchedulesTest, PlannedAfterTheWorkflowsAppliedVerifiedAndThenUnchanged) {
  v1::MigrationPackage p = Package(source_, Select({"order_flow"}, {}));
  ASSERT_OK_AND_ASSIGN(v1::MigrationPlan plan, PlanMigration(p, target_));
  ASSERT_FALSE(plan.blocked()) << plan.blocking_problems(0);
  ASSERT_EQ(plan.items_size(), 2);
  EXPECT_EQ(plan.items(0).kind(), v1::ITEM_KIND_WORKFLOW_DEF);
  EXPECT_EQ(plan.items(1).kind(), v1::ITEM_KIND_SCHEDULE);
  EXPECT_EQ(plan.items(1).action(), v1::ITEM_ACTION_CREATE);
  EXPECT_TRUE(plan.items(1).rewritten_json().empty());
  ASSERT_OK_AND_ASSIGN(v1::TargetSnapshot snap, TakeSnapshot(plan, target_));
  Apply(p, plan, target_);
  ASSERT_OK_AND_ASSIGN(v1::WorkflowSchedule written, target_.GetSchedule("nightly_orders"));
  EXPECT_FALSE(written.paused());
  EXPECT_EQ(written.zone_id(), "Europe/Berlin");
  ASSERT_OK_AND_ASSIGN(v1::Verification v, VerifyTarget(ReportFromPlan(p, plan, "test"), target_));
  EXPECT_TRUE(v.ok()) << v.problems(0);
  EXPECT_EQ(v.checked(), 2);

  // The server's own times do not make the next run see a difference.
  ASSERT_OK_AND_ASSIGN(v1::MigrationPlan again, PlanMigration(p, target_));
  for (const auto& i : again.items()) EXPECT_EQ(i.action(), v1::ITEM_ACTION_UNCHANGED) << i.name();

  // Restoring removes the schedule first, then the workflow.
  ASSERT_OK_AND_ASSIGN(std::vector<RestoreStep> restore, StepsToRestore(snap));
  ASSERT_EQ(restore.size(), 2u);
  EXPECT_EQ(restore[0].kind, v1::ITEM_KIND_SCHEDULE);
  EXPECT_EQ(restore[0].action, RestoreStep::Action::kRemove);

  // A schedule removed from the target by hand is missing to verification.
  target_.RemoveSchedule("nightly_orders");
  ASSERT_OK_AND_ASSIGN(v1::Verification gone,
                       VerifyTarget(ReportFromPlan(p, plan, "test"), target_));
  EXPECT_THAT(gone.problems(), ElementsAre("schedule 'nightly_orders' is missing from the target"));
}

TEST_F(SchedulesTest, ADifferentScheduleInTheTargetFollowsTheConflictStrategy) {
  v1::WorkflowSchedule theirs = *source_.GetSchedule("nightly_orders");
  theirs.set_cron_expression("0 30 3 * * *");
  target_.AddSchedule(theirs);
  target_.AddWorkflowDef(SimpleWf("order_flow", 2, "pack"));
  const v1::Selection sel = Select({}, {"nightly_orders"});
  auto plan_with = [&](v1::ConflictStrategy c) {
    v1::MigrationPackage p = Package(source_, sel, c, v1::VERSION_STRATEGY_PRESERVE,
                                     v1::ON_BLOCKED_FAIL, /*follow_references=*/false);
    auto plan = PlanMigration(p, target_);
    EXPECT_TRUE(plan.ok()) << plan.status();
    return *plan;
  };
  v1::MigrationPlan fail = plan_with(v1::CONFLICT_STRATEGY_FAIL);
  EXPECT_TRUE(fail.blocked());
  const v1::PlannedItem* conflict = Item(fail, v1::ITEM_KIND_SCHEDULE, "nightly_orders");
  ASSERT_NE(conflict, nullptr);
  EXPECT_EQ(conflict->action(), v1::ITEM_ACTION_CONFLICT);
  EXPECT_THAT(fail.blocking_problems(0), HasSubstr("schedule 'nightly_orders' differs"));
  ASSERT_EQ(conflict->differences_size(), 1);
  EXPECT_EQ(conflict->differences(0).path(), "cronExpression");
  EXPECT_EQ(Item(plan_with(v1::CONFLICT_STRATEGY_SKIP), v1::ITEM_KIND_SCHEDULE, "nightly_orders")
                ->action(),
            v1::ITEM_ACTION_SKIP);

  v1::MigrationPackage p = Package(source_, sel, v1::CONFLICT_STRATEGY_UPDATE,
                                   v1::VERSION_STRATEGY_PRESERVE, v1::ON_BLOCKED_FAIL, false);
  ASSERT_OK_AND_ASSIGN(v1::MigrationPlan update, PlanMigration(p, target_));
  EXPECT_EQ(Item(update, v1::ITEM_KIND_SCHEDULE, "nightly_orders")->action(),
            v1::ITEM_ACTION_UPDATE);
  ASSERT_OK_AND_ASSIGN(v1::TargetSnapshot snap, TakeSnapshot(update, target_));
  Apply(p, update, target_);
  EXPECT_EQ(target_.GetSchedule("nightly_orders")->cron_expression(), "0 0 2 * * *");
  // The rollback puts the target's own schedule back.
  ASSERT_OK_AND_ASSIGN(std::vector<RestoreStep> restore, StepsToRestore(snap));
  ASSERT_EQ(restore.size(), 1u);
  EXPECT_EQ(restore[0].action, RestoreStep::Action::kPut);
  EXPECT_EQ(restore[0].schedule.cron_expression(), "0 30 3 * * *");
}

TEST_F(SchedulesTest, AScheduleWhoseWorkflowIsMissingIsWrittenPausedSayingWhy) {
  v1::MigrationPackage p = Package(source_, Select({}, {"orphan"}));
  ASSERT_OK_AND_ASSIGN(v1::MigrationPlan plan, PlanMigration(p, target_));
  EXPECT_FALSE(plan.blocked());
  const v1::PlannedItem* item = Item(plan, v1::ITEM_KIND_SCHEDULE, "orphan");
  ASSERT_NE(item, nullptr);
  EXPECT_EQ(item->action(), v1::ITEM_ACTION_CREATE);
  ASSERT_OK_AND_ASSIGN(v1::WorkflowSchedule written,
                       ParseScheduleDefinition(item->rewritten_json()));
  EXPECT_TRUE(written.paused());
  EXPECT_EQ(
      written.paused_reason(),
      "paused by the migration: schedule 'orphan' (startWorkflowRequest.name) starts "
      "workflow 'gone_flow' (latest version), which is neither in the package nor in the target");
  EXPECT_THAT(item->reasons(0), HasSubstr("schedule 'orphan' is written paused"));
  EXPECT_EQ(item->planned_sha256(), Sha256Hex(item->rewritten_json()));
  Apply(p, plan, target_);
  ASSERT_OK_AND_ASSIGN(v1::Verification v, VerifyTarget(ReportFromPlan(p, plan, "test"), target_));
  EXPECT_TRUE(v.ok()) << v.problems(0);

  // Once the workflow exists in the target, the next run writes it active.
  target_.AddWorkflowDef(SimpleWf("gone_flow", 1, "x"));
  v1::MigrationPackage update =
      Package(source_, Select({}, {"orphan"}), v1::CONFLICT_STRATEGY_UPDATE);
  ASSERT_OK_AND_ASSIGN(v1::MigrationPlan resumed, PlanMigration(update, target_));
  const v1::PlannedItem* again = Item(resumed, v1::ITEM_KIND_SCHEDULE, "orphan");
  EXPECT_EQ(again->action(), v1::ITEM_ACTION_UPDATE);
  EXPECT_TRUE(again->rewritten_json().empty());
}

TEST_F(SchedulesTest, AScheduleWhoseWorkflowReadsAMissingSecretIsWrittenPaused) {
  v1::MigrationPackage p = Package(source_, Select({}, {"weekly_report"}));
  ASSERT_OK_AND_ASSIGN(PackageContents contents, ValidatePackage(p));
  // A secret nothing it starts reads changes nothing.
  ASSERT_OK_AND_ASSIGN(v1::MigrationPlan unaffected,
                       PlanMigration(p, contents, target_, {"other_secret"}));
  EXPECT_TRUE(Item(unaffected, v1::ITEM_KIND_SCHEDULE, "weekly_report")->rewritten_json().empty());

  // export_flow, a sub-workflow of report_flow, reads warehouse_token.
  ASSERT_OK_AND_ASSIGN(v1::MigrationPlan plan,
                       PlanMigration(p, contents, target_, {"warehouse_token"}));
  const v1::PlannedItem* item = Item(plan, v1::ITEM_KIND_SCHEDULE, "weekly_report");
  EXPECT_EQ(item->action(), v1::ITEM_ACTION_CREATE);
  ASSERT_OK_AND_ASSIGN(v1::WorkflowSchedule written,
                       ParseScheduleDefinition(item->rewritten_json()));
  EXPECT_TRUE(written.paused());
  EXPECT_EQ(written.paused_reason(),
            "paused by the migration: the workflow it starts reads secret(s) 'warehouse_token', "
            "which the target does not hold");
  EXPECT_EQ(item->planned_sha256(), Sha256Hex(item->rewritten_json()));
  Apply(p, plan, target_);
  EXPECT_TRUE(target_.GetSchedule("weekly_report")->paused());
  ASSERT_OK_AND_ASSIGN(v1::Verification v, VerifyTarget(ReportFromPlan(p, plan, "test"), target_));
  EXPECT_TRUE(v.ok()) << v.problems(0);
  // Planned again with the secret still missing, the paused schedule is unchanged.
  ASSERT_OK_AND_ASSIGN(v1::MigrationPlan again,
                       PlanMigration(p, contents, target_, {"warehouse_token"}));
  EXPECT_EQ(Item(again, v1::ITEM_KIND_SCHEDULE, "weekly_report")->action(),
            v1::ITEM_ACTION_UNCHANGED);
}

TEST_F(SchedulesTest, UnderNewVersionAScheduleStartsTheVersionTheTargetGives) {
  target_.AddWorkflowDef(SimpleWf("report_flow", 1, "someone_elses_task"));
  v1::MigrationPackage p = Package(source_, Select({}, {"weekly_report"}),
                                   v1::CONFLICT_STRATEGY_FAIL, v1::VERSION_STRATEGY_NEW_VERSION);
  ASSERT_OK_AND_ASSIGN(v1::MigrationPlan plan, PlanMigration(p, target_));
  ASSERT_FALSE(plan.blocked()) << plan.blocking_problems(0);
  EXPECT_EQ(Item(plan, v1::ITEM_KIND_WORKFLOW_DEF, "report_flow")->target_version(), 2);
  const v1::PlannedItem* s = Item(plan, v1::ITEM_KIND_SCHEDULE, "weekly_report");
  ASSERT_OK_AND_ASSIGN(v1::WorkflowSchedule written, ParseScheduleDefinition(s->rewritten_json()));
  EXPECT_EQ(written.start_workflow_request().version(), 2);
  EXPECT_FALSE(written.paused());
  Apply(p, plan, target_);
  ASSERT_OK_AND_ASSIGN(v1::Verification v, VerifyTarget(ReportFromPlan(p, plan, "test"), target_));
  EXPECT_TRUE(v.ok()) << v.problems(0);
}

TEST_F(SchedulesTest, UnderOnBlockedSkipAScheduleGoesAndStaysWithItsWorkflow) {
  // order_flow v2 conflicts in the target: it and its schedule are left out.
  target_.AddWorkflowDef(SimpleWf("order_flow", 2, "someone_elses_task"));
  v1::MigrationPackage p =
      Package(source_, Select({"order_flow", "report_flow"}, {}), v1::CONFLICT_STRATEGY_FAIL,
              v1::VERSION_STRATEGY_PRESERVE, v1::ON_BLOCKED_SKIP);
  ASSERT_OK_AND_ASSIGN(v1::MigrationPlan plan, PlanMigration(p, target_));
  EXPECT_FALSE(plan.blocked());
  const v1::PlannedItem* nightly = Item(plan, v1::ITEM_KIND_SCHEDULE, "nightly_orders");
  EXPECT_EQ(nightly->action(), v1::ITEM_ACTION_LEFT_OUT);
  EXPECT_THAT(nightly->reasons(0), HasSubstr("depends on workflow 'order_flow' version 2"));
  // weekly_report, found through report_flow, stays with it.
  EXPECT_EQ(Item(plan, v1::ITEM_KIND_SCHEDULE, "weekly_report")->action(), v1::ITEM_ACTION_CREATE);
  EXPECT_EQ(Item(plan, v1::ITEM_KIND_WORKFLOW_DEF, "report_flow")->action(),
            v1::ITEM_ACTION_CREATE);
}

TEST_F(SchedulesTest, ATargetWithoutASchedulerBlocksTheSchedule) {
  target_.MarkSchedulesUnavailable(absl::UnimplementedError("no scheduler module"));
  v1::MigrationPackage p = Package(source_, Select({"order_flow"}, {}));
  ASSERT_OK_AND_ASSIGN(v1::MigrationPlan plan, PlanMigration(p, target_));
  EXPECT_TRUE(plan.blocked());
  EXPECT_THAT(plan.blocking_problems(),
              ElementsAre(HasSubstr("schedule 'nightly_orders' cannot be written: the target has "
                                    "no scheduler (")));
  target_.MarkSchedulesUnavailable(absl::PermissionDeniedError("403"));
  ASSERT_OK_AND_ASSIGN(v1::MigrationPlan denied, PlanMigration(p, target_));
  EXPECT_THAT(denied.blocking_problems(),
              ElementsAre(HasSubstr("the target's schedules may not be read with this key (reading "
                                    "schedule 'nightly_orders' from the target: 403)")));
}

}  // namespace
}  // namespace cmig::migration
