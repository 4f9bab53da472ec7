// The summary of a large migration report, which travels in task output while the full report
// is stored: every list that grows with the migration is cut, and says how much was cut.
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tasks/step_io.h"

namespace cmig::tasks {
namespace {

using ::testing::Contains;

v1::MigrationReport Large(int n) {
  v1::MigrationReport r;
  r.set_package_digest("sha256:abc");
  for (int i = 0; i < n; ++i) {
    r.add_items()->set_name(absl::StrCat("flow_", i));
    v1::Dependency* d = r.add_manual_dependencies();
    d->set_name(absl::StrCat("task_", i));
    if (i == 0) {  // SUB_WORKFLOW, used by every workflow
      for (int k = 0; k < n; ++k)
        d->add_referenced_by()->set_workflow_name(absl::StrCat("flow_", k));
    }
    v1::VersionMapping* same = r.add_version_mapping();
    same->set_name(absl::StrCat("flow_", i));
    same->set_source_version(1);
    same->set_target_version(1);
    r.add_warnings(absl::StrCat("warning ", i));
  }
  v1::VersionMapping* moved = r.add_version_mapping();
  moved->set_name("moved");
  moved->set_source_version(1);
  moved->set_target_version(3);
  return r;
}

TEST(ReportSummaryTest, ListsThatGrowWithTheMigrationAreCutAndSaySo) {
  v1::MigrationReport full = Large(5000);
  *full.mutable_incoming() = Large(5000);
  const v1::MigrationReport summary = ReportSummary(full);

  EXPECT_EQ(summary.package_digest(), "sha256:abc");
  EXPECT_EQ(summary.items_size(), 0);
  ASSERT_EQ(summary.manual_dependencies_size(), kInlineReportEntries);
  EXPECT_EQ(summary.manual_dependencies(0).name(), "task_0");
  ASSERT_EQ(summary.manual_dependencies(0).referenced_by_size(), kInlineReferrers);
  EXPECT_EQ(summary.manual_dependencies(0).referenced_by(0).workflow_name(), "flow_0");
  EXPECT_THAT(summary.warnings(),
              Contains("4990 more places that use manual dependencies are in the full report"));
  // Identity mappings are dropped; the one that changes a version stays.
  ASSERT_EQ(summary.version_mapping_size(), 1);
  EXPECT_EQ(summary.version_mapping(0).name(), "moved");
  // The first warnings, then one line per cut list.
  EXPECT_EQ(summary.warnings(0), "warning 0");
  EXPECT_THAT(summary.warnings(), Contains("4900 more manual dependencies are in the full report"));
  EXPECT_THAT(summary.warnings(), Contains("4900 more warnings are in the full report"));
  EXPECT_EQ(summary.warnings_size(), kInlineReportEntries + 3);
  // The incoming report inside is cut the same way.
  EXPECT_EQ(summary.incoming().items_size(), 0);
  EXPECT_EQ(summary.incoming().manual_dependencies_size(), kInlineReportEntries);
  // Small enough for task output whatever the migration's size.
  EXPECT_LT(summary.ByteSizeLong(), 64 * 1024);
}

TEST(ReportSummaryTest, ShortListsAreKeptWhole) {
  v1::MigrationReport full = Large(kInlineReportEntries);
  const v1::MigrationReport summary = ReportSummary(full);
  EXPECT_EQ(summary.manual_dependencies_size(), kInlineReportEntries);
  // Every warning kept; the one note is about the places that use task_0.
  ASSERT_EQ(summary.warnings_size(), kInlineReportEntries + 1);
  EXPECT_EQ(summary.warnings(kInlineReportEntries),
            "90 more places that use manual dependencies are in the full report");
}

}  // namespace
}  // namespace cmig::tasks
