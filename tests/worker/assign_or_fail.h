// ASSERT_OK_AND_ASSIGN for tests: fails the test on an error status,
// otherwise moves the value into `lhs`.
#ifndef CMIG_TESTS_WORKER_ASSIGN_OR_FAIL_H_
#define CMIG_TESTS_WORKER_ASSIGN_OR_FAIL_H_

#include "base/status_macros.h"
#include "base/status_matchers.h"

#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  CMIG_ASSERT_OK_AND_ASSIGN_IMPL(CMIG_STATUS_CONCAT(statusor_, __LINE__), lhs, expr)
#define CMIG_ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  ASSERT_OK(tmp.status());                             \
  lhs = std::move(tmp).value()

#endif  // CMIG_TESTS_WORKER_ASSIGN_OR_FAIL_H_
