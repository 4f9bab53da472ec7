// GoogleTest matchers for absl::Status and absl::StatusOr (test-only).
//
//   EXPECT_THAT(store.Put(item), IsOk());
//   EXPECT_THAT(Parse("{"), StatusIs(absl::StatusCode::kInvalidArgument,
//                                    testing::HasSubstr("line 1")));
//   EXPECT_THAT(Load("a"), IsOkAndHolds(testing::Eq(3)));
//   ASSERT_OK_AND_ASSIGN(auto def, Load("a"));
#ifndef CMIG_BASE_STATUS_MATCHERS_H_
#define CMIG_BASE_STATUS_MATCHERS_H_

#include <gmock/gmock.h>

#include <ostream>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/status_macros.h"

namespace cmig::testing {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

MATCHER(IsOk, "is OK") {
  const absl::Status& s = GetStatus(arg);
  if (!s.ok()) *result_listener << "status is " << s;
  return s.ok();
}

MATCHER_P2(StatusIs, code, message_matcher,
           "has code " + std::string(absl::StatusCodeToString(code))) {
  const absl::Status& s = GetStatus(arg);
  *result_listener << "status is " << s;
  return s.code() == code &&
         ::testing::ExplainMatchResult(message_matcher, std::string(s.message()), result_listener);
}

MATCHER_P(IsOkAndHolds, value_matcher, "is OK and holds a matching value") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status();
    return false;
  }
  return ::testing::ExplainMatchResult(value_matcher, *arg, result_listener);
}

}  // namespace cmig::testing

#define ASSERT_OK(expr) ASSERT_THAT(expr, ::cmig::testing::IsOk())
#define EXPECT_OK(expr) EXPECT_THAT(expr, ::cmig::testing::IsOk())

// Fails the test (returning from the test body) on an error status, otherwise
// moves the value into `lhs`, which may be a declaration.
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  CMIG_ASSERT_OK_AND_ASSIGN_IMPL(CMIG_STATUS_CONCAT(cmig_statusor_, __LINE__), lhs, expr)
#define CMIG_ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  ASSERT_OK(tmp.status());                             \
  lhs = std::move(tmp).value()

#endif  // CMIG_BASE_STATUS_MATCHERS_H_
