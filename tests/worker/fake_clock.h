// A worker Clock that tests move forward by hand: it reads the wall clock plus
// an offset that Advance raises, so it advances with the wall clock (as the
// worker's event loop requires) and jumps when the test says so.
//
//   FakeClock clock;
//   Worker worker(server.client(), registry, options, nullptr, clock);
//   clock.Advance(absl::Minutes(1));  // deadlines within that minute pass now
#ifndef CMIG_TESTS_WORKER_FAKE_CLOCK_H_
#define CMIG_TESTS_WORKER_FAKE_CLOCK_H_

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "worker/clock.h"

namespace cmig::testing {

class FakeClock final : public worker::Clock {
 public:
  absl::Time Now() const override { return absl::Now() + absl::Nanoseconds(offset_ns_.load()); }

  // Waits in short real slices: a waiter on another mutex cannot be woken by
  // Advance, so it rechecks this clock's time between slices.
  bool AwaitWithDeadline(absl::Mutex& mu, const absl::Condition& condition,
                         absl::Time deadline) const override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    while (true) {
      const absl::Duration left = deadline - Now();
      if (left <= absl::ZeroDuration()) {
        return condition.Eval();
      }
      if (mu.AwaitWithTimeout(condition, std::min(left, absl::Milliseconds(1)))) {
        return true;
      }
    }
  }

  // Moves this clock forward by `d` (> 0) at once.
  void Advance(absl::Duration d) { offset_ns_.fetch_add(absl::ToInt64Nanoseconds(d)); }

 private:
  std::atomic<int64_t> offset_ns_{0};
};

}  // namespace cmig::testing

#endif  // CMIG_TESTS_WORKER_FAKE_CLOCK_H_
