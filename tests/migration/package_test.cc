#include "migration/package.h"

#include <algorithm>
#include <string>

#include "absl/time/time.h"
#include "base/status_matchers.h"
#include "definitions/canonical.h"
#include "definitions/conductor_json.h"
#include "definitions/json_overlay.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/migration/migration_fixtures.h"

namespace cmig::migration {
namespace {

using ::cmig::testing::AddSourceEnvironment;
using ::cmig::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

class PackageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AddSourceEnvironment(&source_);
    selection_.add_workflows()->set_name("order_flow");
    auto d = Discover(selection_, source_, {});
    ASSERT_TRUE(d.ok()) << d.status();
    discovery_ = *std::move(d);
  }

  PackageHeader Header() {
    PackageHeader h;
    h.source_environment = "dev";
    h.created_at = absl::FromUnixSeconds(1790000000) + absl::Milliseconds(250);
    h.options.set_conflict_strategy(v1::CONFLICT_STRATEGY_SKIP);
    h.options.set_version_strategy(v1::VERSION_STRATEGY_NEW_VERSION);
    h.selection = selection_;
    return h;
  }

  v1::MigrationPackage Build() {
    auto built = BuildPackage(discovery_, Header());
    EXPECT_TRUE(built.ok()) << built.status();
    return built->package;
  }

  InMemoryDefinitionSource source_;
  v1::Selection selection_;
  Discovery discovery_;
};

TEST_F(PackageTest, BuildsHashedSortedItemsManifestAndDigest) {
  v1::MigrationPackage p = Build();
  EXPECT_EQ(p.format_version(), kPackageFormatVersion);
  EXPECT_EQ(p.source_environment(), "dev");
  EXPECT_EQ(p.created_at().seconds(), 1790000000);
  EXPECT_EQ(p.created_at().nanos(), 250000000);
  EXPECT_EQ(p.options().conflict_strategy(), v1::CONFLICT_STRATEGY_SKIP);
  ASSERT_EQ(p.items_size(), 11);
  std::vector<std::string> keys;
  for (const auto& item : p.items()) {
    keys.push_back(absl::StrCat(item.kind(), ":", item.name(), ":", item.version()));
    EXPECT_EQ(item.sha256(), Sha256Hex(item.canonical_json()));
    EXPECT_EQ(item.sha256().size(), 64u);
  }
  EXPECT_THAT(keys,
              ElementsAre("1:audit_log:0", "1:call_api:0", "1:charge_card:0", "1:notify:0",
                          "1:ship_order:0", "2:audit_flow:3", "2:express_flow:1", "2:label_flow:1",
                          "2:order_cleanup:1", "2:order_flow:2", "2:packing_flow:2"));
  EXPECT_EQ(p.items(9).canonical_json(), CanonicalJson(*source_.GetWorkflowDef("order_flow", 2)));
  EXPECT_EQ(p.manifest().workflow_def_count(), 6);
  EXPECT_EQ(p.manifest().task_def_count(), 5);
  ASSERT_EQ(p.manifest().entries_size(), 11);
  EXPECT_TRUE(p.manifest().entries(9).requested());
  EXPECT_FALSE(p.manifest().entries(6).requested());
  EXPECT_EQ(p.manifest().entries(6).discovered_from(), "workflow:order_flow:2");
  EXPECT_EQ(p.manifest().selection().workflows(0).name(), "order_flow");
  EXPECT_EQ(p.dependencies().SerializeAsString(), discovery_.report.SerializeAsString());
  EXPECT_EQ(p.digest(), ComputePackageDigest(p));
  EXPECT_FALSE(p.contains_secret_values());
  EXPECT_EQ(p.secrets_size(), 0);
  EXPECT_OK(ValidatePackage(p));
}

