// Conductor's workflow search request (start, size, freeText, query) turned into a store query.
//
// `query` supports `workflowType = 'x'`, `status = 'RUNNING'`, `status IN (A,B)` and
// `correlationId = 'c'`, joined by AND; `free_text` "*" or empty matches all, anything else must
// equal the workflow id or the correlation id. At most 5000 results a page, as Conductor.
//
//   ASSIGN_OR_RETURN(WorkflowQuery q, ParseSearchQuery(0, 100, "*", "status IN (FAILED)"));
//
// Pure; thread-safe.
#ifndef CMIG_ORCHESTRATOR_SEARCH_QUERY_H_
#define CMIG_ORCHESTRATOR_SEARCH_QUERY_H_

#include <string>

#include "absl/status/statusor.h"
#include "orchestrator/store.h"

namespace cmig::orchestrator {

// InvalidArgument naming the clause, field or status the query language does not know, or when
// `size` is over the page limit.
absl::StatusOr<WorkflowQuery> ParseSearchQuery(int start, int size, const std::string& free_text,
                                               const std::string& query);

}  // namespace cmig::orchestrator

#endif  // CMIG_ORCHESTRATOR_SEARCH_QUERY_H_
