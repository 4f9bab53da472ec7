// The minimal poll/update client: the least any Conductor worker must do per
// task, as a yardstick for the orchestrator's and the worker's benchmarks.
//
//   std::atomic<bool> stop{false};
//   std::atomic<int64_t> completed{0};
//   cmig::bench::RunMinimalClient(*stub, {.task_type = "noop", .batch = 32}, stop, completed);
//
// It BatchPolls up to `batch` tasks, completes each with an asynchronous
// UpdateTask (at most 256 outstanding) and polls again without waiting for
// them. No handler, no retry, no lease upkeep, no metrics.
#ifndef CMIG_BENCHMARKS_COMMON_MINIMAL_CLIENT_H_
#define CMIG_BENCHMARKS_COMMON_MINIMAL_CLIENT_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>

#include "absl/time/time.h"
#include "conductor/grpc/task_service.grpc.pb.h"

namespace cmig::bench {

struct MinimalClientOptions {
  std::string task_type;
  std::string worker_id = "bench";
  int batch = 32;
  absl::Duration poll_timeout = absl::Milliseconds(200);
  // Stops polling once it has received this many tasks.
  int64_t max_tasks = std::numeric_limits<int64_t>::max();
  // Sees each task as it arrives, with the time it arrived; may be empty.
  std::function<void(const conductor::proto::Task&, absl::Time)> on_task;
};

// Polls and completes tasks until `stop` is set or `max_tasks` tasks have
// arrived, then waits for its outstanding updates. Adds each accepted update
// to `completed`.
void RunMinimalClient(conductor::grpc::tasks::TaskService::Stub& tasks,
                      const MinimalClientOptions& options, const std::atomic<bool>& stop,
                      std::atomic<int64_t>& completed);

}  // namespace cmig::bench

#endif  // CMIG_BENCHMARKS_COMMON_MINIMAL_CLIENT_H_
