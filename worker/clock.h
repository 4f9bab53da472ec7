// Time as the worker sees it, injectable so retry and backoff logic can be
// tested without waiting.
#ifndef CMIG_WORKER_CLOCK_H_
#define CMIG_WORKER_CLOCK_H_

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace cmig::worker {

// Thread-safety: implementations are safe to call from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() = 0;
  // Blocks the calling thread for `d` (a fake advances its time instead).
  virtual void SleepFor(absl::Duration d) = 0;
};

// The process's real clock; a static instance, never deleted.
Clock& RealClock();

}  // namespace cmig::worker

#endif  // CMIG_WORKER_CLOCK_H_
