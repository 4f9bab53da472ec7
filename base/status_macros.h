// Early-return helpers for absl::Status and absl::StatusOr, which the installed
// Abseil (20220623) does not ship.
//
//   absl::StatusOr<Plan> MakePlan(const Package& p) {
//     RETURN_IF_ERROR(Validate(p));
//     ASSIGN_OR_RETURN(auto target, LoadTarget(p.target()));
//     return Plan{...};
//   }
#ifndef CMIG_BASE_STATUS_MACROS_H_
#define CMIG_BASE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define CMIG_STATUS_CONCAT_INNER(a, b) a##b
#define CMIG_STATUS_CONCAT(a, b) CMIG_STATUS_CONCAT_INNER(a, b)

// Evaluates `expr` (an absl::Status) once and returns it from the enclosing
// function when it is not OK.
#define RETURN_IF_ERROR(expr)                                                        \
  do {                                                                               \
    if (absl::Status cmig_status_ = (expr); !cmig_status_.ok()) return cmig_status_; \
  } while (false)

// Evaluates `rexpr` (an absl::StatusOr<T>) once; on error returns its status,
// otherwise moves the value into `lhs`, which may be a declaration.
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  CMIG_ASSIGN_OR_RETURN_IMPL(CMIG_STATUS_CONCAT(cmig_statusor_, __LINE__), lhs, rexpr)

// `tmp` names a variable and `lhs` may be a declaration: neither can be parenthesised.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define CMIG_ASSIGN_OR_RETURN_IMPL(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                               \
  if (!tmp.ok()) return std::move(tmp).status();    \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)

#endif  // CMIG_BASE_STATUS_MACROS_H_
