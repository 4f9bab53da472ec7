// Waiting in tests for something another thread or process makes true, with a
// deadline instead of a fixed sleep, so a test is as fast as the system allows
// and fails (rather than hangs) when the condition never holds:
//
//   ASSERT_TRUE(WaitFor([&] { return client.Status(id) == Workflow::COMPLETED; }));
#ifndef CMIG_TESTS_TESTING_WAIT_FOR_H_
#define CMIG_TESTS_TESTING_WAIT_FOR_H_

#include <functional>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace cmig::testing {

// Polls `cond` every `interval` until it holds or `timeout` passes; true when
// it held. `cond` is evaluated once more at the deadline, so a condition that
// becomes true during the last interval still counts.
inline bool WaitFor(const std::function<bool()>& cond, absl::Duration timeout = absl::Seconds(10),
                    absl::Duration interval = absl::Milliseconds(5)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (cond()) return true;
    absl::SleepFor(interval);
  }
  return cond();
}

}  // namespace cmig::testing

#endif  // CMIG_TESTS_TESTING_WAIT_FOR_H_
