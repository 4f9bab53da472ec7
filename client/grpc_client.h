// The gRPC implementation of the orchestrator client interfaces, over one
// channel to an embedded orchestrator or a Conductor server (gRPC enabled).
//
//   cmig::client::ClientOptions options;
//   options.address = "127.0.0.1:8090";
//   options.token = token_from_secret_store;  // optional
//   ASSIGN_OR_RETURN(std::unique_ptr<cmig::client::GrpcOrchestratorClient> client,
//                    cmig::client::GrpcOrchestratorClient::Create(options));
//   cmig::client::TaskClient& tasks = *client;
//
// Every call carries a deadline (`call_timeout`, plus the poll timeout for
// BatchPoll) and, when a token is set, the metadata
// `authorization: Bearer <token>` that the embedded orchestrator checks. The
// token is never logged and never appears in a returned status.
//
// Thread-safety: all methods may be called concurrently. The client owns its
// channel; destroy it only after every call on it has returned.
#ifndef CMIG_CLIENT_GRPC_CLIENT_H_
#define CMIG_CLIENT_GRPC_CLIENT_H_

#include <grpcpp/channel.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/event_handler_client.h"
#include "client/metadata_client.h"
#include "client/task_client.h"
#include "client/workflow_client.h"
#include "cmig/v1/task_queues.pb.h"

namespace grpc {
class Channel;
class ClientContext;
}  // namespace grpc

namespace conductor::grpc::tasks {
class BatchPollRequest;
}  // namespace conductor::grpc::tasks

