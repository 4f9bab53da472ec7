// The engine's private state types and helpers, shared by the files the engine is split into
// (engine.cc, engine_definitions.cc, engine_queues.cc, engine_workflows.cc). Nothing outside
// those files includes this header. Every member of these types is guarded by Engine::mu_.
#ifndef CMIG_ORCHESTRATOR_ENGINE_INTERNAL_H_
#define CMIG_ORCHESTRATOR_ENGINE_INTERNAL_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "orchestrator/engine.h"

namespace cmig::orchestrator {

struct Engine::WorkflowState {
  conductor::proto::Workflow wf;  // with every task attempt
  int64_t start_time = 0;
  int64_t update_time = 0;
  // Batches holding this workflow's writes not yet committed; a workflow that
  // ended is dropped from memory only when this is 0, so reads never fall back
  // to a store that lags memory.
  int pending_commits = 0;
  // This workflow's one entry in workflow_timers_, if armed.
  std::optional<std::multimap<int64_t, std::string>::iterator> timer;
  bool deciding = false;
  bool redecide = false;
  // Place in a chain of sub-workflows and failure workflows: 1 for a workflow started on its
  // own, its parent's (or failed workflow's) depth + 1 otherwise.
  int chain_depth = 1;
  // Moves when a change to this workflow committed (Engine::WatchWorkflow); 0 until then.
  int64_t change_stamp = 0;
};

// The changes of one engine call: written to the store as one batch, published to pollers
// once handed to the store, and callbacks run once the engine mutex is released.
struct Engine::Txn {
  WriteBatch batch;
  struct Enqueue {
    std::string queue_name;
    std::string task_id;
    int64_t visible_at;
  };
  std::vector<Enqueue> enqueues;
  absl::flat_hash_set<std::string> touched;     // workflow ids written
  std::vector<std::function<void()>> deferred;  // run after the engine mutex is released
};

// A parked long poll.
struct Engine::Waiter {
  std::string queue_name;
  std::string worker_id;
  int count = 1;
  int64_t deadline_ms = 0;  // real time; past it the caller is gone or going
  PollCallback callback;
};

struct Engine::Queue {
  // (visible_at, seq) -> task id: due order, FIFO among equals.
  std::map<std::pair<int64_t, uint64_t>, std::string> items;
  absl::flat_hash_map<std::string, std::pair<int64_t, uint64_t>> keys;
  std::deque<uint64_t> waiters;  // parked poll ids, oldest first (cancelled ids skipped)
  // The latest poll of this queue since the engine started: who, and when (engine clock).
  std::string last_worker_id;
  int64_t last_poll_ms = 0;
};

namespace engine_internal {

// Long-poll deadlines are real time whatever the engine's clock (see clock.h).
inline int64_t RealNowMs() { return absl::ToUnixMillis(absl::Now()); }

inline bool IsTerminal(conductor::proto::Workflow::WorkflowStatus s) {
  using conductor::proto::Workflow;
  return s == Workflow::COMPLETED || s == Workflow::FAILED || s == Workflow::TIMED_OUT ||
         s == Workflow::TERMINATED;
}

inline bool IsTerminal(conductor::proto::Task::Status s) {
  return s != conductor::proto::Task::IN_PROGRESS && s != conductor::proto::Task::SCHEDULED;
}

}  // namespace engine_internal
}  // namespace cmig::orchestrator

#endif  // CMIG_ORCHESTRATOR_ENGINE_INTERNAL_H_
