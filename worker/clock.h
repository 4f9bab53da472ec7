// The worker's time source: every timestamp, deadline and timed wait of the
// worker runtime reads this clock, so tests can substitute their own.
//
//   const Clock& clock = RealClock();
//   const absl::Time deadline = clock.Now() + grace;
//   absl::MutexLock lock(&mu);
//   bool met = clock.AwaitWithDeadline(mu, absl::Condition(&drained), deadline);
//
// Thread-safety: implementations are safe to call from many threads at once.
#ifndef CMIG_WORKER_CLOCK_H_
#define CMIG_WORKER_CLOCK_H_

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace cmig::worker {

class Clock {
 public:
  virtual ~Clock() = default;

  virtual absl::Time Now() const = 0;

  // With `mu` held: waits until `condition` holds or this clock reaches
  // `deadline`, releasing `mu` meanwhile. Returns whether `condition` holds.
  virtual bool AwaitWithDeadline(absl::Mutex& mu, const absl::Condition& condition,
                                 absl::Time deadline) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) = 0;
};

// The wall clock; a process-wide instance that is never destroyed.
const Clock& RealClock();

}  // namespace cmig::worker

#endif  // CMIG_WORKER_CLOCK_H_
