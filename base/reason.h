// A failure reason as an operator should read it. Conductor wraps the reason of a task that fails
// its workflow as "Task <id> failed with status: <STATUS> and reason: '<reason>'", the worker
// prefixes a status code ("FAILED_PRECONDITION: ..."), and a migration's reason embeds its
// incoming workflow's, so one cause arrives wrapped several times. InnermostCause removes those
// wrappers, keeping every sentence of what happened once.
//
//   InnermostCause("Task 3b5 failed with status: FAILED and reason: 'FAILED_PRECONDITION: the "
//                  "target refused'")  ==  "the target refused"
#ifndef CMIG_BASE_REASON_H_
#define CMIG_BASE_REASON_H_

#include <string>

#include "absl/strings/string_view.h"

namespace cmig {

std::string InnermostCause(absl::string_view reason);

}  // namespace cmig

#endif  // CMIG_BASE_REASON_H_
