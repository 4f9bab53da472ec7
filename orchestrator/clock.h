// Time as the orchestrator sees it, injectable so tests can drive it.
//
// Every timestamp the orchestrator writes (scheduled, start, end, update times)
// and every workflow timer it arms (retry and callback delays, task and workflow
// timeouts) is in milliseconds since the Unix epoch as read from one Clock.
// Long-poll timeouts are the exception: they run on real time, so a test that
// drives a fake clock still gets its empty polls back when their callers expect.
#ifndef CMIG_ORCHESTRATOR_CLOCK_H_
#define CMIG_ORCHESTRATOR_CLOCK_H_

#include <algorithm>
#include <cstdint>
#include <limits>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace cmig::orchestrator {

// Thread safety: NowMs may be called from any thread at any time.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMs() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowMs() const override { return absl::ToUnixMillis(absl::Now()); }
};

// A duration in seconds from a definition or a task result, in milliseconds, clamped to
// +-kMaxDurationMs: a timeout of INT64_MAX seconds means "practically never", not a signed
// overflow that fires at once. The clamp leaves room for a timestamp plus a handful of such
// durations in one int64_t sum.
inline constexpr int64_t kMaxDurationMs = std::numeric_limits<int64_t>::max() / 8;
constexpr int64_t SecondsToMs(int64_t seconds) {
  constexpr int64_t kLimitSeconds = kMaxDurationMs / 1000;
  return std::clamp(seconds, -kLimitSeconds, kLimitSeconds) * 1000;
}

}  // namespace cmig::orchestrator

#endif  // CMIG_ORCHESTRATOR_CLOCK_H_
