// Times as Conductor writes them in search results (WorkflowSummary, TaskSummary): ISO-8601 in
// UTC with milliseconds, "2026-12-05T01:34:00.123Z".
//
//   summary.set_start_time(cmig::FormatConductorTime(workflow.start_time()));
//
// Thread-safe.
#ifndef CMIG_DEFINITIONS_CONDUCTOR_TIME_H_
#define CMIG_DEFINITIONS_CONDUCTOR_TIME_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace cmig {

// `epoch_ms` (milliseconds since the Unix epoch) in Conductor's form; "" for 0 or less, which
// Conductor's model uses for "not yet".
std::string FormatConductorTime(int64_t epoch_ms);

// Reads a time FormatConductorTime wrote (any number of fraction digits); nullopt when `text`
// is not one.
std::optional<int64_t> ParseConductorTime(absl::string_view text);

}  // namespace cmig

#endif  // CMIG_DEFINITIONS_CONDUCTOR_TIME_H_
