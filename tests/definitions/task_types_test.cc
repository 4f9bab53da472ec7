#include "definitions/task_types.h"

#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cmig {
namespace {

TEST(TaskTypesTest, ControlFlowTypes) {
  EXPECT_TRUE(IsControlFlowTaskType("SWITCH"));
  EXPECT_TRUE(IsControlFlowTaskType("DO_WHILE"));
  EXPECT_FALSE(IsControlFlowTaskType("HTTP"));
  EXPECT_FALSE(IsControlFlowTaskType("SIMPLE"));
}

TEST(TaskTypesTest, WorkerTypesAreNotInTheTable) {
  EXPECT_EQ(FindSystemTaskType("SIMPLE"), nullptr);
  EXPECT_EQ(FindSystemTaskType(""), nullptr);
  EXPECT_EQ(FindSystemTaskType("my_worker_task"), nullptr);
  // Names are Conductor's, matched exactly.
  EXPECT_FALSE(IsKnownSystemTaskType("switch"));
  EXPECT_FALSE(IsExecutedByEmbeddedOrchestrator("SIMPLE"));
}

TEST(TaskTypesTest, EmbeddedOrchestratorRunsTheOperatorsItImplements) {
  std::set<std::string> executed;
  for (const TaskTypeInfo& t : KnownSystemTaskTypes()) {
    if (t.embedded_executes) executed.insert(std::string(t.name));
  }
  EXPECT_THAT(executed, ::testing::UnorderedElementsAre(
                            "SWITCH", "DECISION", "FORK_JOIN", "FORK", "JOIN", "DO_WHILE",
                            "SUB_WORKFLOW", "TERMINATE", "INLINE", "SET_VARIABLE", "NOOP"));
  // Known to Conductor, not run here: scheduling one is a definition error, not a worker task.
  EXPECT_TRUE(IsKnownSystemTaskType("HTTP"));
  EXPECT_FALSE(IsExecutedByEmbeddedOrchestrator("HTTP"));
  EXPECT_TRUE(IsKnownSystemTaskType("WAIT_FOR_WEBHOOK"));
}

TEST(TaskTypesTest, ConductorNeverRetriesItsBuiltInOperators) {
  for (const char* type : {"SWITCH", "DECISION", "FORK", "JOIN", "EXCLUSIVE_JOIN", "DO_WHILE"}) {
    EXPECT_TRUE(IsNeverRetriedTaskType(type)) << type;
  }
  for (const char* type : {"SIMPLE", "SUB_WORKFLOW", "INLINE", "HTTP", "FORK_JOIN"}) {
    EXPECT_FALSE(IsNeverRetriedTaskType(type)) << type;
  }
}

TEST(TaskTypesTest, NamesAreUnique) {
  std::set<absl::string_view> names;
  for (const TaskTypeInfo& t : KnownSystemTaskTypes()) {
    EXPECT_TRUE(names.insert(t.name).second) << t.name;
  }
}

TEST(TaskTypesTest, QueueNamesCarryTheDomain) {
  EXPECT_EQ(TaskQueueName("fetch", ""), "fetch");
  EXPECT_EQ(TaskQueueName("fetch", "blue"), "blue:fetch");
}

}  // namespace
}  // namespace cmig
