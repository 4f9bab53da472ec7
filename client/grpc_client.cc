#include "client/grpc_client.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/grpc_status.h"
#include "cmig/v1/definitions.grpc.pb.h"
#include "cmig/v1/task_queues.grpc.pb.h"
#include "cmig/v1/workflow_watch.grpc.pb.h"
#include "conductor/grpc/event_service.grpc.pb.h"
#include "conductor/grpc/metadata_service.grpc.pb.h"
#include "conductor/grpc/task_service.grpc.pb.h"
#include "conductor/grpc/workflow_service.grpc.pb.h"

namespace cmig::client {
namespace {

namespace ctasks = ::conductor::grpc::tasks;
namespace cmeta = ::conductor::grpc::metadata;
namespace cwf = ::conductor::grpc::workflows;
namespace cev = ::conductor::grpc::events;

absl::StatusOr<std::string> ReadFile(absl::string_view path, absl::string_view what) {
  std::ifstream in{std::string(path), std::ios::binary};
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read ", what, " file ", path));
  }
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) {
    return absl::DataLossError(absl::StrCat("error reading ", what, " file ", path));
  }
  return content.str();
}

}  // namespace

absl::StatusOr<std::string> ReadTokenFile(absl::string_view path) {
  absl::StatusOr<std::string> content = ReadFile(path, "token");
  if (!content.ok()) {
    return content.status();
  }
  std::string token(absl::StripAsciiWhitespace(*content));
  if (token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("token file ", path, " is empty"));
  }
  return token;
}

struct GrpcOrchestratorClient::Stubs {
  explicit Stubs(const std::shared_ptr<::grpc::Channel>& channel)
      : tasks(ctasks::TaskService::NewStub(channel)),
        metadata(cmeta::MetadataService::NewStub(channel)),
        workflows(cwf::WorkflowService::NewStub(channel)),
        catalog(::cmig::v1::DefinitionCatalog::NewStub(channel)),
        queues(::cmig::v1::TaskQueues::NewStub(channel)),
        watch(::cmig::v1::WorkflowWatch::NewStub(channel)),
        events(cev::EventService::NewStub(channel)) {}
  const std::unique_ptr<ctasks::TaskService::Stub> tasks;
  const std::unique_ptr<cmeta::MetadataService::Stub> metadata;
  const std::unique_ptr<cwf::WorkflowService::Stub> workflows;
  const std::unique_ptr<::cmig::v1::DefinitionCatalog::Stub> catalog;
  const std::unique_ptr<::cmig::v1::TaskQueues::Stub> queues;
  const std::unique_ptr<::cmig::v1::WorkflowWatch::Stub> watch;
  const std::unique_ptr<cev::EventService::Stub> events;
};

absl::StatusOr<std::shared_ptr<::grpc::Channel>> MakeChannel(const ClientOptions& options) {
  if (options.address.empty()) {
    return absl::InvalidArgumentError("empty server address");
  }
  std::shared_ptr<::grpc::ChannelCredentials> credentials;
  if (options.use_tls) {
    ::grpc::SslCredentialsOptions ssl;
    if (!options.root_ca_file.empty()) {
      absl::StatusOr<std::string> roots = ReadFile(options.root_ca_file, "root CA");
      if (!roots.ok()) {
        return roots.status();
      }
      ssl.pem_root_certs = *std::move(roots);
    }
    credentials = ::grpc::SslCredentials(ssl);
  } else {
    credentials = ::grpc::InsecureChannelCredentials();
  }
  ::grpc::ChannelArguments args;
  // Results and packages can be large; the server decides what it accepts.
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  // gRPC's default reconnect backoff grows to 120 s; after an orchestrator
  // restart the worker should be back within seconds.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
  return ::grpc::CreateCustomChannel(options.address, credentials, args);
}

absl::StatusOr<std::unique_ptr<GrpcOrchestratorClient>> GrpcOrchestratorClient::Create(
    const ClientOptions& options) {
  absl::StatusOr<std::shared_ptr<::grpc::Channel>> channel = MakeChannel(options);
  if (!channel.ok()) {
    return absl::Status(channel.status().code(),
                        absl::StrCat("orchestrator client: ", channel.status().message()));
  }
  return std::unique_ptr<GrpcOrchestratorClient>(
      new GrpcOrchestratorClient(options, *std::move(channel)));
}