namespace cmig::client {

struct ClientOptions {
  // host:port, or any gRPC target ("dns:///conductor:8090", "unix:/path").
  std::string address;
  // Bearer token; empty sends no authorization metadata. A secret: never
  // logged, never part of an error message.
  std::string token;
  // TLS: when `use_tls`, the channel verifies the server against the PEM
  // roots in `root_ca_file`, or the system roots when it is empty.
  bool use_tls = false;
  std::string root_ca_file;
  // Deadline of every unary call.
  absl::Duration call_timeout = absl::Seconds(10);
};

// Reads a bearer token from `path`, trimming surrounding whitespace.
// NotFound / PermissionDenied when the file cannot be read; InvalidArgument
// when it is empty. The message names the path, never the content.
absl::StatusOr<std::string> ReadTokenFile(absl::string_view path);

// The channel every client of this folder uses: TLS per `options` (root CA
// file read here; errors name the file), 64 MiB messages, reconnect backoff
// capped at 5 s. Does not connect. InvalidArgument for an empty address.
absl::StatusOr<std::shared_ptr<::grpc::Channel>> MakeChannel(const ClientOptions& options);

class GrpcOrchestratorClient final : public TaskClient,
                                     public MetadataClient,
                                     public WorkflowClient,
                                     public EventHandlerClient {
 public:
  // Creates the channel; does not connect (the first call does).
  // InvalidArgument: empty address; NotFound: unreadable root CA file.
  static absl::StatusOr<std::unique_ptr<GrpcOrchestratorClient>> Create(
      const ClientOptions& options);

  ~GrpcOrchestratorClient() override;
  GrpcOrchestratorClient(const GrpcOrchestratorClient&) = delete;
  GrpcOrchestratorClient& operator=(const GrpcOrchestratorClient&) = delete;

  const std::string& address() const { return address_; }
  // The options the client was created with (holds the token: never log them).
  const ClientOptions& options() const { return options_; }

  // TaskClient.
  absl::StatusOr<std::vector<conductor::proto::Task>> BatchPoll(
      const BatchPollRequest& request) override;
  absl::Status UpdateTask(const conductor::proto::TaskResult& result) override;
  absl::Status AddLog(absl::string_view task_id, absl::string_view line) override;
  absl::StatusOr<std::vector<conductor::proto::TaskExecLog>> GetTaskLogs(
      absl::string_view task_id) override;
  absl::StatusOr<conductor::proto::Task> GetTask(absl::string_view task_id) override;

  // MetadataClient.
  absl::StatusOr<conductor::proto::WorkflowDef> GetWorkflowDef(absl::string_view name,
                                                               int version) override;
  absl::Status CreateWorkflowDef(const conductor::proto::WorkflowDef& def) override;
  absl::Status UpdateWorkflowDefs(const std::vector<conductor::proto::WorkflowDef>& defs) override;
  absl::StatusOr<conductor::proto::TaskDef> GetTaskDef(absl::string_view name) override;
  absl::Status CreateTaskDefs(const std::vector<conductor::proto::TaskDef>& defs) override;
  absl::Status UpdateTaskDef(const conductor::proto::TaskDef& def) override;
  absl::StatusOr<std::vector<conductor::proto::WorkflowDef>> ListWorkflowDefs(
      absl::string_view name, bool all_versions) override;
  absl::StatusOr<std::vector<conductor::proto::TaskDef>> ListTaskDefs() override;

  // When workers last polled the queues of `task_type` (every queue when empty), through
  // cmig.v1.TaskQueues; Unimplemented from a server without it (a Conductor server).
  absl::StatusOr<std::vector<::cmig::v1::PollData>> GetPollData(absl::string_view task_type);

  // WorkflowClient.
  absl::StatusOr<std::string> StartWorkflow(
      const conductor::proto::StartWorkflowRequest& request) override;
  absl::StatusOr<conductor::proto::Workflow> GetWorkflowStatus(absl::string_view workflow_id,
                                                               bool include_tasks) override;
  absl::StatusOr<std::vector<conductor::proto::Workflow>> GetWorkflowsByCorrelationId(
      absl::string_view name, absl::string_view correlation_id, bool include_closed,
      bool include_tasks) override;
  absl::Status RetryWorkflow(absl::string_view workflow_id, bool resume_subworkflow_tasks) override;
  absl::Status RestartWorkflow(absl::string_view workflow_id, bool use_latest_definitions) override;
  absl::Status TerminateWorkflow(absl::string_view workflow_id, absl::string_view reason) override;
  absl::StatusOr<WorkflowSearchResult> SearchWorkflows(const WorkflowSearchQuery& query) override;
  absl::StatusOr<int64_t> WatchWorkflow(absl::string_view workflow_id, int64_t seen,
                                        absl::Duration timeout) override;

  // EventHandlerClient, over Conductor's EventService. ListEventHandlers reads the whole
  // GetEventHandlers stream, then sorts by name (the stream's order is the server's); a stream
  // that fails part-way is an error, not a partial list.
  absl::StatusOr<std::vector<conductor::proto::EventHandler>> ListEventHandlers() override;
  absl::Status AddEventHandler(const conductor::proto::EventHandler& handler) override;
  absl::Status UpdateEventHandler(const conductor::proto::EventHandler& handler) override;
  absl::Status RemoveEventHandler(absl::string_view name) override;

 private:
  // Issues the same calls asynchronously, with this client's channel,
  // deadline and token.
  friend class TaskEventLoop;
  struct Stubs;
  // `request` as Conductor's wire message, for the blocking and the
  // asynchronous call alike.
  static ::conductor::grpc::tasks::BatchPollRequest ToWire(const BatchPollRequest& request);
  GrpcOrchestratorClient(const ClientOptions& options,
                         const std::shared_ptr<::grpc::Channel>& channel);

  // Sets the deadline (`call_timeout` + `extra`) and the authorization header.
  void Prepare(::grpc::ClientContext& context, absl::Duration extra = absl::ZeroDuration()) const;
  // "<call> at <address>" for error messages.
  std::string Where(absl::string_view call) const;

  const ClientOptions options_;
  const std::string address_;
  const std::string token_;
  const absl::Duration call_timeout_;
  const std::shared_ptr<::grpc::Channel> channel_;
  const std::unique_ptr<Stubs> stubs_;
};

}  // namespace cmig::client

#endif  // CMIG_CLIENT_GRPC_CLIENT_H_
