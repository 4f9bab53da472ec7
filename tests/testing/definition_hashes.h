// What an environment holds, for tests that compare two environments after a migration.
//
//   EXPECT_EQ(cmig::testing::DefinitionHashesOf(*target),
//   cmig::testing::DefinitionHashesOf(*source));
#ifndef CMIG_TESTS_TESTING_DEFINITION_HASHES_H_
#define CMIG_TESTS_TESTING_DEFINITION_HASHES_H_

#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/metadata_client.h"
#include "definitions/canonical.h"
#include "gtest/gtest.h"
#include "tests/testing/migration_side.h"

namespace cmig::testing {

// "wf:NAME:VERSION" or "task:NAME" -> canonical hash of every definition `metadata` lists, the
// migration's own definitions left out. A failed listing is a test failure (and left out).
inline std::map<std::string, std::string> DefinitionHashesOf(client::MetadataClient& metadata) {
  std::map<std::string, std::string> out;
  auto workflows = metadata.ListWorkflowDefs("", /*all_versions=*/true);
  EXPECT_TRUE(workflows.ok()) << workflows.status();
  if (workflows.ok()) {
    for (const auto& w : *workflows) {
      if (!IsMigrationDefinition(w.name())) {
        out[absl::StrCat("wf:", w.name(), ":", w.version())] = CanonicalHash(w);
      }
    }
  }
  auto task_defs = metadata.ListTaskDefs();
  EXPECT_TRUE(task_defs.ok()) << task_defs.status();
  if (task_defs.ok()) {
    for (const auto& t : *task_defs) {
      if (!IsMigrationDefinition(t.name())) out[absl::StrCat("task:", t.name())] = CanonicalHash(t);
    }
  }
  return out;
}

}  // namespace cmig::testing

#endif  // CMIG_TESTS_TESTING_DEFINITION_HASHES_H_
