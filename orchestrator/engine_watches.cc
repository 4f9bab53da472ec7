// Watches of running workflows (engine.h): a caller learns that a workflow changed when the
// change commits, instead of reading it again and again. The stamps are given in OnCommitted
// (engine.cc); parked watches time out on the timer thread, as parked polls do.
#include <optional>
#include <utility>

#include "orchestrator/engine.h"
#include "orchestrator/engine_internal.h"

namespace cmig::orchestrator {

using engine_internal::IsTerminal;
using engine_internal::RealNowMs;

uint64_t Engine::WatchWorkflow(const std::string& workflow_id, int64_t seen, int64_t timeout_ms,
                               WatchCallback callback) {
  std::optional<absl::StatusOr<int64_t>> answer;
  uint64_t id = 0;
  {
    absl::MutexLock lock(&mu_);
    auto it = workflows_.find(workflow_id);
    if (it != workflows_.end()) {
      WorkflowState& ws = *it->second;
      if (ws.change_stamp == 0) ws.change_stamp = ++last_stamp_;
      if (ws.change_stamp != seen || IsTerminal(ws.wf.status()) || timeout_ms <= 0 || stopping_) {
        answer = ws.change_stamp;
      } else {
        id = next_waiter_id_++;
        watches_[id] = Watch{workflow_id, seen, std::move(callback)};
        watches_of_[workflow_id].insert(id);
        const int64_t deadline = RealNowMs() + timeout_ms;
        watch_timers_.emplace(deadline, id);
        ArmTimerLocked(deadline);
      }
    }
  }
  if (id != 0) return id;
  if (!answer) {
    // Not in memory: ended (or unknown), and then it changes no more until retried.
    absl::StatusOr<conductor::proto::Workflow> stored =
        store_.ReadWorkflow(workflow_id, /*include_tasks=*/false, nullptr);
    answer = stored.ok() ? absl::StatusOr<int64_t>(0) : stored.status();
  }
  callback(*std::move(answer));  // NOLINT(bugprone-use-after-move): moved only when parked
  return 0;
}

bool Engine::CancelWatch(uint64_t watch_id) {
  absl::MutexLock lock(&mu_);
  auto it = watches_.find(watch_id);
  if (it == watches_.end()) return false;
  auto of = watches_of_.find(it->second.workflow_id);
  if (of != watches_of_.end()) {
    of->second.erase(watch_id);
    if (of->second.empty()) watches_of_.erase(of);
  }
  watches_.erase(it);  // its timer entry is skipped when it fires
  return true;
}

void Engine::AnswerWatchesLocked(const std::string& workflow_id, int64_t stamp,
                                 std::vector<std::function<void()>>& deferred) {
  auto of = watches_of_.find(workflow_id);
  if (of == watches_of_.end()) return;
  for (uint64_t id : of->second) {
    auto it = watches_.find(id);
    if (it == watches_.end()) continue;
    deferred.push_back([cb = std::move(it->second.callback), stamp] { cb(stamp); });
    watches_.erase(it);
  }
  watches_of_.erase(of);
}

void Engine::ExpireWatchesLocked(int64_t real_now, std::vector<std::function<void()>>& deferred) {
  while (!watch_timers_.empty() && watch_timers_.begin()->first <= real_now) {
    const uint64_t id = watch_timers_.begin()->second;
    watch_timers_.erase(watch_timers_.begin());
    auto it = watches_.find(id);
    if (it == watches_.end()) continue;  // answered or cancelled earlier
    auto of = watches_of_.find(it->second.workflow_id);
    if (of != watches_of_.end()) {
      of->second.erase(id);
      if (of->second.empty()) watches_of_.erase(of);
    }
    deferred.push_back([cb = std::move(it->second.callback), seen = it->second.seen] { cb(seen); });
    watches_.erase(it);
  }
}

}  // namespace cmig::orchestrator
