#include "client/task_event_loop.h"

#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/grpc_status.h"
#include "base/thread_sanitizer.h"

namespace cmig::client {

namespace ctasks = ::conductor::grpc::tasks;

// One asynchronous operation; its address is the completion queue tag.
class TaskEventLoop::Op {
 public:
  virtual ~Op() = default;
  // Handles one completion. True when the operation is over: its callback
  // has run (or was dropped) and the loop may delete it.
  virtual bool Proceed(bool ok) = 0;
};

// A server-streaming BatchPoll: start, one read per task, finish.
class TaskEventLoop::PollOp final : public TaskEventLoop::Op {
 public:
  PollOp(const GrpcOrchestratorClient& client, std::string task_type, PollCallback done)
      : client_(client), task_type_(std::move(task_type)), done_(std::move(done)) {}

  ::grpc::ClientContext context;
  std::unique_ptr<::grpc::ClientAsyncReader<conductor::proto::Task>> reader;

  bool Proceed(bool ok) override {
    switch (state_) {
      case State::kStarting:
      case State::kReading:
        if (state_ == State::kReading && ok) {
          tasks_.push_back(std::move(next_));
        }
        if (ok) {
          state_ = State::kReading;
          reader->Read(&next_, this);
        } else {
          state_ = State::kFinishing;
          reader->Finish(&status_, this);
        }
        return false;
      case State::kFinishing:
        // Tasks already streamed are leased to this worker: hand them over
        // rather than let them sit until their response timeout.
        if (status_.ok() || !tasks_.empty()) {
          std::move(done_)(std::move(tasks_));
        } else {
          std::move(done_)(
              FromGrpc(status_, client_.Where(absl::StrCat("BatchPoll ", task_type_))));
        }
        return true;
    }
    return true;
  }

 private:
  enum class State { kStarting, kReading, kFinishing };
  const GrpcOrchestratorClient& client_;
  const std::string task_type_;
  PollCallback done_;
  State state_ = State::kStarting;
  conductor::proto::Task next_;
  std::vector<conductor::proto::Task> tasks_;
  ::grpc::Status status_;
};

class TaskEventLoop::UpdateOp final : public TaskEventLoop::Op {
 public:
  UpdateOp(const GrpcOrchestratorClient& client, UpdateCallback done)
      : client_(client), done_(std::move(done)) {}

  ::grpc::ClientContext context;
  ctasks::UpdateTaskRequest request;
  ctasks::UpdateTaskResponse response;
  ::grpc::Status status;
  std::unique_ptr<::grpc::ClientAsyncResponseReader<ctasks::UpdateTaskResponse>> call;

  bool Proceed(bool) override {
    std::move(done_)(status.ok()
                         ? absl::OkStatus()
                         : FromGrpc(status, client_.Where(absl::StrCat(
                                                "UpdateTask ", request.result().task_id()))));
    return true;
  }

 private:
  const GrpcOrchestratorClient& client_;
  UpdateCallback done_;
};

// Ends the loop thread's wait at once, for a timer set from another thread.
class TaskEventLoop::WakeOp final : public TaskEventLoop::Op {
 public:
  ::grpc::Alarm alarm;

  bool Proceed(bool) override { return true; }
};

TaskEventLoop::TaskEventLoop(const GrpcOrchestratorClient& client)
    : client_(client), stub_(ctasks::TaskService::NewStub(client.channel_)) {}

TaskEventLoop::~TaskEventLoop() {
  Stop();
  if (!run_started_.load()) {
    Run();
  }
}

bool TaskEventLoop::AdmitCall() {
  // Counted before `stopping_` is read, and Stop sets `stopping_` before it
  // reads the count: a call is either refused or seen by Stop.
  calls_in_flight_.fetch_add(1);
  if (stopping_.load()) {
    CallDone();
    return false;
  }
  return true;
}

void TaskEventLoop::CallDone() {
  if (calls_in_flight_.fetch_sub(1) == 1 && stopping_.load()) {
    absl::MutexLock lock(&mu_);
    MaybeShutDownLocked();
  }
}

void TaskEventLoop::MaybeShutDownLocked() {
  if (!queue_shut_down_ && calls_in_flight_.load() == 0) {
    queue_shut_down_ = true;
    queue_.Shutdown();
  }
}

void TaskEventLoop::BatchPoll(const BatchPollRequest& request, PollCallback done) {
  if (!AdmitCall()) {
    return;
  }
  auto* op = new PollOp(client_, request.task_type, std::move(done));
  const ctasks::BatchPollRequest req = GrpcOrchestratorClient::ToWire(request);
  client_.Prepare(op->context, request.timeout);
  op->reader = stub_->PrepareAsyncBatchPoll(&op->context, req, &queue_);
  HandOff(&queue_);
  op->reader->StartCall(op);
}

void TaskEventLoop::UpdateTask(const conductor::proto::TaskResult& result, UpdateCallback done) {
  if (!AdmitCall()) {
    return;
  }
  auto* op = new UpdateOp(client_, std::move(done));
  *op->request.mutable_result() = result;
  client_.Prepare(op->context);
  op->call = stub_->PrepareAsyncUpdateTask(&op->context, op->request, &queue_);
  HandOff(&queue_);
  op->call->StartCall();
  op->call->Finish(&op->response, &op->status, op);
}

void TaskEventLoop::RunAt(absl::Time when, TimerCallback fn) {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_.load()) {
      return;
    }
    timers_.emplace(when, std::move(fn));
    if (when >= waiting_until_) {
      return;  // the loop is running, or wakes up in time anyway
    }
    waiting_until_ = when;
  }
  if (!AdmitCall()) {
    return;
  }
  auto* wake = new WakeOp;
  HandOff(&queue_);
  wake->alarm.Set(&queue_, absl::ToChronoTime(absl::UnixEpoch()), wake);
}

void TaskEventLoop::RunDueTimers() {
  const absl::Time now = absl::Now();
  while (true) {
    TimerCallback fn;
    {
      absl::MutexLock lock(&mu_);
      if (timers_.empty() || timers_.begin()->first > now) {
        return;
      }
      fn = std::move(timers_.begin()->second);
      timers_.erase(timers_.begin());
    }
    std::move(fn)();
  }
}

void TaskEventLoop::Run() {
  run_started_.store(true);
  void* tag = nullptr;
  bool ok = false;
  while (true) {
    absl::Time deadline;
    {
      absl::MutexLock lock(&mu_);
      deadline = timers_.empty() ? absl::InfiniteFuture() : timers_.begin()->first;
      waiting_until_ = deadline;
    }
    const ::grpc::CompletionQueue::NextStatus next =
        queue_.AsyncNext(&tag, &ok, absl::ToChronoTime(std::max(deadline, absl::UnixEpoch())));
    {
      absl::MutexLock lock(&mu_);
      waiting_until_ = absl::InfinitePast();
    }
    if (next == ::grpc::CompletionQueue::SHUTDOWN) {
      return;
    }
    if (next == ::grpc::CompletionQueue::GOT_EVENT) {
      TakeOver(&queue_);
      Op* op = static_cast<Op*>(tag);
      if (op->Proceed(ok)) {
        delete op;
        CallDone();
      }
    }
    RunDueTimers();
  }
}

void TaskEventLoop::Stop() {
  std::multimap<absl::Time, TimerCallback> dropped;
  absl::MutexLock lock(&mu_);
  if (stopping_.exchange(true)) {
    return;
  }
  dropped.swap(timers_);
  MaybeShutDownLocked();
}

}  // namespace cmig::client