TEST_F(PackageTest, JsonRoundTripKeepsEverythingAndStillValidates) {
  v1::MigrationPackage p = Build();
  std::string json = PackageToJson(p, /*pretty=*/true).value();
  EXPECT_THAT(json, HasSubstr("\"formatVersion\": 2"));
  auto parsed = PackageFromJson(json);
  ASSERT_OK(parsed.status());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(p, *parsed));
  auto contents = ValidatePackage(*parsed);
  ASSERT_OK(contents.status());
  EXPECT_EQ(contents->task_defs.size(), 5u);
  ASSERT_EQ(contents->workflows.size(), 6u);
  // order_flow's inline sub-workflow is normalised (defaults filled) by the converter, so compare
  // canonical forms; express_flow has none and comes back as the very same proto.
  EXPECT_EQ(CanonicalJson(contents->workflows[4]),
            CanonicalJson(*source_.GetWorkflowDef("order_flow", 2)));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      contents->workflows[1], *source_.GetWorkflowDef("express_flow", 1)));
  EXPECT_EQ(contents->workflow_items[0], 5);
}

TEST_F(PackageTest, MalformedJsonAndUnknownFieldsAreInvalidArgument) {
  EXPECT_THAT(PackageFromJson("{\"formatVersion\": 1"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not valid JSON")));
  EXPECT_THAT(PackageFromJson("{\"formatVersion\": 1, \"surprise\": true}"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("surprise")));
}

TEST_F(PackageTest, DigestIgnoresItemOrderButCoversHeaderItemsAndSecrets) {
  v1::MigrationPackage p = Build();
  v1::MigrationPackage reordered = p;
  std::reverse(reordered.mutable_items()->begin(), reordered.mutable_items()->end());
  EXPECT_EQ(ComputePackageDigest(reordered), p.digest());

  auto changed = [&](auto mutate) {
    v1::MigrationPackage q = p;
    mutate(q);
    return ComputePackageDigest(q) != p.digest();
  };
  EXPECT_TRUE(changed([](auto& q) { q.set_source_environment("prod"); }));
  // When it was built and whether it is a dry run are not content (see the test below).
  EXPECT_FALSE(changed([](auto& q) { q.mutable_created_at()->set_nanos(1); }));
  EXPECT_FALSE(changed([](auto& q) { q.mutable_options()->set_dry_run(true); }));
  EXPECT_TRUE(changed(
      [](auto& q) { q.mutable_options()->set_conflict_strategy(v1::CONFLICT_STRATEGY_UPDATE); }));
  EXPECT_TRUE(changed([](auto& q) { q.mutable_items(0)->set_sha256(std::string(64, '0')); }));
  EXPECT_TRUE(changed([](auto& q) { q.mutable_items(3)->set_name("other"); }));
  EXPECT_TRUE(changed([](auto& q) { q.mutable_items()->RemoveLast(); }));
  EXPECT_TRUE(changed([](auto& q) { q.add_secrets()->set_name("s"); }));
}

TEST_F(PackageTest, TamperedItemIsRejected) {
  v1::MigrationPackage p = Build();
  std::string json = p.items(9).canonical_json();
  json.replace(json.find("order_cleanup"), 13, "evil_cleanup!");
  p.mutable_items(9)->set_canonical_json(json);
  EXPECT_THAT(ValidatePackage(p),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("item 9 (workflow 'order_flow' version 2): sha256"),
                             HasSubstr("does not match its canonical JSON"))));

  // Recomputing the item hash is not enough: the digest no longer matches.
  p.mutable_items(9)->set_sha256(Sha256Hex(json));
  p.mutable_manifest()->mutable_entries(9)->set_sha256(p.items(9).sha256());
  EXPECT_THAT(ValidatePackage(p), StatusIs(absl::StatusCode::kInvalidArgument,
                                           HasSubstr("does not match its content")));
}