GrpcOrchestratorClient::GrpcOrchestratorClient(const ClientOptions& options,
                                               const std::shared_ptr<::grpc::Channel>& channel)
    : options_(options),
      address_(options.address),
      token_(options.token),
      call_timeout_(options.call_timeout),
      channel_(channel),
      stubs_(std::make_unique<Stubs>(channel)) {}

GrpcOrchestratorClient::~GrpcOrchestratorClient() = default;

void GrpcOrchestratorClient::Prepare(::grpc::ClientContext& context, absl::Duration extra) const {
  context.set_deadline(absl::ToChronoTime(absl::Now() + call_timeout_ + extra));
  if (!token_.empty()) {
    context.AddMetadata("authorization", absl::StrCat("Bearer ", token_));
  }
}

std::string GrpcOrchestratorClient::Where(absl::string_view call) const {
  return absl::StrCat(call, " at ", address_);
}

// ---- TaskClient ----

ctasks::BatchPollRequest GrpcOrchestratorClient::ToWire(const BatchPollRequest& request) {
  ctasks::BatchPollRequest req;
  req.set_task_type(request.task_type);
  req.set_worker_id(request.worker_id);
  req.set_domain(request.domain);
  req.set_count(request.count);
  req.set_timeout(static_cast<int32_t>(absl::ToInt64Milliseconds(request.timeout)));
  return req;
}

absl::StatusOr<std::vector<conductor::proto::Task>> GrpcOrchestratorClient::BatchPoll(
    const BatchPollRequest& request) {
  const ctasks::BatchPollRequest req = ToWire(request);
  ::grpc::ClientContext context;
  Prepare(context, request.timeout);
  std::unique_ptr<::grpc::ClientReader<conductor::proto::Task>> reader =
      stubs_->tasks->BatchPoll(&context, req);
  std::vector<conductor::proto::Task> tasks;
  conductor::proto::Task task;
  while (reader->Read(&task)) {
    tasks.push_back(std::move(task));
  }
  ::grpc::Status status = reader->Finish();
  if (!status.ok()) {
    // Tasks already streamed are leased to us; hand them to the caller rather
    // than let them sit until their response timeout.
    if (!tasks.empty()) {
      return tasks;
    }
    return FromGrpc(status, Where(absl::StrCat("BatchPoll ", request.task_type)));
  }
  return tasks;
}

absl::Status GrpcOrchestratorClient::UpdateTask(const conductor::proto::TaskResult& result) {
  ctasks::UpdateTaskRequest req;
  *req.mutable_result() = result;
  ctasks::UpdateTaskResponse resp;
  ::grpc::ClientContext context;
  Prepare(context);
  return FromGrpc(stubs_->tasks->UpdateTask(&context, req, &resp),
                  Where(absl::StrCat("UpdateTask ", result.task_id())));
}

absl::Status GrpcOrchestratorClient::AddLog(absl::string_view task_id, absl::string_view line) {
  ctasks::AddLogRequest req;
  req.set_task_id(std::string(task_id));
  req.set_log(std::string(line));
  ctasks::AddLogResponse resp;
  ::grpc::ClientContext context;
  Prepare(context);
  return FromGrpc(stubs_->tasks->AddLog(&context, req, &resp),
                  Where(absl::StrCat("AddLog ", task_id)));
}

absl::StatusOr<std::vector<conductor::proto::TaskExecLog>> GrpcOrchestratorClient::GetTaskLogs(
    absl::string_view task_id) {
  ctasks::GetTaskLogsRequest req;
  req.set_task_id(std::string(task_id));
  ctasks::GetTaskLogsResponse resp;
  ::grpc::ClientContext context;
  Prepare(context);
  absl::Status s = FromGrpc(stubs_->tasks->GetTaskLogs(&context, req, &resp),
                            Where(absl::StrCat("GetTaskLogs ", task_id)));
  if (!s.ok()) {
    return s;
  }
  return std::vector<conductor::proto::TaskExecLog>(resp.logs().begin(), resp.logs().end());
}

