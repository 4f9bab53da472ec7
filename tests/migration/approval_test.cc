#include "migration/approval.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cmig::migration {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

v1::PlannedItem* Add(v1::MigrationPlan& plan, v1::ItemKind kind, const std::string& name,
                     v1::ItemAction action) {
  v1::PlannedItem* i = plan.add_items();
  i->set_kind(kind);
  i->set_name(name);
  i->set_action(action);
  i->set_target_sha256("t-" + name);
  i->set_planned_sha256("p-" + name);
  return i;
}

v1::MigrationPlan SamplePlan() {
  v1::MigrationPlan plan;
  Add(plan, v1::ITEM_KIND_TASK_DEF, "charge", v1::ITEM_ACTION_CREATE);
  v1::PlannedItem* wf = Add(plan, v1::ITEM_KIND_WORKFLOW_DEF, "order", v1::ITEM_ACTION_UPDATE);
  wf->set_source_version(2);
  wf->set_target_version(2);
  Add(plan, v1::ITEM_KIND_SECRET, "key", v1::ITEM_ACTION_CREATE);
  return plan;
}

TEST(PlanFingerprintTest, CoversWhatIsWrittenAndNotTheExplanations) {
  const std::string base = PlanFingerprint(SamplePlan());
  EXPECT_EQ(base.size(), 64u);
  v1::MigrationPlan explained = SamplePlan();
  explained.mutable_items(0)->add_reasons("why");
  explained.add_warnings("a warning");
  EXPECT_EQ(PlanFingerprint(explained), base);
  // A secret's keyed hashes differ on every plan: they take no part.
  v1::MigrationPlan rekeyed = SamplePlan();
  rekeyed.mutable_items(2)->set_planned_sha256("another key");
  EXPECT_EQ(PlanFingerprint(rekeyed), base);

  v1::MigrationPlan target_changed = SamplePlan();
  target_changed.mutable_items(1)->set_target_sha256("edited by hand");
  EXPECT_NE(PlanFingerprint(target_changed), base);
  v1::MigrationPlan other_action = SamplePlan();
  other_action.mutable_items(2)->set_action(v1::ITEM_ACTION_UNCHANGED);
  EXPECT_NE(PlanFingerprint(other_action), base);
  v1::MigrationPlan other_version = SamplePlan();
  other_version.mutable_items(1)->set_target_version(3);
  EXPECT_NE(PlanFingerprint(other_version), base);
  v1::MigrationPlan fewer = SamplePlan();
  fewer.mutable_items()->RemoveLast();
  EXPECT_NE(PlanFingerprint(fewer), base);
}

TEST(ApplyApprovalTest, BlocksAPlanThatIsNotTheApprovedOne) {
  v1::MigrationPackage package;
  package.set_digest("d1");
  v1::MigrationPlan plan = SamplePlan();
  ApplyApproval(package, plan);  // no approval: only the fingerprint
  EXPECT_EQ(plan.fingerprint(), PlanFingerprint(SamplePlan()));
  EXPECT_FALSE(plan.blocked());

  v1::ApprovedPlan& approval = *package.mutable_options()->mutable_approved_plan();
  approval.set_dry_run_workflow_id("dry-1");
  approval.set_package_digest("d1");
  approval.set_plan_fingerprint(PlanFingerprint(SamplePlan()));
  v1::MigrationPlan same = SamplePlan();
  ApplyApproval(package, same);
  EXPECT_FALSE(same.blocked());
  EXPECT_TRUE(same.blocking_problems().empty());

  v1::MigrationPlan changed = SamplePlan();
  changed.mutable_items(0)->set_action(v1::ITEM_ACTION_UPDATE);
  ApplyApproval(package, changed);
  EXPECT_TRUE(changed.blocked());
  EXPECT_THAT(changed.blocking_problems(),
              ElementsAre(HasSubstr("the target changed since dry run dry-1")));

  package.set_digest("d2");
  v1::MigrationPlan other_package = SamplePlan();
  ApplyApproval(package, other_package);
  EXPECT_THAT(other_package.blocking_problems(),
              ElementsAre(HasSubstr("the package is not the one dry run dry-1 planned")));
}

