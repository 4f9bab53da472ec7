#include "worker/metrics.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace cmig::worker {
namespace {

// Label values escape backslash, quote and newline (exposition format).
std::string Label(absl::string_view value) {
  return absl::StrReplaceAll(value, {{"\\", "\\\\"}, {"\"", "\\\""}, {"\n", "\\n"}});
}

}  // namespace

WorkerMetrics::PerType& WorkerMetrics::For(absl::string_view task_type) {
  auto it = types_.find(task_type);
  if (it == types_.end()) {
    it = types_.emplace(std::string(task_type), PerType{}).first;
  }
  return it->second;
}

void WorkerMetrics::RecordPoll(absl::string_view task_type, absl::Duration latency, bool ok) {
  absl::MutexLock lock(&mu_);
  PerType& t = For(task_type);
  ++t.polls;
  if (!ok) {
    ++t.poll_errors;
  }
  ++t.poll_time.count;
  t.poll_time.sum_seconds += absl::ToDoubleSeconds(latency);
}

void WorkerMetrics::RecordExecution(absl::string_view task_type, absl::Duration run_time,
                                    absl::string_view error_status) {
  absl::MutexLock lock(&mu_);
  PerType& t = For(task_type);
  ++t.execute_time.count;
  t.execute_time.sum_seconds += absl::ToDoubleSeconds(run_time);
  if (!error_status.empty()) {
    ++t.execute_errors[std::string(error_status)];
  }
}

void WorkerMetrics::RecordUpdateError(absl::string_view task_type) {
  absl::MutexLock lock(&mu_);
  ++For(task_type).update_errors;
}

void WorkerMetrics::RecordLeaseExtension(absl::string_view task_type) {
  absl::MutexLock lock(&mu_);
  ++For(task_type).lease_extensions;
}

void WorkerMetrics::RecordQueueFull(absl::string_view task_type) {
  absl::MutexLock lock(&mu_);
  ++For(task_type).queue_full;
}

void WorkerMetrics::AddInFlight(absl::string_view task_type, int delta) {
  absl::MutexLock lock(&mu_);
  For(task_type).in_flight += delta;
}

int64_t WorkerMetrics::Count(absl::string_view name, absl::string_view task_type) const {
  absl::MutexLock lock(&mu_);
  auto it = types_.find(task_type);
  if (it == types_.end()) {
    return 0;
  }
  const PerType& t = it->second;
  if (name == "task_poll_counter") {
    return t.polls;
  }
  if (name == "task_poll_error") {
    return t.poll_errors;
  }
  if (name == "task_execute_time_seconds") {
    return t.execute_time.count;
  }
  if (name == "task_execute_error") {
    int64_t n = 0;
    for (const auto& [status, count] : t.execute_errors) {
      n += count;
    }
    return n;
  }
  if (name == "task_update_error") {
    return t.update_errors;
  }
  if (name == "task_lease_extend") {
    return t.lease_extensions;
  }
  if (name == "task_execution_queue_full") {
    return t.queue_full;
  }
  if (name == "task_in_flight") {
    return t.in_flight;
  }
  return 0;
}

std::string WorkerMetrics::RenderPrometheus() const {
  absl::MutexLock lock(&mu_);
  std::string out;
  auto family = [&](absl::string_view name, absl::string_view type, absl::string_view help,
                    auto&& emit) {
    absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
    for (const auto& [task_type, t] : types_) {
      emit(Label(task_type), t);
    }
  };
  auto simple = [&](absl::string_view name, absl::string_view type, absl::string_view help,
                    int64_t PerType::*field) {
    family(name, type, help, [&](const std::string& label, const PerType& t) {
      absl::StrAppend(&out, name, "{taskType=\"", label, "\"} ", t.*field, "\n");
    });
  };
  auto summary = [&](absl::string_view name, absl::string_view help, Summary PerType::*field) {
    family(name, "summary", help, [&](const std::string& label, const PerType& t) {
      const Summary& s = t.*field;
      absl::StrAppend(&out, name, "_sum{taskType=\"", label, "\"} ", s.sum_seconds, "\n", name,
                      "_count{taskType=\"", label, "\"} ", s.count, "\n");
    });
  };
  simple("task_poll_counter", "counter", "BatchPoll calls.", &PerType::polls);
  simple("task_poll_error", "counter", "BatchPoll calls that failed.", &PerType::poll_errors);
  summary("task_poll_time_seconds", "BatchPoll latency.", &PerType::poll_time);
  summary("task_execute_time_seconds", "Handler run time.", &PerType::execute_time);
  family("task_execute_error", "counter", "Handler errors by status code.",
         [&](const std::string& label, const PerType& t) {
           for (const auto& [status, count] : t.execute_errors) {
             absl::StrAppend(&out, "task_execute_error{taskType=\"", label, "\",status=\"",
                             Label(status), "\"} ", count, "\n");
           }
         });
  simple("task_update_error", "counter", "UpdateTask attempts that failed.",
         &PerType::update_errors);
  simple("task_lease_extend", "counter", "Lease extensions sent.", &PerType::lease_extensions);
  simple("task_execution_queue_full", "counter", "Polls skipped: every execution slot busy.",
         &PerType::queue_full);
  simple("task_in_flight", "gauge", "Tasks polled and not yet reported.", &PerType::in_flight);
  return out;
}

}  // namespace cmig::worker
