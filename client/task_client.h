// The worker's side of Conductor's TaskService: poll tasks, report results,
// write and read step logs.
//
// An interface so the worker runtime and the step handlers can be tested with
// a fake; GrpcOrchestratorClient (client/grpc_client.h) is the real one and
// speaks Conductor's wire protocol, so it works against the embedded
// orchestrator and against a Conductor server with gRPC enabled.
//
//   TaskClient& tasks = *client;
//   ASSIGN_OR_RETURN(auto polled, tasks.BatchPoll({.task_type = "fetch_definitions",
//                                                  .worker_id = "host-1234",
//                                                  .count = 4,
//                                                  .timeout = absl::Seconds(1)}));
//
// Thread-safety: implementations are safe to call from many threads at once.
// Errors: every call returns the status of the RPC, converted by
// base/grpc_status.h with a message naming the call and the server address;
// Unavailable / DeadlineExceeded mean the server could not be reached in time
// and the call may be retried.
#ifndef CMIG_CLIENT_TASK_CLIENT_H_
#define CMIG_CLIENT_TASK_CLIENT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "conductor/model/task.pb.h"
#include "conductor/model/taskexeclog.pb.h"
#include "conductor/model/taskresult.pb.h"

namespace cmig::client {

struct BatchPollRequest {
  std::string task_type;
  // Recorded by the server on each task it hands out; use a stable id per
  // process (host name and pid) so operators can tell workers apart.
  std::string worker_id;
  // Empty: the task type's default queue. Otherwise Conductor's domain queue
  // "<domain>:<task_type>".
  std::string domain;
  // Upper bound on the tasks returned. Conductor treats 0 as 1.
  int count = 1;
  // How long the server may hold the call open waiting for work. Conductor
  // rejects more than 5 s with InvalidArgument and treats 0 as 100 ms.
  absl::Duration timeout = absl::Milliseconds(100);
};

class TaskClient {
 public:
  virtual ~TaskClient() = default;

  // Long-polls for up to `request.count` tasks; blocks at most about
  // `request.timeout` plus the client's call deadline. An empty vector means
  // no work arrived in time. Every returned task is now leased to this worker
  // until its responseTimeoutSeconds runs out.
  virtual absl::StatusOr<std::vector<conductor::proto::Task>> BatchPoll(
      const BatchPollRequest& request) = 0;

  // Reports a result (terminal, IN_PROGRESS with callbackAfterSeconds, or a
  // lease extension when result.extend_lease() is set). Conductor accepts
  // and ignores an update for a task that is already terminal. NotFound:
  // no such task.
  virtual absl::Status UpdateTask(const conductor::proto::TaskResult& result) = 0;

  // Appends one line to the task's execution log (step-level history).
  virtual absl::Status AddLog(absl::string_view task_id, absl::string_view line) = 0;

  // The task's log lines, oldest first.
  virtual absl::StatusOr<std::vector<conductor::proto::TaskExecLog>> GetTaskLogs(
      absl::string_view task_id) = 0;

  // One task by id. NotFound when the server does not know it.
  virtual absl::StatusOr<conductor::proto::Task> GetTask(absl::string_view task_id) = 0;
};

}  // namespace cmig::client

#endif  // CMIG_CLIENT_TASK_CLIENT_H_
