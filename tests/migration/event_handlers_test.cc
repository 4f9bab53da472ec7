// Event handlers as package items: found from the events workflows publish and followed to the
// workflows they start, packaged, planned, applied after the workflows, snapshotted, restored and
// verified.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/status_matchers.h"
#include "definitions/canonical.h"
#include "definitions/conductor_messages.h"
#include "gmock/gmock.h"
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

namespace cp = conductor::proto;
using ::cmig::testing::Item;
using ::cmig::testing::Package;
using ::cmig::testing::SimpleWf;
using ::cmig::testing::StatusIs;
using ::cmig::testing::Wf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

cp::EventHandler Handler(const std::string& text) {
  cp::EventHandler h;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &h)) << text;
  return h;
}

// order_flow publishes three events on Conductor's own queue (sink "conductor", sink
// "conductor:shipped", and from inside an inline sub-workflow) and one to SQS.
void AddSource(InMemoryDefinitionSource* s) {
  s->AddWorkflowDef(Wf(R"pb(
    name: "order_flow"
    version: 1
    tasks { name: "notify" task_reference_name: "notify_ref" type: "EVENT" sink: "conductor" }
    tasks {
      name: "shipped"
      task_reference_name: "shipped_ref"
      type: "EVENT"
      sink: "conductor:shipped"
    }
    tasks { name: "audit" task_reference_name: "audit_ref" type: "EVENT" sink: "sqs:audit" }
    tasks {
      name: "child"
      task_reference_name: "child_ref"
      type: "SUB_WORKFLOW"
      sub_workflow_param {
        name: "inline_child"
        workflow_definition {
          struct_value {
            fields {
              key: "name"
              value { string_value: "inline_child" }
            }
            fields {
              key: "tasks"
              value {
                list_value {
                  values {
                    struct_value {
                      fields {
                        key: "name"
                        value { string_value: "inner" }
                      }
                      fields {
                        key: "taskReferenceName"
                        value { string_value: "inner" }
                      }
                      fields {
                        key: "type"
                        value { string_value: "EVENT" }
                      }
                      fields {
                        key: "sink"
                        value { string_value: "conductor" }
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  )pb"));
  s->AddWorkflowDef(SimpleWf("followup", 1, "follow_task"));
  s->AddTaskDef(cmig::testing::Td("follow_task"));
  s->AddEventHandler(Handler(R"pb(
    name: "on_notify"
    event: "conductor:order_flow:notify_ref"
    active: true
    actions {
      action: START_WORKFLOW
      start_workflow { name: "followup" version: 1 }
    }
  )pb"));
  s->AddEventHandler(Handler(R"pb(
    name: "on_shipped"
    event: "conductor:order_flow:shipped"
    active: true
    actions {
      action: COMPLETE_TASK
      complete_task { workflow_id: "${workflowId}" task_ref_name: "w" }
    }
  )pb"));
  s->AddEventHandler(Handler(R"pb(
    name: "on_inner"
    event: "conductor:inline_child:inner"
    actions {
      action: START_WORKFLOW
      start_workflow { name: "${payload.flow}" }
    }
  )pb"));
  s->AddEventHandler(Handler(R"pb(
    name: "on_sqs"
    event: "sqs:orders"
    active: true
    actions {
      action: START_WORKFLOW
      start_workflow { name: "order_flow" }
    }
  )pb"));
  s->AddEventHandler(Handler(R"pb(
    name: "unrelated"
    event: "conductor:other_flow:x"
    actions {
      action: START_WORKFLOW
      start_workflow { name: "followup" }
    }
  )pb"));
}

v1::Selection Workflows(std::initializer_list<const char*> names) {
  v1::Selection s;
  for (const char* n : names) s.add_workflows()->set_name(n);
  return s;
}

v1::Selection Handlers(std::initializer_list<const char*> names) {
  v1::Selection s;
  for (const char* n : names) s.add_event_handlers(n);
  return s;
}

std::vector<std::string> HandlerNames(const Discovery& d) {
  std::vector<std::string> names;
  for (const auto& h : d.event_handlers) names.push_back(h.def.name());
  return names;
}

std::vector<std::string> WorkflowNames(const Discovery& d) {
  std::vector<std::string> names;
  for (const auto& w : d.workflows)
    names.push_back(absl::StrCat(w.def.name(), ":", w.def.version()));
  return names;
}

std::vector<std::string> Sinks(const Discovery& d) {
  std::vector<std::string> names;
  for (const auto& dep : d.report.dependencies()) {
    if (dep.kind() == v1::DEPENDENCY_KIND_EVENT_SINK) names.push_back(dep.name());
  }
  return names;
}

// Writes what the plan says into `target`, as the apply step does.
void Apply(const v1::MigrationPackage& p, const v1::MigrationPlan& plan,
           InMemoryDefinitionSource& target) {
  auto steps = StepsToApply(p, plan);
  ASSERT_OK(steps.status());
  for (const ApplyStep& s : *steps) {
    if (s.kind == v1::ITEM_KIND_TASK_DEF) target.AddTaskDef(s.task_def);
    if (s.kind == v1::ITEM_KIND_WORKFLOW_DEF) target.AddWorkflowDef(s.workflow_def);
    if (s.kind == v1::ITEM_KIND_EVENT_HANDLER) target.AddEventHandler(s.event_handler);
  }
}

class EventHandlersTest : public ::testing::Test {
 protected:
  void SetUp() override { AddSource(&source_); }
  InMemoryDefinitionSource source_;
  InMemoryDefinitionSource target_;
};

TEST(ConductorEventPublishedTest, NamesTheEventAsConductorDoes) {
  EXPECT_EQ(ConductorEventPublished("wf", "conductor", "ref"), "conductor:wf:ref");
  EXPECT_EQ(ConductorEventPublished("wf", "conductor:done", "ref"), "conductor:wf:done");
  EXPECT_EQ(ConductorEventPublished("wf", "sqs:q", "ref"), std::nullopt);
  EXPECT_EQ(ConductorEventPublished("wf", "conductor:", "ref"), std::nullopt);
}

TEST_F(EventHandlersTest, HandlersOfTheEventsAWorkflowPublishesAreFoundAndFollowed) {
  ASSERT_OK_AND_ASSIGN(Discovery d, Discover(Workflows({"order_flow"}), source_, {}));
  EXPECT_THAT(HandlerNames(d), ElementsAre("on_inner", "on_notify", "on_shipped"));
  for (const auto& h : d.event_handlers) {
    EXPECT_FALSE(h.requested);
    EXPECT_EQ(h.discovered_from, "workflow:order_flow:1");
  }
  // on_notify starts followup v1, which comes along with its task definition.
  EXPECT_THAT(WorkflowNames(d), ElementsAre("followup:1", "order_flow:1"));
  EXPECT_EQ(d.workflows[0].discovered_from, "event_handler:on_notify");
  ASSERT_EQ(d.task_defs.size(), 1u);
  // Only the external queue is something to provide by hand.
  EXPECT_THAT(Sinks(d), ElementsAre("sqs:audit"));
  // on_inner names its workflow from the event's payload: unresolved, named by the handler.
  bool found = false;
  for (const auto& u : d.report.unresolved()) {
    if (u.referenced_by().event_handler() != "on_inner") continue;
    found = true;
    EXPECT_EQ(u.kind(), v1::UNRESOLVED_KIND_EXPRESSION);
    EXPECT_EQ(u.name(), "${payload.flow}");
    EXPECT_EQ(DescribeReferrer(u.referenced_by()),
              "event handler 'on_inner' (actions[0].start_workflow.name)");
  }
  EXPECT_TRUE(found);
}

TEST_F(EventHandlersTest, ASelectedHandlerBringsTheWorkflowsItStartsAndItsQueue) {
  ASSERT_OK_AND_ASSIGN(Discovery d, Discover(Handlers({"on_sqs"}), source_, {}));
  // on_sqs starts order_flow, whose events bring the other three.
  EXPECT_THAT(HandlerNames(d), ElementsAre("on_inner", "on_notify", "on_shipped", "on_sqs"));
  EXPECT_TRUE(d.event_handlers[3].requested);
  EXPECT_EQ(d.event_handlers[0].discovered_from, "workflow:order_flow:1");
  EXPECT_THAT(WorkflowNames(d), Contains("order_flow:1"));
  EXPECT_THAT(Sinks(d), ElementsAre("sqs:audit", "sqs:orders"));

  // Without discovery only the handler itself.
  ASSERT_OK_AND_ASSIGN(Discovery only,
                       Discover(Handlers({"on_sqs"}), source_, {.follow_references = false}));
  EXPECT_THAT(HandlerNames(only), ElementsAre("on_sqs"));
  EXPECT_THAT(only.workflows, IsEmpty());
}

TEST_F(EventHandlersTest, MissingOrUnavailableSelectedHandlersAreNamed) {
  EXPECT_THAT(Discover(Handlers({"on_sqs", "nope"}), source_, {}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("event handler 'nope'")));
  source_.MarkEventHandlersUnavailable(absl::UnimplementedError("no event API"));
  EXPECT_THAT(Discover(Handlers({"on_sqs"}), source_, {}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no event API")));
  // A source without handlers still migrates its workflows.
  ASSERT_OK_AND_ASSIGN(Discovery d, Discover(Workflows({"order_flow"}), source_, {}));
  EXPECT_THAT(d.event_handlers, IsEmpty());
  EXPECT_THAT(WorkflowNames(d), ElementsAre("order_flow:1"));
}

TEST_F(EventHandlersTest, PackagedLastAndValidated) {
  v1::MigrationPackage p = Package(source_, Workflows({"order_flow"}));
  ASSERT_EQ(p.items_size(), 6);
  EXPECT_EQ(p.items(5).kind(), v1::ITEM_KIND_EVENT_HANDLER);
  EXPECT_EQ(p.items(5).name(), "on_shipped");
  EXPECT_EQ(p.manifest().event_handler_count(), 3);
  ASSERT_OK_AND_ASSIGN(PackageContents c, ValidatePackage(p));
  ASSERT_EQ(c.event_handlers.size(), 3u);
  EXPECT_EQ(c.event_handlers[1].actions(0).start_workflow().name(), "followup");
  EXPECT_EQ(p.items(4).sha256(), Sha256Hex(p.items(4).canonical_json()));

  v1::MigrationPackage renamed = p;
  renamed.mutable_items(4)->set_canonical_json(
      CanonicalJson(Handler(R"pb(name: "other" event: "e")pb")));
  renamed.mutable_items(4)->set_sha256(Sha256Hex(renamed.items(4).canonical_json()));
  renamed.mutable_manifest()->mutable_entries(4)->set_sha256(renamed.items(4).sha256());
  renamed.set_digest(ComputePackageDigest(renamed));
  EXPECT_THAT(ValidatePackage(renamed),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("event handler 'on_notify'): its JSON names event handler "
                                 "'other'")));
  v1::MigrationPackage miscounted = p;
  miscounted.mutable_manifest()->set_event_handler_count(1);
  EXPECT_THAT(ValidatePackage(miscounted),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1 event handlers")));
}

TEST_F(EventHandlersTest, PlannedAfterTheWorkflowsAppliedAndThenUnchanged) {
  v1::MigrationPackage p = Package(source_, Workflows({"order_flow"}));
  ASSERT_OK_AND_ASSIGN(v1::MigrationPlan plan, PlanMigration(p, target_));
  EXPECT_FALSE(plan.blocked()) << plan.blocking_problems(0);
  ASSERT_EQ(plan.items_size(), 6);
  EXPECT_EQ(plan.items(3).kind(), v1::ITEM_KIND_EVENT_HANDLER);
  for (int i = 3; i < 6; ++i) EXPECT_EQ(plan.items(i).action(), v1::ITEM_ACTION_CREATE);
  ASSERT_OK_AND_ASSIGN(v1::TargetSnapshot snap, TakeSnapshot(plan, target_));
  Apply(p, plan, target_);
  ASSERT_EQ(target_.event_handlers().size(), 3u);
  EXPECT_EQ(CanonicalJson(target_.event_handlers().at("on_notify")), p.items(4).canonical_json());
  ASSERT_OK_AND_ASSIGN(v1::Verification v, VerifyTarget(ReportFromPlan(p, plan, "test"), target_));
  EXPECT_TRUE(v.ok()) << v.problems(0);
  EXPECT_EQ(v.checked(), 6);

  ASSERT_OK_AND_ASSIGN(v1::MigrationPlan again, PlanMigration(p, target_));
  for (const auto& i : again.items()) EXPECT_EQ(i.action(), v1::ITEM_ACTION_UNCHANGED) << i.name();

  // Restoring removes every handler the apply created, before the workflows.
  ASSERT_OK_AND_ASSIGN(std::vector<RestoreStep> restore, StepsToRestore(snap));
  ASSERT_EQ(restore.size(), 6u);
  EXPECT_EQ(restore[0].kind, v1::ITEM_KIND_EVENT_HANDLER);
  EXPECT_EQ(restore[0].action, RestoreStep::Action::kRemove);
  EXPECT_EQ(restore[0].name, "on_shipped");
}

TEST_F(EventHandlersTest, ADifferentHandlerInTheTargetFollowsTheConflictStrategy) {
  cp::EventHandler theirs = source_.event_handlers().at("on_notify");
  theirs.set_active(false);
  target_.AddEventHandler(theirs);
  const v1::Selection sel = Handlers({"on_notify"});
  auto plan_with = [&](v1::ConflictStrategy c) {
    v1::MigrationPackage p = Package(source_, sel, c, v1::VERSION_STRATEGY_PRESERVE,
                                     v1::ON_BLOCKED_FAIL, /*follow_references=*/false);
    target_.AddWorkflowDef(SimpleWf("followup", 1, "follow_task"));
    auto plan = PlanMigration(p, target_);
    EXPECT_TRUE(plan.ok()) << plan.status();
    return *plan;
  };
  v1::MigrationPlan fail = plan_with(v1::CONFLICT_STRATEGY_FAIL);
  EXPECT_TRUE(fail.blocked());
  EXPECT_EQ(Item(fail, v1::ITEM_KIND_EVENT_HANDLER, "on_notify")->action(),
            v1::ITEM_ACTION_CONFLICT);
  EXPECT_THAT(fail.blocking_problems(0), HasSubstr("event handler 'on_notify' differs"));
  EXPECT_EQ(Item(plan_with(v1::CONFLICT_STRATEGY_SKIP), v1::ITEM_KIND_EVENT_HANDLER, "on_notify")
                ->action(),
            v1::ITEM_ACTION_SKIP);

  v1::MigrationPackage p = Package(source_, sel, v1::CONFLICT_STRATEGY_UPDATE,
                                   v1::VERSION_STRATEGY_PRESERVE, v1::ON_BLOCKED_FAIL, false);
  ASSERT_OK_AND_ASSIGN(v1::MigrationPlan update, PlanMigration(p, target_));
  EXPECT_EQ(Item(update, v1::ITEM_KIND_EVENT_HANDLER, "on_notify")->action(),
            v1::ITEM_ACTION_UPDATE);
  ASSERT_OK_AND_ASSIGN(v1::TargetSnapshot snap, TakeSnapshot(update, target_));
  Apply(p, update, target_);
  EXPECT_TRUE(target_.event_handlers().at("on_notify").active());
  // The rollback puts the target's own handler back.
  ASSERT_OK_AND_ASSIGN(std::vector<RestoreStep> restore, StepsToRestore(snap));
  ASSERT_EQ(restore.size(), 1u);
  EXPECT_EQ(restore[0].action, RestoreStep::Action::kPut);
  EXPECT_FALSE(restore[0].event_handler.active());
  EXPECT_EQ(CanonicalJson(restore[0].event_handler), CanonicalJson(theirs));
}

TEST_F(EventHandlersTest, UnderNewVersionAHandlerStartsTheVersionTheTargetGives) {
  // The target's followup v1 differs, so the package's v1 becomes v2 there.
  target_.AddWorkflowDef(SimpleWf("followup", 1, "someone_elses_task"));
  v1::MigrationPackage p = Package(source_, Handlers({"on_notify"}), v1::CONFLICT_STRATEGY_FAIL,
                                   v1::VERSION_STRATEGY_NEW_VERSION);
  ASSERT_OK_AND_ASSIGN(v1::MigrationPlan plan, PlanMigration(p, target_));
  ASSERT_FALSE(plan.blocked()) << plan.blocking_problems(0);
  EXPECT_EQ(Item(plan, v1::ITEM_KIND_WORKFLOW_DEF, "followup")->target_version(), 2);
  const v1::PlannedItem* h = Item(plan, v1::ITEM_KIND_EVENT_HANDLER, "on_notify");
  ASSERT_NE(h, nullptr);
  EXPECT_NE(h->planned_sha256(), h->source_sha256());
  ASSERT_OK_AND_ASSIGN(cp::EventHandler written, ParseEventHandler(h->rewritten_json()));
  EXPECT_EQ(written.actions(0).start_workflow().version(), 2);
  Apply(p, plan, target_);
  ASSERT_OK_AND_ASSIGN(v1::Verification v, VerifyTarget(ReportFromPlan(p, plan, "test"), target_));
  EXPECT_TRUE(v.ok()) << v.problems(0);
}

TEST_F(EventHandlersTest, AHandlerWhoseWorkflowIsMissingBlocksOrIsLeftOutWithWhatNeedsIt) {
  const v1::Selection sel = Handlers({"on_notify"});
  v1::MigrationPackage p = Package(source_, sel, v1::CONFLICT_STRATEGY_FAIL,
                                   v1::VERSION_STRATEGY_PRESERVE, v1::ON_BLOCKED_FAIL, false);
  ASSERT_OK_AND_ASSIGN(v1::MigrationPlan plan, PlanMigration(p, target_));
  EXPECT_TRUE(plan.blocked());
  EXPECT_THAT(plan.blocking_problems(),
              ElementsAre("event handler 'on_notify' (actions[0].start_workflow.name) starts "
                          "workflow 'followup' version 1, which is neither in the package nor in "
                          "the target"));

  // A conflicting handler under on-blocked skip is left out, and so is the workflow whose event
  // it handles; what nothing else needs goes too.
  cp::EventHandler theirs = source_.event_handlers().at("on_notify");
  theirs.set_condition("false");
  target_.AddEventHandler(theirs);
  v1::MigrationPackage skip =
      Package(source_, Workflows({"order_flow"}), v1::CONFLICT_STRATEGY_FAIL,
              v1::VERSION_STRATEGY_PRESERVE, v1::ON_BLOCKED_SKIP);
  ASSERT_OK_AND_ASSIGN(v1::MigrationPlan left, PlanMigration(skip, target_));
  EXPECT_FALSE(left.blocked());
  EXPECT_EQ(Item(left, v1::ITEM_KIND_EVENT_HANDLER, "on_notify")->action(),
            v1::ITEM_ACTION_LEFT_OUT);
  const v1::PlannedItem* order = Item(left, v1::ITEM_KIND_WORKFLOW_DEF, "order_flow");
  EXPECT_EQ(order->action(), v1::ITEM_ACTION_LEFT_OUT);
  EXPECT_THAT(order->reasons(0), HasSubstr("depends on event handler 'on_notify'"));
  EXPECT_EQ(Item(left, v1::ITEM_KIND_EVENT_HANDLER, "on_shipped")->action(),
            v1::ITEM_ACTION_LEFT_OUT);
}

TEST_F(EventHandlersTest, ATargetWithoutAnEventHandlerApiBlocksTheHandlersNamingIt) {
  target_.MarkEventHandlersUnavailable(absl::UnimplementedError("no /api/event here"));
  v1::MigrationPackage p = Package(source_, Workflows({"order_flow"}));
  ASSERT_OK_AND_ASSIGN(v1::MigrationPlan plan, PlanMigration(p, target_));
  EXPECT_TRUE(plan.blocked());
  EXPECT_THAT(plan.blocking_problems(),
              Contains(HasSubstr("event handler 'on_notify' cannot be written: the target has no "
                                 "event handler API")));
  EXPECT_EQ(Item(plan, v1::ITEM_KIND_WORKFLOW_DEF, "order_flow")->action(), v1::ITEM_ACTION_CREATE);
}

TEST_F(EventHandlersTest, VerificationNamesAMissingOrChangedHandlerAndAMissingWorkflow) {
  v1::MigrationPackage p = Package(source_, Workflows({"order_flow"}));
  ASSERT_OK_AND_ASSIGN(v1::MigrationPlan plan, PlanMigration(p, target_));
  Apply(p, plan, target_);
  v1::MigrationReport report = ReportFromPlan(p, plan, "test");
  target_.RemoveEventHandler("on_shipped");
  cp::EventHandler changed = target_.event_handlers().at("on_inner");
  changed.set_active(true);
  target_.AddEventHandler(changed);
  target_.RemoveWorkflowDef("followup", 1);
  ASSERT_OK_AND_ASSIGN(v1::Verification v, VerifyTarget(report, target_));
  EXPECT_FALSE(v.ok());
  EXPECT_THAT(v.problems(), Contains("event handler 'on_shipped' is missing from the target"));
  EXPECT_THAT(v.problems(),
              Contains(HasSubstr("event handler 'on_inner' in the target has sha256")));
  EXPECT_THAT(v.problems(),
              Contains("event handler 'on_notify' (actions[0].start_workflow.name): workflow "
                       "'followup' version 1 does not exist in the target"));
  EXPECT_THAT(v.problems(), Not(Contains(HasSubstr("on_sqs"))));
}

}  // namespace
}  // namespace cmig::migration