absl::StatusOr<conductor::proto::Task> GrpcOrchestratorClient::GetTask(absl::string_view task_id) {
  ctasks::GetTaskRequest req;
  req.set_task_id(std::string(task_id));
  ctasks::GetTaskResponse resp;
  ::grpc::ClientContext context;
  Prepare(context);
  absl::Status s = FromGrpc(stubs_->tasks->GetTask(&context, req, &resp),
                            Where(absl::StrCat("GetTask ", task_id)));
  if (!s.ok()) {
    return s;
  }
  if (!resp.has_task()) {
    return absl::NotFoundError(
        absl::StrCat(Where(absl::StrCat("GetTask ", task_id)), ": no such task"));
  }
  return std::move(*resp.mutable_task());
}

// ---- MetadataClient ----

absl::StatusOr<conductor::proto::WorkflowDef> GrpcOrchestratorClient::GetWorkflowDef(
    absl::string_view name, int version) {
  cmeta::GetWorkflowRequest req;
  req.set_name(std::string(name));
  req.set_version(version);
  cmeta::GetWorkflowResponse resp;
  ::grpc::ClientContext context;
  Prepare(context);
  const std::string what = version > 0 ? absl::StrCat("GetWorkflow ", name, " v", version)
                                       : absl::StrCat("GetWorkflow ", name, " (latest)");
  absl::Status s = FromGrpc(stubs_->metadata->GetWorkflow(&context, req, &resp), Where(what));
  if (!s.ok()) {
    return s;
  }
  if (!resp.has_workflow()) {
    return absl::NotFoundError(absl::StrCat(Where(what), ": no such workflow"));
  }
  return std::move(*resp.mutable_workflow());
}

absl::Status GrpcOrchestratorClient::CreateWorkflowDef(const conductor::proto::WorkflowDef& def) {
  cmeta::CreateWorkflowRequest req;
  *req.mutable_workflow() = def;
  cmeta::CreateWorkflowResponse resp;
  ::grpc::ClientContext context;
  Prepare(context);
  return FromGrpc(stubs_->metadata->CreateWorkflow(&context, req, &resp),
                  Where(absl::StrCat("CreateWorkflow ", def.name(), " v", def.version())));
}

absl::Status GrpcOrchestratorClient::UpdateWorkflowDefs(
    const std::vector<conductor::proto::WorkflowDef>& defs) {
  cmeta::UpdateWorkflowsRequest req;
  for (const auto& def : defs) {
    *req.add_defs() = def;
  }
  cmeta::UpdateWorkflowsResponse resp;
  ::grpc::ClientContext context;
  Prepare(context);
  std::string what = "UpdateWorkflows";
  for (const auto& def : defs) {
    absl::StrAppend(&what, " ", def.name(), " v", def.version());
  }
  return FromGrpc(stubs_->metadata->UpdateWorkflows(&context, req, &resp), Where(what));
}

absl::StatusOr<conductor::proto::TaskDef> GrpcOrchestratorClient::GetTaskDef(
    absl::string_view name) {
  cmeta::GetTaskRequest req;
  req.set_task_type(std::string(name));
  cmeta::GetTaskResponse resp;
  ::grpc::ClientContext context;
  Prepare(context);
  const std::string what = absl::StrCat("GetTaskDef ", name);
  absl::Status s = FromGrpc(stubs_->metadata->GetTask(&context, req, &resp), Where(what));
  if (!s.ok()) {
    return s;
  }
  if (!resp.has_task()) {
    return absl::NotFoundError(absl::StrCat(Where(what), ": no such task definition"));
  }
  return std::move(*resp.mutable_task());
}

absl::Status GrpcOrchestratorClient::CreateTaskDefs(
    const std::vector<conductor::proto::TaskDef>& defs) {
  cmeta::CreateTasksRequest req;
  for (const auto& def : defs) {
    *req.add_defs() = def;
  }
  cmeta::CreateTasksResponse resp;
  ::grpc::ClientContext context;
  Prepare(context);
  std::string what = "CreateTasks";
  for (const auto& def : defs) {
    absl::StrAppend(&what, " ", def.name());
  }
  return FromGrpc(stubs_->metadata->CreateTasks(&context, req, &resp), Where(what));
}

