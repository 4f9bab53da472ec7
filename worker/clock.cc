#include "worker/clock.h"

namespace cmig::worker {
namespace {

class WallClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }

  bool AwaitWithDeadline(absl::Mutex& mu, const absl::Condition& condition,
                         absl::Time deadline) const override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return mu.AwaitWithDeadline(condition, deadline);
  }
};

}  // namespace

const Clock& RealClock() {
  static const WallClock* const clock = new WallClock();
  return *clock;
}

}  // namespace cmig::worker
