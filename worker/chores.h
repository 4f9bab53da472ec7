// Runs a registry's chores (tasks/handler_registry.h) on one thread beside the worker: each
// every `every`, the first time `every` after Start. A chore's error is logged (once while it
// repeats) and the next run tries again.
//
//   ChoreRunner chores(registry.chores());
//   chores.Start();
//   ...
//   chores.Stop();   // before the clients the chores use go away
#ifndef CMIG_WORKER_CHORES_H_
#define CMIG_WORKER_CHORES_H_

#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "tasks/handler_registry.h"

namespace cmig::worker {

class ChoreRunner {
 public:
  // Copies the chores; those with a non-positive `every` never run.
  explicit ChoreRunner(std::vector<tasks::Chore> chores);
  ~ChoreRunner() { Stop(); }
  ChoreRunner(const ChoreRunner&) = delete;
  ChoreRunner& operator=(const ChoreRunner&) = delete;

  // Starts the thread; does nothing when there is no chore to run or it runs already.
  void Start();
  // Waits for a chore in progress to return, then stops the thread. Idempotent.
  void Stop();

 private:
  void Loop();

  std::vector<tasks::Chore> chores_;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace cmig::worker

#endif  // CMIG_WORKER_CHORES_H_