TEST_F(PackageTest, ExtraKeysTravelBesideTheProtoAndAreHashed) {
  // order_flow v2 as a REST server holds it: Orkes tags, and an onStateChange on its first task.
  DiscoveredWorkflow* order = nullptr;
  for (DiscoveredWorkflow& w : discovery_.workflows) {
    if (w.def.name() == "order_flow" && w.def.version() == 2) order = &w;
  }
  ASSERT_NE(order, nullptr);
  auto extra = ParseJson(R"({"tags":[{"key":"team","value":"payments"}],)"
                         R"("tasks":[{"onStateChange":{"onFailed":[{"type":"notify"}]}}]})");
  ASSERT_OK(extra.status());
  google::protobuf::Value converted = WorkflowDefToValue(order->def);
  // The extra's tasks list must line up with the definition's.
  for (int i = 1; i < converted.struct_value().fields().at("tasks").list_value().values_size();
       ++i) {
    extra->mutable_struct_value()
        ->mutable_fields()
        ->at("tasks")
        .mutable_list_value()
        ->add_values()
        ->set_null_value(google::protobuf::NULL_VALUE);
  }
  const std::string plain_hash = Sha256Hex(CanonicalJson(order->def));
  order->extra = *extra;

  v1::MigrationPackage p = Build();
  const v1::PackageItem& item = p.items(9);
  ASSERT_EQ(item.name(), "order_flow");
  EXPECT_EQ(item.canonical_json(), CanonicalJson(order->def));  // the proto's JSON, strict
  EXPECT_THAT(item.extra_json(), HasSubstr("onStateChange"));
  EXPECT_NE(item.sha256(), plain_hash);
  EXPECT_EQ(item.sha256(), Sha256Hex(ItemJsonWithExtras(converted, *extra)));

  auto contents = ValidatePackage(p);
  ASSERT_OK(contents.status());
  for (size_t k = 0; k < contents->workflows.size(); ++k) {
    const bool is_order = contents->workflow_items[k] == 9;
    EXPECT_EQ(contents->workflow_extras[k].has_struct_value(), is_order);
    if (is_order) {
      EXPECT_THAT(MissingKeyPaths(contents->workflow_extras[k], converted),
                  ElementsAre("$.tags", "$.tasks[0].onStateChange"));
    }
  }
  // The extra keys are covered by the item hash and the digest.
  std::string tampered = item.extra_json();
  tampered.replace(tampered.find("payments"), 8, "auditors");
  p.mutable_items(9)->set_extra_json(tampered);
  EXPECT_THAT(ValidatePackage(p), StatusIs(absl::StatusCode::kInvalidArgument,
                                           HasSubstr("does not match its canonical JSON")));
  p.mutable_items(9)->set_extra_json("[1]");
  EXPECT_THAT(ValidatePackage(p), StatusIs(absl::StatusCode::kInvalidArgument,
                                           HasSubstr("extra keys are not a JSON object")));
}

TEST_F(PackageTest, ChangedDigestIsRejected) {
  v1::MigrationPackage p = Build();
  p.set_digest(std::string(64, 'a'));
  EXPECT_THAT(ValidatePackage(p),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("package digest " + std::string(64, 'a') + " does not match")));
  p.clear_digest();
  EXPECT_THAT(ValidatePackage(p),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("digest is missing")));
}

TEST_F(PackageTest, UnknownFormatVersionIsRejected) {
  v1::MigrationPackage p = Build();
  p.set_format_version(3);
  p.set_digest(ComputePackageDigest(p));
  EXPECT_THAT(ValidatePackage(p), StatusIs(absl::StatusCode::kInvalidArgument,
                                           AllOf(HasSubstr("format version 3 is not known"),
                                                 HasSubstr("(1 problem)"))));
}

TEST_F(PackageTest, TheDigestIsTheSameForTheSameContentBuiltAtAnotherTimeOrAsADryRun) {
  v1::MigrationPackage p = Build();
  v1::MigrationPackage later = p;
  later.mutable_created_at()->set_seconds(p.created_at().seconds() + 3600);
  later.mutable_options()->set_dry_run(!p.options().dry_run());
  EXPECT_EQ(ComputePackageDigest(later), ComputePackageDigest(p));
  later.mutable_options()->set_conflict_strategy(v1::CONFLICT_STRATEGY_UPDATE);
  EXPECT_NE(ComputePackageDigest(later), ComputePackageDigest(p));
  // A format 1 package (which digested both) is still read, under its own recipe.
  v1::MigrationPackage old = p;
  old.set_format_version(1);
  old.set_digest(ComputePackageDigest(old));
  EXPECT_NE(old.digest(), p.digest());
  EXPECT_OK(ValidatePackage(old).status());
  old.mutable_created_at()->set_seconds(1);
  EXPECT_THAT(ValidatePackage(old),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("digest")));
}

