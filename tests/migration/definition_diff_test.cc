#include "migration/definition_diff.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cmig::migration {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// "path: target -> package" for each difference, for compact expectations.
std::vector<std::string> Lines(const DefinitionDiff& d) {
  std::vector<std::string> out;
  for (const v1::FieldDifference& f : d.differences) {
    out.push_back(f.path() + ": " + f.target() + " -> " + f.package());
  }
  return out;
}

DefinitionDiff Diff(const std::string& target, const std::string& package) {
  absl::StatusOr<DefinitionDiff> d = DiffDefinitions(target, package);
  EXPECT_TRUE(d.ok()) << d.status();
  return d.ok() ? *d : DefinitionDiff{};
}

TEST(DefinitionDiffTest, EqualDefinitionsHaveNoDifferencesWhateverTheirKeyOrder) {
  DefinitionDiff d = Diff(R"({"name":"a","version":2,"tasks":[{"taskReferenceName":"x"}]})",
                          R"({"tasks":[{"taskReferenceName":"x"}], "version":2, "name":"a"})");
  EXPECT_TRUE(d.empty());
  EXPECT_EQ(d.more, 0);
}

TEST(DefinitionDiffTest, ChangedAddedAndRemovedFieldsAreNamedInKeyOrder) {
  DefinitionDiff d =
      Diff(R"({"name":"a","timeoutSeconds":60,"ownerEmail":"x@y","nested":{"k":[1,2]}})",
           R"({"name":"a","timeoutSeconds":120,"description":"new","nested":{"k":[1,3,4]}})");
  EXPECT_THAT(Lines(d),
              ElementsAre("description:  -> \"new\"", "nested.k[1]: 2 -> 3", "nested.k[2]:  -> 4",
                          "ownerEmail: \"x@y\" -> ", "timeoutSeconds: 60 -> 120"));
}

TEST(DefinitionDiffTest, TasksAreMatchedByReferenceNameSoAnInsertedTaskIsOneDifference) {
  const std::string target = R"({"tasks":[
      {"name":"a","taskReferenceName":"first","type":"SIMPLE"},
      {"name":"c","taskReferenceName":"third","type":"SIMPLE","inputParameters":{"u":"old"}}]})";
  const std::string package = R"({"tasks":[
      {"name":"a","taskReferenceName":"first","type":"SIMPLE"},
      {"name":"b","taskReferenceName":"second","type":"SIMPLE"},
      {"name":"c","taskReferenceName":"third","type":"SIMPLE","inputParameters":{"u":"new"}}]})";
  DefinitionDiff d = Diff(target, package);
  ASSERT_EQ(d.differences.size(), 2u) << testing::PrintToString(Lines(d));
  EXPECT_EQ(d.differences[0].path(), "tasks[taskReferenceName=second]");
  EXPECT_EQ(d.differences[0].target(), "");
  EXPECT_THAT(d.differences[0].package(), HasSubstr("\"name\":\"b\""));
  EXPECT_EQ(Lines(d)[1], "tasks[taskReferenceName=third].inputParameters.u: \"old\" -> \"new\"");
}

TEST(DefinitionDiffTest, RemovedAndReorderedTasksAreShownAsSuch) {
  const std::string target = R"({"tasks":[{"taskReferenceName":"a"},{"taskReferenceName":"b"},
                                          {"taskReferenceName":"gone","name":"g"}]})";
  const std::string package = R"({"tasks":[{"taskReferenceName":"b"},{"taskReferenceName":"a"}]})";
  EXPECT_THAT(Lines(Diff(target, package)),
              ElementsAre("tasks (order): [\"a\",\"b\"] -> [\"b\",\"a\"]",
                          "tasks[taskReferenceName=gone]: "
                          "{\"name\":\"g\",\"taskReferenceName\":\"gone\"} -> "));
}

TEST(DefinitionDiffTest, ListsWithoutDistinctReferenceNamesAreComparedByPosition) {
  // A repeated reference name cannot key a list.
  DefinitionDiff d = Diff(R"({"l":[{"taskReferenceName":"x","v":1},{"taskReferenceName":"x"}]})",
                          R"({"l":[{"taskReferenceName":"x","v":2},{"taskReferenceName":"x"}]})");
  EXPECT_THAT(Lines(d), ElementsAre("l[0].v: 1 -> 2"));
}

TEST(DefinitionDiffTest, AChangedTypeIsOneDifferenceAtItsPath) {
  EXPECT_THAT(Lines(Diff(R"({"v":{"a":1}})", R"({"v":[1]})")), ElementsAre("v: {\"a\":1} -> [1]"));
  EXPECT_THAT(Lines(Diff(R"({"v":"1"})", R"({"v":1})")), ElementsAre("v: \"1\" -> 1"));
  // Keys that are not identifiers are quoted.
  EXPECT_THAT(Lines(Diff(R"({"a b":1})", R"({"a b":2})")), ElementsAre("[\"a b\"]: 1 -> 2"));
}

TEST(DefinitionDiffTest, ManyDifferencesAreCountedBeyondTheListedOnes) {
  std::string target = "{";
  std::string package = "{";
  for (int i = 0; i < kMaxDifferences + 7; ++i) {
    const std::string sep = i == 0 ? "" : ",";
    target += sep + "\"k" + std::to_string(100 + i) + "\":1";
    package += sep + "\"k" + std::to_string(100 + i) + "\":2";
  }
  DefinitionDiff d = Diff(target + "}", package + "}");
  EXPECT_EQ(d.differences.size(), static_cast<size_t>(kMaxDifferences));
  EXPECT_EQ(d.more, 7);
  EXPECT_EQ(d.differences.front().path(), "k100");
}

TEST(DefinitionDiffTest, LongValuesAreCutWithoutSplittingACharacter) {
  // Each "é" is two bytes; the cut lands inside one unless it backs up.
  const std::string long_text(kMaxDifferenceValueBytes + 50, 'x');
  std::string accented;
  for (size_t i = 0; i < kMaxDifferenceValueBytes; ++i) accented += "\xC3\xA9";
  DefinitionDiff d =
      Diff(R"({"a":")" + long_text + R"(","b":"x"})", R"({"a":"short","b":")" + accented + R"("})");
  ASSERT_EQ(d.differences.size(), 2u);
  const std::string& cut_a = d.differences[0].target();
  EXPECT_LE(cut_a.size(), kMaxDifferenceValueBytes + 3);
  EXPECT_TRUE(cut_a.ends_with("...")) << cut_a;
  const std::string& cut_b = d.differences[1].package();
  ASSERT_TRUE(cut_b.ends_with("...")) << cut_b;
  const std::string body = cut_b.substr(0, cut_b.size() - 3);
  // The body is '"' followed by whole two-byte characters.
  EXPECT_EQ((body.size() - 1) % 2, 0u) << body.size();
}

TEST(DefinitionDiffTest, TextThatDoesNotParseIsAnErrorNamingTheSide) {
  absl::StatusOr<DefinitionDiff> d = DiffDefinitions("{}", "{oops");
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), HasSubstr("the package's definition does not parse"));
  v1::PlannedItem item;
  AttachDifferences("{", "{}", &item);
  EXPECT_EQ(item.differences_size(), 0);
}

}  // namespace
}  // namespace cmig::migration
