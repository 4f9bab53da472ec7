#include "tasks/handler_registry.h"

#include <memory>

#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cmig::tasks {
namespace {

using ::cmig::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class Noop final : public TaskHandler {
 public:
  absl::StatusOr<TaskOutcome> Execute(TaskContext&) override { return TaskOutcome{}; }
};

TEST(HandlerRegistryTest, FindsRegisteredHandlersByType) {
  HandlerRegistry registry;
  auto handler = std::make_unique<Noop>();
  TaskHandler* raw = handler.get();
  ASSERT_OK(registry.Register("b_task", std::move(handler)));
  ASSERT_OK(registry.Register("a_task", std::make_unique<Noop>()));
  EXPECT_EQ(registry.Find("b_task"), raw);
  EXPECT_EQ(registry.Find("missing"), nullptr);
  EXPECT_THAT(registry.task_types(), ElementsAre("a_task", "b_task"));
}

TEST(HandlerRegistryTest, RejectsDuplicateTaskType) {
  HandlerRegistry registry;
  auto first = std::make_unique<Noop>();
  TaskHandler* raw = first.get();
  ASSERT_OK(registry.Register("fetch", std::move(first)));
  EXPECT_THAT(registry.Register("fetch", std::make_unique<Noop>()),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("fetch")));
  EXPECT_EQ(registry.Find("fetch"), raw);  // the first one stays
}

TEST(HandlerRegistryTest, RejectsEmptyTypeAndNullHandler) {
  HandlerRegistry registry;
  EXPECT_THAT(registry.Register("", std::make_unique<Noop>()),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  EXPECT_THAT(registry.Register("x", nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  EXPECT_TRUE(registry.task_types().empty());
}

}  // namespace
}  // namespace cmig::tasks