absl::Status GrpcOrchestratorClient::UpdateTaskDef(const conductor::proto::TaskDef& def) {
  cmeta::UpdateTaskRequest req;
  *req.mutable_task() = def;
  cmeta::UpdateTaskResponse resp;
  ::grpc::ClientContext context;
  Prepare(context);
  return FromGrpc(stubs_->metadata->UpdateTask(&context, req, &resp),
                  Where(absl::StrCat("UpdateTaskDef ", def.name())));
}

namespace {

// Conductor servers do not serve the extension; say so instead of a bare
// UNIMPLEMENTED so the operator knows listing is what is missing.
absl::Status ListingStatus(const ::grpc::Status& status, const std::string& where) {
  if (status.error_code() == ::grpc::StatusCode::UNIMPLEMENTED) {
    return absl::UnimplementedError(
        absl::StrCat(where,
                     ": the server does not offer definition listing (cmig.v1.DefinitionCatalog); "
                     "name the definitions explicitly"));
  }
  return FromGrpc(status, where);
}

}  // namespace

absl::StatusOr<std::vector<conductor::proto::WorkflowDef>> GrpcOrchestratorClient::ListWorkflowDefs(
    absl::string_view name, bool all_versions) {
  ::cmig::v1::ListWorkflowDefsRequest req;
  req.set_name(std::string(name));
  req.set_all_versions(all_versions);
  std::vector<conductor::proto::WorkflowDef> out;
  do {  // a page at a time: a large catalog does not fit one message
    ::cmig::v1::ListWorkflowDefsResponse resp;
    ::grpc::ClientContext context;
    Prepare(context);
    absl::Status s = ListingStatus(stubs_->catalog->ListWorkflowDefs(&context, req, &resp),
                                   Where("ListWorkflowDefs"));
    if (!s.ok()) {
      return s;
    }
    for (auto& d : *resp.mutable_workflows()) out.push_back(std::move(d));
    req.set_page_token(resp.next_page_token());
  } while (!req.page_token().empty());
  return out;
}

absl::StatusOr<std::vector<conductor::proto::TaskDef>> GrpcOrchestratorClient::ListTaskDefs() {
  ::cmig::v1::ListTaskDefsRequest req;
  std::vector<conductor::proto::TaskDef> out;
  do {
    ::cmig::v1::ListTaskDefsResponse resp;
    ::grpc::ClientContext context;
    Prepare(context);
    absl::Status s =
        ListingStatus(stubs_->catalog->ListTaskDefs(&context, req, &resp), Where("ListTaskDefs"));
    if (!s.ok()) {
      return s;
    }
    for (auto& d : *resp.mutable_tasks()) out.push_back(std::move(d));
    req.set_page_token(resp.next_page_token());
  } while (!req.page_token().empty());
  return out;
}

absl::StatusOr<std::vector<::cmig::v1::PollData>> GrpcOrchestratorClient::GetPollData(
    absl::string_view task_type) {
  ::cmig::v1::GetPollDataRequest req;
  req.set_task_type(std::string(task_type));
  ::cmig::v1::GetPollDataResponse resp;
  ::grpc::ClientContext context;
  Prepare(context);
  ::grpc::Status status = stubs_->queues->GetPollData(&context, req, &resp);
  if (status.error_code() == ::grpc::StatusCode::UNIMPLEMENTED) {
    return absl::UnimplementedError(absl::StrCat(Where("GetPollData"),
                                                 ": the server does not say which workers poll its "
                                                 "queues (cmig.v1.TaskQueues)"));
  }
  if (absl::Status s = FromGrpc(status, Where("GetPollData")); !s.ok()) return s;
  return std::vector<::cmig::v1::PollData>(resp.poll_data().begin(), resp.poll_data().end());
}

// ---- WorkflowClient ----

