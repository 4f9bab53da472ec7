#include "worker/chores.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/time/clock.h"
#include "spdlog/spdlog.h"

namespace cmig::worker {

ChoreRunner::ChoreRunner(std::vector<tasks::Chore> chores) {
  for (tasks::Chore& c : chores) {
    if (c.every > absl::ZeroDuration() && c.run) chores_.push_back(std::move(c));
  }
}

void ChoreRunner::Start() {
  if (chores_.empty() || thread_.joinable() || stop_.HasBeenNotified()) return;
  thread_ = std::thread([this] { Loop(); });
}

void ChoreRunner::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

void ChoreRunner::Loop() {
  std::vector<absl::Time> due(chores_.size());
  std::vector<std::string> last_error(chores_.size());
  const absl::Time start = absl::Now();
  for (size_t i = 0; i < chores_.size(); ++i) due[i] = start + chores_[i].every;
  while (true) {
    absl::Time next = absl::InfiniteFuture();
    for (absl::Time t : due) next = std::min(next, t);
    if (stop_.WaitForNotificationWithTimeout(next - absl::Now())) return;
    for (size_t i = 0; i < chores_.size(); ++i) {
      if (absl::Now() < due[i]) continue;
      absl::Status s = chores_[i].run();
      if (!s.ok() && s.ToString() != last_error[i]) {
        spdlog::warn("{}: {}", chores_[i].name, s.ToString());
      }
      last_error[i] = s.ok() ? "" : s.ToString();
      due[i] = absl::Now() + chores_[i].every;
      if (stop_.HasBeenNotified()) return;
    }
  }
}

}  // namespace cmig::worker
