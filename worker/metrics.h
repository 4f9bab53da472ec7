// Worker metrics, rendered in the Prometheus text format under the names
// Conductor's worker SDKs use, labelled by taskType:
//
//   task_poll_counter            counter  BatchPoll calls
//   task_poll_error              counter  BatchPoll calls that failed
//   task_poll_time_seconds       summary  BatchPoll latency (_sum, _count)
//   task_execute_time_seconds    summary  handler run time (_sum, _count)
//   task_execute_error           counter  handler errors (and throws), by status
//   task_update_error            counter  UpdateTask attempts the server rejected
//   task_lease_extend            counter  lease extensions sent
//   task_execution_queue_full    counter  polls skipped because every slot was busy
//   task_in_flight               gauge    tasks polled and not yet reported
//
// Thread-safety: every method may be called from any thread.
#ifndef CMIG_WORKER_METRICS_H_
#define CMIG_WORKER_METRICS_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace cmig::worker {

class WorkerMetrics {
 public:
  void RecordPoll(absl::string_view task_type, absl::Duration latency, bool ok);
  void RecordExecution(absl::string_view task_type, absl::Duration run_time,
                       absl::string_view error_status);  // empty: success
  void RecordUpdateError(absl::string_view task_type);
  void RecordLeaseExtension(absl::string_view task_type);
  void RecordQueueFull(absl::string_view task_type);
  void AddInFlight(absl::string_view task_type, int delta);

  // Snapshot of one counter for tests and the benchmark; 0 when unknown.
  // `name` is one of the metric names above without suffix.
  int64_t Count(absl::string_view name, absl::string_view task_type) const;

  // Prometheus text exposition format 0.0.4.
  std::string RenderPrometheus() const;

 private:
  struct Summary {
    int64_t count = 0;
    double sum_seconds = 0;
  };
  struct PerType {
    int64_t polls = 0;
    int64_t poll_errors = 0;
    Summary poll_time;
    Summary execute_time;
    std::map<std::string, int64_t> execute_errors;  // by status name
    int64_t update_errors = 0;
    int64_t lease_extensions = 0;
    int64_t queue_full = 0;
    int64_t in_flight = 0;
  };
  PerType& For(absl::string_view task_type) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, PerType, std::less<>> types_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cmig::worker

#endif  // CMIG_WORKER_METRICS_H_
