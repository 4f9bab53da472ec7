// A worker Clock that moves only when a test moves it, and an AsyncTaskClient whose timers fire
// by that clock, answering polls and results from a FakeTaskClient at once. Together they run
// the worker runtime without gRPC and without waiting for real time: the test decides when time
// passes.
//
//   FakeTaskClient tasks;
//   FakeClock clock;
//   FakeTaskLoop loop(tasks, clock);
//   Worker worker(tasks, loop, registry, options, nullptr, clock);
//   ASSERT_OK(worker.Start());
//   ASSERT_TRUE(RunClockUntil(clock, [&] { return tasks.results().size() == 1; }));
#ifndef CMIG_TESTS_WORKER_FAKE_CLOCK_H_
#define CMIG_TESTS_WORKER_FAKE_CLOCK_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/async_task_client.h"
#include "tests/testing/wait_for.h"
#include "tests/worker/fake_task_client.h"
#include "worker/clock.h"

namespace cmig::testing {

class FakeClock final : public worker::Clock {
 public:
  absl::Time Now() const override {
    return absl::FromUnixSeconds(1'800'000'000) + absl::Nanoseconds(offset_ns_.load());
  }

  // Waits in short real slices: a waiter on another mutex cannot be woken by Advance, so it
  // rechecks this clock's time between slices.
  bool AwaitWithDeadline(absl::Mutex& mu, const absl::Condition& condition,
                         absl::Time deadline) const override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    while (true) {
      if (Now() >= deadline) return condition.Eval();
      if (mu.AwaitWithTimeout(condition, absl::Milliseconds(1))) return true;
    }
  }

  // Moves this clock forward by `d` (> 0) at once.
  void Advance(absl::Duration d) { offset_ns_.fetch_add(absl::ToInt64Nanoseconds(d)); }

 private:
  std::atomic<int64_t> offset_ns_{0};
};

// Polls and results go to `tasks` when the loop thread gets to them, without a server-side
// wait (an empty poll comes back empty at once); timers fire when `clock` reaches them.
class FakeTaskLoop final : public client::AsyncTaskClient {
 public:
  FakeTaskLoop(FakeTaskClient& tasks, const FakeClock& clock) : tasks_(tasks), clock_(clock) {}

  void BatchPoll(const client::BatchPollRequest& request, PollCallback done) override {
    Post([this, request, done = std::move(done)]() mutable {
      std::move(done)(tasks_.BatchPollAt(request, clock_.Now()));
    });
  }

  void UpdateTask(const conductor::proto::TaskResult& result, UpdateCallback done) override {
    Post([this, result, done = std::move(done)]() mutable {
      std::move(done)(tasks_.UpdateTask(result));
    });
  }

  void RunAt(absl::Time when, TimerCallback fn) override {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    timers_.emplace(when, std::move(fn));
  }

  void Run() override {
    while (true) {
      std::vector<absl::AnyInvocable<void() &&>> ready;
      {
        absl::MutexLock lock(&mu_);
        auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return !calls_.empty() || stopping_ ||
                 (!timers_.empty() && timers_.begin()->first <= clock_.Now());
        };
        // Real-time slices: the clock moves without telling this mutex.
        while (!mu_.AwaitWithTimeout(absl::Condition(&has_work), absl::Milliseconds(1))) {
        }
        if (stopping_ && calls_.empty()) return;
        while (!calls_.empty()) {
          ready.push_back(std::move(calls_.front()));
          calls_.pop_front();
        }
        const absl::Time now = clock_.Now();
        while (!timers_.empty() && timers_.begin()->first <= now) {
          ready.push_back(std::move(timers_.begin()->second));
          timers_.erase(timers_.begin());
        }
      }
      for (auto& fn : ready) std::move(fn)();
    }
  }

  void Stop() override {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    timers_.clear();
  }

  bool stopped() const override {
    absl::MutexLock lock(&mu_);
    return stopping_;
  }

 private:
  void Post(absl::AnyInvocable<void() &&> call) {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    calls_.push_back(std::move(call));
  }

  FakeTaskClient& tasks_;
  const FakeClock& clock_;
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<absl::AnyInvocable<void() &&>> calls_ ABSL_GUARDED_BY(mu_);
  std::multimap<absl::Time, absl::AnyInvocable<void() &&>> timers_ ABSL_GUARDED_BY(mu_);
};

// Moves `clock` forward by `step` at a time until `cond` holds (true) or `real_timeout` passes
// (false). What the test waits for happens at the clock's pace, not the wall clock's.
inline bool RunClockUntil(FakeClock& clock, const std::function<bool()>& cond,
                          absl::Duration step = absl::Milliseconds(5),
                          absl::Duration real_timeout = absl::Seconds(10)) {
  return WaitFor(
      [&] {
        if (cond()) return true;
        clock.Advance(step);
        return false;
      },
      real_timeout, absl::Milliseconds(1));
}

}  // namespace cmig::testing

#endif  // CMIG_TESTS_WORKER_FAKE_CLOCK_H_