v1::PackageItem* AddItem(v1::MigrationPackage& p, v1::ItemKind kind, const std::string& name,
                         int version, const std::string& sha) {
  v1::PackageItem* i = p.add_items();
  i->set_kind(kind);
  i->set_name(name);
  i->set_version(version);
  i->set_sha256(sha);
  return i;
}

TEST(CheckApprovedPackageTest, NamesEveryItemThatChangedAppearedOrWentInTheSource) {
  v1::MigrationPackage approved;
  approved.set_digest("before");
  AddItem(approved, v1::ITEM_KIND_WORKFLOW_DEF, "order", 1, "a");
  AddItem(approved, v1::ITEM_KIND_TASK_DEF, "charge", 0, "b");
  AddItem(approved, v1::ITEM_KIND_TASK_DEF, "gone", 0, "c");
  v1::MigrationPackage now;
  now.set_digest("after");
  now.mutable_options()->mutable_approved_plan()->set_dry_run_workflow_id("dry-1");
  now.mutable_options()->mutable_approved_plan()->set_package_digest("before");
  AddItem(now, v1::ITEM_KIND_WORKFLOW_DEF, "order", 1, "a2");
  AddItem(now, v1::ITEM_KIND_TASK_DEF, "charge", 0, "b");
  AddItem(now, v1::ITEM_KIND_TASK_DEF, "fresh", 0, "d");

  absl::Status s = CheckApprovedPackage(now, &approved);
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("the source changed since dry run dry-1 was approved "
                                     "(package digest before, now after): workflow 'order' "
                                     "version 1 changed; task definition 'fresh' is new; task "
                                     "definition 'gone' is gone"));
  // Without the dry run's package (deleted, it carried secrets): the digests alone.
  absl::Status bare = CheckApprovedPackage(now, nullptr);
  EXPECT_THAT(bare.message(), HasSubstr("(package digest before, now after); nothing was pushed"));

  now.set_digest("before");
  EXPECT_TRUE(CheckApprovedPackage(now, &approved).ok());
  now.mutable_options()->clear_approved_plan();
  now.set_digest("anything");
  EXPECT_TRUE(CheckApprovedPackage(now, nullptr).ok());
}

TEST(ChangedSinceApprovalTest, SaysHowEachItemsOutcomeChanged) {
  auto item = [](v1::MigrationReport& r, v1::ItemKind kind, const std::string& name,
                 v1::ItemAction status, const std::string& target_sha) {
    v1::ItemReport* i = r.add_items();
    i->set_kind(kind);
    i->set_name(name);
    i->set_status(status);
    i->set_target_sha256(target_sha);
    i->set_sha256("p");
    return i;
  };
  v1::MigrationReport approved;
  item(approved, v1::ITEM_KIND_TASK_DEF, "a", v1::ITEM_ACTION_CREATE, "");
  item(approved, v1::ITEM_KIND_TASK_DEF, "b", v1::ITEM_ACTION_UPDATE, "x");
  item(approved, v1::ITEM_KIND_SECRET, "s", v1::ITEM_ACTION_UPDATE, "k1");
  item(approved, v1::ITEM_KIND_TASK_DEF, "gone", v1::ITEM_ACTION_CREATE, "");
  v1::MigrationReport now;
  item(now, v1::ITEM_KIND_TASK_DEF, "a", v1::ITEM_ACTION_UPDATE, "y");
  item(now, v1::ITEM_KIND_TASK_DEF, "b", v1::ITEM_ACTION_UPDATE, "x2");
  item(now, v1::ITEM_KIND_SECRET, "s", v1::ITEM_ACTION_UPDATE, "k2");  // rekeyed: the same
  item(now, v1::ITEM_KIND_TASK_DEF, "new", v1::ITEM_ACTION_CREATE, "");
  EXPECT_THAT(ChangedSinceApproval(approved, now),
              ElementsAre("task definition 'a': the dry run planned CREATE, now UPDATE",
                          "task definition 'b': the target's definition changed since the dry run",
                          "task definition 'new': not in the dry run's plan",
                          "task definition 'gone': in the dry run's plan, not in this one"));
}

}  // namespace
}  // namespace cmig::migration
