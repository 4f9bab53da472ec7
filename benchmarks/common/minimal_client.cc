#include "benchmarks/common/minimal_client.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace cmig::bench {

namespace ts = conductor::grpc::tasks;

void RunMinimalClient(ts::TaskService::Stub& tasks, const MinimalClientOptions& options,
                      const std::atomic<bool>& stop, std::atomic<int64_t>& completed) {
  constexpr int kMaxOutstanding = 256;
  struct Call {
    ::grpc::ClientContext ctx;
    ts::UpdateTaskRequest req;
    ts::UpdateTaskResponse resp;
  };
  absl::Mutex mu;
  int outstanding = 0;
  int64_t received = 0;
  std::vector<conductor::proto::Task> got;
  while (!stop.load() && received < options.max_tasks) {
    ts::BatchPollRequest req;
    req.set_task_type(options.task_type);
    req.set_worker_id(options.worker_id);
    req.set_count(static_cast<int>(std::min<int64_t>(options.batch, options.max_tasks - received)));
    req.set_timeout(static_cast<int>(absl::ToInt64Milliseconds(options.poll_timeout)));
    ::grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + options.poll_timeout + absl::Seconds(10)));
    auto reader = tasks.BatchPoll(&ctx, req);
    got.clear();
    conductor::proto::Task task;
    while (reader->Read(&task)) {
      if (options.on_task) options.on_task(task, absl::Now());
      got.push_back(std::move(task));
    }
    reader->Finish();
    received += static_cast<int64_t>(got.size());
    for (const conductor::proto::Task& t : got) {
      {
        absl::MutexLock lock(&mu);
        auto room = [&]()
                        ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return outstanding < kMaxOutstanding; };
        mu.Await(absl::Condition(&room));
        ++outstanding;
      }
      auto* call = new Call;
      conductor::proto::TaskResult* result = call->req.mutable_result();
      result->set_task_id(t.task_id());
      result->set_workflow_instance_id(t.workflow_instance_id());
      result->set_worker_id(options.worker_id);
      result->set_status(conductor::proto::TaskResult::COMPLETED);
      call->ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
      tasks.async()->UpdateTask(&call->ctx, &call->req, &call->resp, [&, call](::grpc::Status s) {
        if (s.ok()) completed.fetch_add(1);
        delete call;
        absl::MutexLock lock(&mu);
        --outstanding;
      });
    }
  }
  absl::MutexLock lock(&mu);
  auto none = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return outstanding == 0; };
  mu.Await(absl::Condition(&none));
}

}  // namespace cmig::bench
