// Time as the orchestrator sees it, injectable so tests can drive it.
//
// Every timestamp the orchestrator writes (scheduled, start, end, update times)
// and every workflow timer it arms (retry and callback delays, task and workflow
// timeouts) is in milliseconds since the Unix epoch as read from one Clock.
// Long-poll timeouts are the exception: they run on real time, so a test that
// drives a fake clock still gets its empty polls back when their callers expect.
#ifndef CMIG_ORCHESTRATOR_CLOCK_H_
#define CMIG_ORCHESTRATOR_CLOCK_H_

#include <cstdint>

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

}  // namespace cmig::orchestrator

#endif  // CMIG_ORCHESTRATOR_CLOCK_H_
