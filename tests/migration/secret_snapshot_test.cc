// SnapshotSecrets / RestoreSecrets / ReleaseSecretBackups over an in-memory secret store: what
// the snapshot records, that prior values stay in the store, and that restoring is repeatable.
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "migration/snapshot.h"

namespace cmig::migration {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

class MemorySecrets final : public client::SecretClient {
 public:
  absl::Status PutSecret(absl::string_view name, absl::string_view value) override {
    values[std::string(name)] = std::string(value);
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> GetSecret(absl::string_view name) override {
    auto it = values.find(std::string(name));
    if (it == values.end()) return absl::NotFoundError(absl::StrCat("no secret ", name));
    return it->second;
  }
  absl::StatusOr<std::vector<std::string>> ListSecretNames() override {
    std::vector<std::string> out;
    for (const auto& [k, v] : values) out.push_back(k);
    return out;
  }
  absl::Status DeleteSecret(absl::string_view name) override {
    if (values.erase(std::string(name)) == 0) return absl::NotFoundError("absent");
    return absl::OkStatus();
  }
  std::map<std::string, std::string> values;
};

TEST(SecretSnapshotTest, RecordsNamesOnlyAndKeepsPriorValuesInTheStore) {
  MemorySecrets store;
  store.values = {{"db_password", "old-db"}};
  ASSERT_OK_AND_ASSIGN(auto secrets, SnapshotSecrets({"db_password", "api_key"}, "wf-1", store));
  ASSERT_EQ(secrets.size(), 2u);
  EXPECT_TRUE(secrets[0].existed());
  EXPECT_EQ(secrets[0].backup_secret(), "cmig-backup.wf-1.db_password");
  EXPECT_FALSE(secrets[1].existed());
  EXPECT_TRUE(secrets[1].backup_secret().empty());
  for (const auto& s : secrets) {
    EXPECT_THAT(s.DebugString(), ::testing::Not(::testing::HasSubstr("old-db")));
  }
  EXPECT_EQ(store.values.at("cmig-backup.wf-1.db_password"), "old-db");
}

TEST(SecretSnapshotTest, RestorePutsPriorValuesBackDeletesNewOnesAndRemovesBackups) {
  MemorySecrets store;
  store.values = {{"db_password", "old-db"}, {"cmig-backup.other-wf.x", "kept"}};
  v1::TargetSnapshot snapshot;
  ASSERT_OK_AND_ASSIGN(auto secrets, SnapshotSecrets({"db_password", "api_key"}, "wf-1", store));
  for (auto& s : secrets) *snapshot.add_secrets() = s;
  // The apply writes both.
  store.values["db_password"] = "new-db";
  store.values["api_key"] = "new-key";

  ASSERT_OK_AND_ASSIGN(SecretRestore r, RestoreSecrets(snapshot, "wf-1", store));
  EXPECT_EQ(r.restored, 1);
  EXPECT_EQ(r.removed, 1);
  EXPECT_THAT(store.values,
              ElementsAre(Pair("cmig-backup.other-wf.x", "kept"), Pair("db_password", "old-db")));
  // A retried rollback changes nothing more.
  ASSERT_OK_AND_ASSIGN(r, RestoreSecrets(snapshot, "wf-1", store));
  EXPECT_EQ(r.restored, 0);
  EXPECT_EQ(r.removed, 0);
  EXPECT_THAT(store.values,
              ElementsAre(Pair("cmig-backup.other-wf.x", "kept"), Pair("db_password", "old-db")));
}

TEST(SecretSnapshotTest, ReleaseRemovesOnlyTheWorkflowsBackups) {
  MemorySecrets store;
  store.values = {{"a", "1"}, {"cmig-backup.wf-1.a", "0"}, {"cmig-backup.wf-10.a", "9"}};
  ASSERT_OK_AND_ASSIGN(int deleted, ReleaseSecretBackups("wf-1", store));
  EXPECT_EQ(deleted, 1);
  EXPECT_THAT(store.values, ElementsAre(Pair("a", "1"), Pair("cmig-backup.wf-10.a", "9")));
}

}  // namespace
}  // namespace cmig::migration
