#include "definitions/conductor_time.h"

#include "absl/time/time.h"

namespace cmig {

std::string FormatConductorTime(int64_t epoch_ms) {
  if (epoch_ms <= 0) return "";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(epoch_ms),
                          absl::UTCTimeZone());
}

std::optional<int64_t> ParseConductorTime(absl::string_view text) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime("%Y-%m-%dT%H:%M:%E*SZ", text, &t, &err)) return std::nullopt;
  return absl::ToUnixMillis(t);
}

}  // namespace cmig
