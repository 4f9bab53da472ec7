// Capped exponential backoff with full jitter, for polls that came back empty
// or failed and for results the orchestrator did not accept yet.
//
//   Backoff backoff(absl::Milliseconds(100), absl::Seconds(10), seed);
//   while (!Poll().ok()) WaitFor(backoff.Next());
//   backoff.Reset();
//
// The n-th delay is uniform in [ceiling/2, ceiling] with ceiling =
// min(max, initial * 2^n): never zero (no busy loop when a server is down),
// never above `max`, and spread so a fleet of workers does not retry in
// lockstep after an outage.
//
// Thread-safety: not thread-safe; one per loop.
#ifndef CMIG_WORKER_BACKOFF_H_
#define CMIG_WORKER_BACKOFF_H_

#include <cstdint>
#include <random>

#include "absl/time/time.h"

namespace cmig::worker {

class Backoff {
 public:
  // `initial` > 0 and `max` >= `initial`; other values are clamped.
  Backoff(absl::Duration initial, absl::Duration max, uint64_t seed);

  absl::Duration Next();
  void Reset() { attempt_ = 0; }
  int attempt() const { return attempt_; }

 private:
  const absl::Duration initial_;
  const absl::Duration max_;
  int attempt_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace cmig::worker

#endif  // CMIG_WORKER_BACKOFF_H_