absl::StatusOr<int64_t> GrpcOrchestratorClient::WatchWorkflow(absl::string_view workflow_id,
                                                              int64_t seen,
                                                              absl::Duration timeout) {
  ::cmig::v1::WatchWorkflowRequest req;
  req.set_workflow_id(std::string(workflow_id));
  req.set_seen_stamp(seen);
  req.set_timeout_ms(std::clamp<int64_t>(absl::ToInt64Milliseconds(timeout), 0, 60'000));
  ::cmig::v1::WatchWorkflowResponse resp;
  ::grpc::ClientContext context;
  Prepare(context, timeout);
  ::grpc::Status status = stubs_->watch->WatchWorkflow(&context, req, &resp);
  if (status.error_code() == ::grpc::StatusCode::UNIMPLEMENTED) {
    return absl::UnimplementedError(
        absl::StrCat(Where("WatchWorkflow"), ": the server cannot wait for a workflow change"));
  }
  if (absl::Status s = FromGrpc(status, Where("WatchWorkflow")); !s.ok()) return s;
  return resp.stamp();
}

absl::StatusOr<std::string> GrpcOrchestratorClient::StartWorkflow(
    const conductor::proto::StartWorkflowRequest& request) {
  cwf::StartWorkflowResponse resp;
  ::grpc::ClientContext context;
  Prepare(context);
  absl::Status s = FromGrpc(stubs_->workflows->StartWorkflow(&context, request, &resp),
                            Where(absl::StrCat("StartWorkflow ", request.name())));
  if (!s.ok()) {
    return s;
  }
  return resp.workflow_id();
}

absl::StatusOr<conductor::proto::Workflow> GrpcOrchestratorClient::GetWorkflowStatus(
    absl::string_view workflow_id, bool include_tasks) {
  cwf::GetWorkflowStatusRequest req;
  req.set_workflow_id(std::string(workflow_id));
  req.set_include_tasks(include_tasks);
  conductor::proto::Workflow resp;
  ::grpc::ClientContext context;
  Prepare(context);
  absl::Status s = FromGrpc(stubs_->workflows->GetWorkflowStatus(&context, req, &resp),
                            Where(absl::StrCat("GetWorkflowStatus ", workflow_id)));
  if (!s.ok()) {
    return s;
  }
  return resp;
}

absl::StatusOr<std::vector<conductor::proto::Workflow>>
GrpcOrchestratorClient::GetWorkflowsByCorrelationId(absl::string_view name,
                                                    absl::string_view correlation_id,
                                                    bool include_closed, bool include_tasks) {
  cwf::GetWorkflowsRequest req;
  req.set_name(std::string(name));
  req.add_correlation_id(std::string(correlation_id));
  req.set_include_closed(include_closed);
  req.set_include_tasks(include_tasks);
  cwf::GetWorkflowsResponse resp;
  ::grpc::ClientContext context;
  Prepare(context);
  absl::Status s =
      FromGrpc(stubs_->workflows->GetWorkflows(&context, req, &resp),
               Where(absl::StrCat("GetWorkflows ", name, " correlation id ", correlation_id)));
  if (!s.ok()) {
    return s;
  }
  std::vector<conductor::proto::Workflow> out;
  auto it = resp.workflows_by_id().find(std::string(correlation_id));
  if (it != resp.workflows_by_id().end()) {
    out.assign(it->second.workflows().begin(), it->second.workflows().end());
  }
  return out;
}

absl::Status GrpcOrchestratorClient::RetryWorkflow(absl::string_view workflow_id,
                                                   bool resume_subworkflow_tasks) {
  cwf::RetryWorkflowRequest req;
  req.set_workflow_id(std::string(workflow_id));
  req.set_resume_subworkflow_tasks(resume_subworkflow_tasks);
  cwf::RetryWorkflowResponse resp;
  ::grpc::ClientContext context;
  Prepare(context);
  return FromGrpc(stubs_->workflows->RetryWorkflow(&context, req, &resp),
                  Where(absl::StrCat("RetryWorkflow ", workflow_id)));
}

absl::Status GrpcOrchestratorClient::RestartWorkflow(absl::string_view workflow_id,
                                                     bool use_latest_definitions) {
  cwf::RestartWorkflowRequest req;
  req.set_workflow_id(std::string(workflow_id));
  req.set_use_latest_definitions(use_latest_definitions);
  cwf::RestartWorkflowResponse resp;
  ::grpc::ClientContext context;
  Prepare(context);
  return FromGrpc(stubs_->workflows->RestartWorkflow(&context, req, &resp),
                  Where(absl::StrCat("RestartWorkflow ", workflow_id)));
}

absl::Status GrpcOrchestratorClient::TerminateWorkflow(absl::string_view workflow_id,
                                                       absl::string_view reason) {
  cwf::TerminateWorkflowRequest req;
  req.set_workflow_id(std::string(workflow_id));
  req.set_reason(std::string(reason));
  cwf::TerminateWorkflowResponse resp;
  ::grpc::ClientContext context;
  Prepare(context);
  return FromGrpc(stubs_->workflows->TerminateWorkflow(&context, req, &resp),
                  Where(absl::StrCat("TerminateWorkflow ", workflow_id)));
}

absl::StatusOr<WorkflowSearchResult> GrpcOrchestratorClient::SearchWorkflows(
    const WorkflowSearchQuery& query) {
  ::conductor::grpc::search::Request req;
  req.set_start(query.start);
  req.set_size(query.size);
  req.set_sort(query.sort);
  req.set_free_text(query.free_text);
  req.set_query(query.query);
  cwf::WorkflowSummarySearchResult resp;
  ::grpc::ClientContext context;
  Prepare(context);
  absl::Status s = FromGrpc(stubs_->workflows->Search(&context, req, &resp),
                            Where(absl::StrCat("SearchWorkflows \"", query.query, "\"")));
  if (!s.ok()) {
    return s;
  }
  WorkflowSearchResult out;
  out.total_hits = resp.total_hits();
  out.results.assign(resp.results().begin(), resp.results().end());
  return out;
}

// ---- EventHandlerClient ----

absl::StatusOr<std::vector<conductor::proto::EventHandler>>
GrpcOrchestratorClient::ListEventHandlers() {
  const cev::GetEventHandlersRequest req;
  ::grpc::ClientContext context;
  Prepare(context);
  std::unique_ptr<::grpc::ClientReader<conductor::proto::EventHandler>> reader =
      stubs_->events->GetEventHandlers(&context, req);
  std::vector<conductor::proto::EventHandler> handlers;
  conductor::proto::EventHandler handler;
  while (reader->Read(&handler)) {
    handlers.push_back(std::move(handler));
    handler.Clear();
  }
  // Unlike BatchPoll's leased tasks, a partial listing is worth nothing: a caller comparing it
  // with another environment would see handlers missing that exist.
  absl::Status status = FromGrpc(reader->Finish(), Where("GetEventHandlers"));
  if (!status.ok()) {
    return status;
  }
  std::sort(handlers.begin(), handlers.end(),
            [](const conductor::proto::EventHandler& a, const conductor::proto::EventHandler& b) {
              return a.name() < b.name();
            });
  return handlers;
}

absl::Status GrpcOrchestratorClient::AddEventHandler(
    const conductor::proto::EventHandler& handler) {
  cev::AddEventHandlerRequest req;
  *req.mutable_handler() = handler;
  cev::AddEventHandlerResponse resp;
  ::grpc::ClientContext context;
  Prepare(context);
  return FromGrpc(stubs_->events->AddEventHandler(&context, req, &resp),
                  Where(absl::StrCat("AddEventHandler ", handler.name())));
}

absl::Status GrpcOrchestratorClient::UpdateEventHandler(
    const conductor::proto::EventHandler& handler) {
  cev::UpdateEventHandlerRequest req;
  *req.mutable_handler() = handler;
  cev::UpdateEventHandlerResponse resp;
  ::grpc::ClientContext context;
  Prepare(context);
  return FromGrpc(stubs_->events->UpdateEventHandler(&context, req, &resp),
                  Where(absl::StrCat("UpdateEventHandler ", handler.name())));
}

absl::Status GrpcOrchestratorClient::RemoveEventHandler(absl::string_view name) {
  cev::RemoveEventHandlerRequest req;
  req.set_name(std::string(name));
  cev::RemoveEventHandlerResponse resp;
  ::grpc::ClientContext context;
  Prepare(context);
  return FromGrpc(stubs_->events->RemoveEventHandler(&context, req, &resp),
                  Where(absl::StrCat("RemoveEventHandler ", name)));
}

}  // namespace cmig::client
