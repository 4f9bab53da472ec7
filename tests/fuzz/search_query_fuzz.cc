// Conductor's workflow search request as the gRPC and REST search endpoints take it: the query
// (before the NUL) and the free text (after it). It parses or is refused naming the clause.
#include <string>

#include "orchestrator/search_query.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto [query, free_text] = cmig::fuzz::SplitAtNul(cmig::fuzz::Text(data, size));
  absl::StatusOr<cmig::orchestrator::WorkflowQuery> q =
      cmig::orchestrator::ParseSearchQuery(0, 100, std::string(free_text), std::string(query));
  if (!q.ok() && !absl::IsInvalidArgument(q.status())) cmig::fuzz::Violated();
  return 0;
}
