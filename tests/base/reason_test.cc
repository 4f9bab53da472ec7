#include "base/reason.h"

#include "gtest/gtest.h"

namespace cmig {
namespace {

TEST(InnermostCauseTest, UnwrapsConductorsTaskWrapperAndStatusCodes) {
  EXPECT_EQ(InnermostCause("Task 3b5 failed with status: FAILED and reason: "
                           "'FAILED_PRECONDITION: the target refused'"),
            "the target refused");
}

TEST(InnermostCauseTest, KeepsEverySentenceAroundNestedWrappersOnce) {
  EXPECT_EQ(InnermostCause("Task 3b5 failed with status: FAILED and reason: 'FAILED_PRECONDITION: "
                           "the incoming workflow 6a in 'B' ended FAILED: Task bc2 failed with "
                           "status: FAILED_WITH_TERMINAL_ERROR and reason: 'INVALID_ARGUMENT: "
                           "injected failure'; rolled back by workflow 22: removed 4'"),
            "the incoming workflow 6a in 'B' ended FAILED: injected failure; rolled back by "
            "workflow 22: removed 4");
}

TEST(InnermostCauseTest, LeavesOtherTextAlone) {
  EXPECT_EQ(InnermostCause(""), "");
  EXPECT_EQ(InnermostCause("NOT_A_CODE: keep it"), "NOT_A_CODE: keep it");
  EXPECT_EQ(InnermostCause("Task was 'odd' here"), "Task was 'odd' here");
  EXPECT_EQ(InnermostCause("Task a b failed with status: X and reason: 'y'"),
            "Task a b failed with status: X and reason: 'y'");
  EXPECT_EQ(InnermostCause("Task t failed with status: X and reason: '"),
            "Task t failed with status: X and reason: '");
}

}  // namespace
}  // namespace cmig