TEST_F(PackageTest, DuplicateItemIsRejected) {
  v1::MigrationPackage p = Build();
  *p.add_items() = p.items(0);
  *p.mutable_manifest()->add_entries() = p.manifest().entries(0);
  p.mutable_manifest()->set_task_def_count(6);
  p.set_digest(ComputePackageDigest(p));
  EXPECT_THAT(ValidatePackage(p),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("item 11 (task definition 'audit_log') appears more than "
                                       "once"),
                             HasSubstr("(1 problem)"))));
}

TEST_F(PackageTest, ShapeProblemsAreAllReportedAtOnce) {
  v1::MigrationPackage p = Build();
  p.set_format_version(9);
  p.mutable_items(0)->set_name("");                          // no name, JSON names another
  p.mutable_items(1)->set_kind(v1::ITEM_KIND_WORKFLOW_DEF);  // task JSON declared a workflow
  p.mutable_items(5)->set_version(4);                        // JSON holds version 3
  p.mutable_items(6)->set_kind(v1::ITEM_KIND_UNSPECIFIED);
  p.set_digest(ComputePackageDigest(p));
  auto st = ValidatePackage(p).status();
  EXPECT_THAT(
      st,
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("format version 9"), HasSubstr("item 0"), HasSubstr("has no name"),
                     HasSubstr("item 1 (workflow 'call_api' (latest version))"),
                     HasSubstr("its JSON is workflow 'audit_flow' version 3"), HasSubstr("item 6"),
                     HasSubstr("no known kind"), HasSubstr("manifest entry 1"))));
}

TEST_F(PackageTest, SecretsOnlyWhenRequestedAndMarkedAtTheTop) {
  PackageHeader h = Header();
  h.secret_values = {{"stripe_key", "sk_live_123"}, {"db", "pw"}, {"unrelated", "x"}};
  auto without = BuildPackage(discovery_, h);
  ASSERT_OK(without.status());
  EXPECT_EQ(without->package.secrets_size(), 0);
  EXPECT_FALSE(without->package.contains_secret_values());
  EXPECT_THAT(PackageToJson(without->package).value(), Not(HasSubstr("sk_live_123")));

  h.options.set_include_secrets(true);
  auto with = BuildPackage(discovery_, h);
  ASSERT_OK(with.status());
  const v1::MigrationPackage& p = with->package;
  ASSERT_EQ(p.secrets_size(), 2);
  EXPECT_EQ(p.secrets(0).name(), "db");
  EXPECT_EQ(p.secrets(1).name(), "stripe_key");
  EXPECT_TRUE(p.contains_secret_values());
  EXPECT_THAT(with->warnings, ElementsAre(HasSubstr("secret 'audit_token'")));
  std::string json = PackageToJson(p).value();
  EXPECT_LT(json.find("\"containsSecretValues\":true"), json.find("\"items\""));
  EXPECT_OK(ValidatePackage(p));

  v1::MigrationPackage unmarked = p;
  unmarked.set_contains_secret_values(false);
  unmarked.set_digest(ComputePackageDigest(unmarked));
  EXPECT_THAT(ValidatePackage(unmarked),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("without saying so")));
  v1::MigrationPackage changed_secret = p;
  changed_secret.mutable_secrets(0)->set_value("other");
  EXPECT_THAT(ValidatePackage(changed_secret),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("digest")));
}

TEST_F(PackageTest, SourceEnvironmentIsRequired) {
  PackageHeader h = Header();
  h.source_environment.clear();
  EXPECT_THAT(BuildPackage(discovery_, h),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("source environment")));
}

}  // namespace
}  // namespace cmig::migration
