// An in-memory TaskClient for worker unit tests: a queue of tasks per type,
// a record of every UpdateTask and AddLog, and switches to make calls fail.
#ifndef CMIG_TESTS_WORKER_FAKE_TASK_CLIENT_H_
#define CMIG_TESTS_WORKER_FAKE_TASK_CLIENT_H_

#include <deque>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/task_client.h"

namespace cmig::testing {

class FakeTaskClient final : public client::TaskClient {
 public:
  void Enqueue(conductor::proto::Task task) {
    absl::MutexLock lock(&mu_);
    queues_[task.task_type()].push_back(std::move(task));
  }
  // The next `n` BatchPoll / UpdateTask calls fail with `status`.
  void FailPolls(int n, absl::Status status) {
    absl::MutexLock lock(&mu_);
    poll_failures_ = n;
    poll_error_ = std::move(status);
  }
  void FailUpdates(int n, absl::Status status) {
    absl::MutexLock lock(&mu_);
    update_failures_ = n;
    update_error_ = std::move(status);
  }
  void FailAddLog(bool fail) {
    absl::MutexLock lock(&mu_);
    fail_add_log_ = fail;
  }

  // What the queue holds now, without a server-side wait; the poll is recorded at `now`.
  absl::StatusOr<std::vector<conductor::proto::Task>> BatchPollAt(
      const client::BatchPollRequest& request, absl::Time now) {
    absl::MutexLock lock(&mu_);
    polls_.push_back(request);
    poll_times_.push_back(now);
    if (poll_failures_ > 0) {
      --poll_failures_;
      return poll_error_;
    }
    std::vector<conductor::proto::Task> out;
    auto& q = queues_[request.task_type];
    while (!q.empty() && static_cast<int>(out.size()) < std::max(1, request.count)) {
      out.push_back(std::move(q.front()));
      q.pop_front();
    }
    return out;
  }

  absl::StatusOr<std::vector<conductor::proto::Task>> BatchPoll(
      const client::BatchPollRequest& request) override {
    absl::MutexLock lock(&mu_);
    polls_.push_back(request);
    poll_times_.push_back(absl::Now());
    if (poll_failures_ > 0) {
      --poll_failures_;
      return poll_error_;
    }
    std::vector<conductor::proto::Task> out;
    auto& q = queues_[request.task_type];
    // A short server-side wait when empty, as a long poll would.
    if (q.empty()) {
      auto has_work = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !q.empty(); };
      mu_.AwaitWithTimeout(absl::Condition(&has_work), request.timeout);
    }
    while (!q.empty() && static_cast<int>(out.size()) < std::max(1, request.count)) {
      out.push_back(std::move(q.front()));
      q.pop_front();
    }
    return out;
  }

  absl::Status UpdateTask(const conductor::proto::TaskResult& result) override {
    absl::MutexLock lock(&mu_);
    if (update_failures_ > 0) {
      --update_failures_;
      ++rejected_updates_;
      return update_error_;
    }
    updates_.push_back(result);
    return absl::OkStatus();
  }

