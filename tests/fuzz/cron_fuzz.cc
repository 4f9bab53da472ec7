// A schedule's cron expression and time zone as POST /api/scheduler/schedules takes them: the
// zone (before the NUL) and the expression (after it). The expression parses or is refused as
// InvalidArgument; a parsed one gives runs that come strictly later each time, and at local times
// its fields match, whatever the zone.
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "orchestrator/cron.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto [zone_name, text] = cmig::fuzz::SplitAtNul(cmig::fuzz::Text(data, size));
  absl::StatusOr<cmig::orchestrator::CronExpression> cron =
      cmig::orchestrator::CronExpression::Parse(text);
  if (!cron.ok()) {
    if (!absl::IsInvalidArgument(cron.status())) cmig::fuzz::Violated();
    return 0;
  }
  absl::StatusOr<absl::TimeZone> loaded = cmig::orchestrator::LoadZone(std::string(zone_name));
  if (!loaded.ok() && !absl::IsInvalidArgument(loaded.status())) cmig::fuzz::Violated();
  const absl::TimeZone zone = loaded.ok() ? *loaded : absl::UTCTimeZone();
  absl::Time after = absl::FromUnixSeconds(1'790'000'000);  // 2026-09
  for (int i = 0; i < 3; ++i) {
    std::optional<absl::Time> next = cron->Next(after, zone);
    if (!next) break;
    if (*next <= after) cmig::fuzz::Violated();
    if (!cron->MatchesDay(absl::ToCivilDay(*next, zone))) cmig::fuzz::Violated();
    after = *next;
  }
  return 0;
}