  absl::Status AddLog(absl::string_view task_id, absl::string_view line) override {
    absl::MutexLock lock(&mu_);
    if (fail_add_log_) return absl::UnavailableError("AddLog: server down");
    logs_[std::string(task_id)].push_back(std::string(line));
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<conductor::proto::TaskExecLog>> GetTaskLogs(
      absl::string_view task_id) override {
    absl::MutexLock lock(&mu_);
    std::vector<conductor::proto::TaskExecLog> out;
    for (const auto& line : logs_[std::string(task_id)]) {
      out.emplace_back().set_log(line);
    }
    return out;
  }

  absl::StatusOr<conductor::proto::Task> GetTask(absl::string_view task_id) override {
    return absl::NotFoundError(absl::StrCat("no task ", task_id));
  }

  // Whether `pred(*this)` holds now (evaluated under the lock, so it may read the accessors).
  template <typename Pred>
  bool Holds(Pred pred) {
    absl::MutexLock lock(&mu_);
    holder_ = this;
    const bool held = pred(*this);
    holder_ = nullptr;
    return held;
  }

  // Accessors: inside Holds they read under its lock; elsewhere each takes the lock itself (a
  // server thread may have written last, ordered only by gRPC's own synchronisation).
  std::vector<conductor::proto::TaskResult> updates() const ABSL_NO_THREAD_SAFETY_ANALYSIS {
    const ReadLock read(*this);
    return updates_;
  }
  // Terminal or IN_PROGRESS results, leaving out lease extensions.
  std::vector<conductor::proto::TaskResult> results() const ABSL_NO_THREAD_SAFETY_ANALYSIS {
    const ReadLock read(*this);
    std::vector<conductor::proto::TaskResult> out;
    for (const auto& u : updates_) {
      if (!u.extend_lease()) out.push_back(u);
    }
    return out;
  }
  int lease_extensions(const std::string& task_id) const ABSL_NO_THREAD_SAFETY_ANALYSIS {
    const ReadLock read(*this);
    int n = 0;
    for (const auto& u : updates_) n += u.extend_lease() && u.task_id() == task_id;
    return n;
  }
  std::vector<client::BatchPollRequest> polls() const ABSL_NO_THREAD_SAFETY_ANALYSIS {
    const ReadLock read(*this);
    return polls_;
  }
  std::vector<absl::Time> poll_times() const ABSL_NO_THREAD_SAFETY_ANALYSIS {
    const ReadLock read(*this);
    return poll_times_;
  }
  int rejected_updates() const ABSL_NO_THREAD_SAFETY_ANALYSIS {
    const ReadLock read(*this);
    return rejected_updates_;
  }
  std::vector<std::string> logs(const std::string& task_id) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    const ReadLock read(*this);
    return logs_[task_id];
  }

 private:
  // Takes c.mu_ unless this thread holds it already, in c.Holds.
  class ReadLock {
   public:
    explicit ReadLock(const FakeTaskClient& c) ABSL_NO_THREAD_SAFETY_ANALYSIS
        : c_(c),
          locks_(holder_ != &c) {
      if (locks_) c_.mu_.Lock();
    }
    ~ReadLock() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      if (locks_) c_.mu_.Unlock();
    }
    ReadLock(const ReadLock&) = delete;
    ReadLock& operator=(const ReadLock&) = delete;

   private:
    const FakeTaskClient& c_;
    const bool locks_;
  };
  // The client whose Holds this thread is in, if any.
  static inline thread_local const FakeTaskClient* holder_ = nullptr;
  mutable absl::Mutex mu_;
  std::map<std::string, std::deque<conductor::proto::Task>> queues_ ABSL_GUARDED_BY(mu_);
  std::vector<client::BatchPollRequest> polls_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Time> poll_times_ ABSL_GUARDED_BY(mu_);
  std::vector<conductor::proto::TaskResult> updates_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::vector<std::string>> logs_ ABSL_GUARDED_BY(mu_);
  int poll_failures_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status poll_error_ ABSL_GUARDED_BY(mu_);
  int update_failures_ ABSL_GUARDED_BY(mu_) = 0;
  int rejected_updates_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status update_error_ ABSL_GUARDED_BY(mu_);
  bool fail_add_log_ ABSL_GUARDED_BY(mu_) = false;
};

inline conductor::proto::Task MakeTask(const std::string& type, const std::string& id,
                                       int64_t response_timeout_seconds = 60) {
  conductor::proto::Task t;
  t.set_task_type(type);
  t.set_task_def_name(type);
  t.set_task_id(id);
  t.set_workflow_instance_id("wf-" + id);
  t.set_status(conductor::proto::Task::IN_PROGRESS);
  t.set_response_timeout_seconds(response_timeout_seconds);
  return t;
}

}  // namespace cmig::testing

#endif  // CMIG_TESTS_WORKER_FAKE_TASK_CLIENT_H_
