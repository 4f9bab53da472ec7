#include "orchestrator/services.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "base/grpc_status.h"
#include "base/status_macros.h"
#include "definitions/conductor_time.h"
#include "definitions/message_value.h"
#include "definitions/task_types.h"
#include "orchestrator/search_query.h"
#include "spdlog/spdlog.h"

namespace cmig::orchestrator {
namespace {

namespace ev = conductor::grpc::events;
namespace md = conductor::grpc::metadata;
namespace ts = conductor::grpc::tasks;
namespace ws = conductor::grpc::workflows;
using conductor::proto::Task;
using ::grpc::CallbackServerContext;
using ::grpc::ServerUnaryReactor;

// Conductor's poll limits (grpc-server TaskServiceImpl / ExecutionService).
constexpr int kMaxPollTimeoutMs = 5000;
constexpr int kDefaultPollTimeoutMs = 100;

// Finishes `reactor` with `s`; shared by every handler that answers at once.
ServerUnaryReactor* Done(CallbackServerContext* ctx, const absl::Status& s) {
  ServerUnaryReactor* r = ctx->DefaultReactor();
  r->Finish(ToGrpc(s));
  return r;
}

// A reactor plus a callback that finishes it from whichever thread the engine
// answers on.
std::pair<ServerUnaryReactor*, Engine::Done> Deferred(CallbackServerContext* ctx) {
  ServerUnaryReactor* r = ctx->DefaultReactor();
  return {r, [r](const absl::Status& s) { r->Finish(ToGrpc(s)); }};
}

class MetadataServiceImpl final : public md::MetadataService::CallbackService {
 public:
  explicit MetadataServiceImpl(Engine& engine) : engine_(engine) {}

  ServerUnaryReactor* CreateWorkflow(CallbackServerContext* ctx,
                                     const md::CreateWorkflowRequest* req,
                                     md::CreateWorkflowResponse*) override {
    auto [r, done] = Deferred(ctx);
    engine_.CreateWorkflowDef(req->workflow(), std::move(done));
    return r;
  }
  ServerUnaryReactor* ValidateWorkflow(CallbackServerContext* ctx,
                                       const md::ValidateWorkflowRequest* req,
                                       md::ValidateWorkflowResponse*) override {
    return Done(ctx, Engine::ValidateWorkflowDef(req->workflow()));
  }
  ServerUnaryReactor* UpdateWorkflows(CallbackServerContext* ctx,
                                      const md::UpdateWorkflowsRequest* req,
                                      md::UpdateWorkflowsResponse*) override {
    auto [r, done] = Deferred(ctx);
    engine_.UpdateWorkflowDefs({req->defs().begin(), req->defs().end()}, std::move(done));
    return r;
  }
  ServerUnaryReactor* GetWorkflow(CallbackServerContext* ctx, const md::GetWorkflowRequest* req,
                                  md::GetWorkflowResponse* resp) override {
    absl::StatusOr<conductor::proto::WorkflowDef> def =
        engine_.GetWorkflowDef(req->name(), req->version());
    if (!def.ok()) return Done(ctx, def.status());
    *resp->mutable_workflow() = *std::move(def);
    return Done(ctx, absl::OkStatus());
  }
  ServerUnaryReactor* CreateTasks(CallbackServerContext* ctx, const md::CreateTasksRequest* req,
                                  md::CreateTasksResponse*) override {
    auto [r, done] = Deferred(ctx);
    engine_.CreateTaskDefs({req->defs().begin(), req->defs().end()}, std::move(done));
    return r;
  }
  ServerUnaryReactor* UpdateTask(CallbackServerContext* ctx, const md::UpdateTaskRequest* req,
                                 md::UpdateTaskResponse*) override {
    auto [r, done] = Deferred(ctx);
    engine_.UpdateTaskDef(req->task(), std::move(done));
    return r;
  }
  ServerUnaryReactor* GetTask(CallbackServerContext* ctx, const md::GetTaskRequest* req,
                              md::GetTaskResponse* resp) override {
    absl::StatusOr<conductor::proto::TaskDef> def = engine_.GetTaskDef(req->task_type());
    if (!def.ok()) return Done(ctx, def.status());
    *resp->mutable_task() = *std::move(def);
    return Done(ctx, absl::OkStatus());
  }
  ServerUnaryReactor* DeleteTask(CallbackServerContext* ctx, const md::DeleteTaskRequest* req,
                                 md::DeleteTaskResponse*) override {
    auto [r, done] = Deferred(ctx);
    engine_.DeleteTaskDef(req->task_type(), std::move(done));
    return r;
  }

 private:
  Engine& engine_;
};

// The catalog answers a page at a time (kCatalogPageBytes of definitions), each page's token
// naming the last definition it carries: "<version>:<name>" (a task definition's version is 0).
constexpr int64_t kCatalogPageBytes = int64_t{2} << 20;

std::string PageToken(const std::string& name, int version) {
  return absl::StrCat(version, ":", name);
}

absl::StatusOr<std::optional<std::pair<std::string, int>>> ParsePageToken(
    const std::string& token) {
  if (token.empty()) return std::nullopt;
  const size_t colon = token.find(':');
  int version = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(token.substr(0, colon), &version)) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_token '", token, "' is not one this server handed out"));
  }
  return std::make_optional(std::make_pair(token.substr(colon + 1), version));
}

class CatalogServiceImpl final : public cmig::v1::DefinitionCatalog::CallbackService {
 public:
  explicit CatalogServiceImpl(Engine& engine) : engine_(engine) {}

  ServerUnaryReactor* ListWorkflowDefs(CallbackServerContext* ctx,
                                       const cmig::v1::ListWorkflowDefsRequest* req,
                                       cmig::v1::ListWorkflowDefsResponse* resp) override {
    absl::StatusOr<std::optional<std::pair<std::string, int>>> after =
        ParsePageToken(req->page_token());
    if (!after.ok()) return Done(ctx, after.status());
    Engine::WorkflowDefPage page =
        engine_.ListWorkflowDefsPage(req->name(), req->all_versions(), *after, kCatalogPageBytes);
    if (page.more) {
      resp->set_next_page_token(PageToken(page.defs.back().name(), page.defs.back().version()));
    }
    for (auto& d : page.defs) *resp->add_workflows() = std::move(d);
    return Done(ctx, absl::OkStatus());
  }
  ServerUnaryReactor* ListTaskDefs(CallbackServerContext* ctx,
                                   const cmig::v1::ListTaskDefsRequest* req,
                                   cmig::v1::ListTaskDefsResponse* resp) override {
    absl::StatusOr<std::optional<std::pair<std::string, int>>> after =
        ParsePageToken(req->page_token());
    if (!after.ok()) return Done(ctx, after.status());
    Engine::TaskDefPage page = engine_.ListTaskDefsPage(
        *after ? std::make_optional((*after)->first) : std::nullopt, kCatalogPageBytes);
    if (page.more) resp->set_next_page_token(PageToken(page.defs.back().name(), 0));
    for (auto& d : page.defs) *resp->add_tasks() = std::move(d);
    return Done(ctx, absl::OkStatus());
  }

 private:
  Engine& engine_;
};

class TaskQueuesImpl final : public cmig::v1::TaskQueues::CallbackService {
 public:
  explicit TaskQueuesImpl(Engine& engine) : engine_(engine) {}

  ServerUnaryReactor* GetPollData(CallbackServerContext* ctx,
                                  const cmig::v1::GetPollDataRequest* req,
                                  cmig::v1::GetPollDataResponse* resp) override {
    for (const Engine::PollRecord& r : engine_.PollRecords(req->task_type())) {
      cmig::v1::PollData* d = resp->add_poll_data();
      d->set_queue_name(r.task_type);
      d->set_domain(r.domain);
      d->set_worker_id(r.worker_id);
      d->set_last_poll_time(r.last_poll_ms);
    }
    return Done(ctx, absl::OkStatus());
  }

 private:
  Engine& engine_;
};

// The longest one WatchWorkflow call may wait.
constexpr int64_t kMaxWatchTimeoutMs = 60'000;

// One WatchWorkflow call, answered when the engine answers the watch or the caller goes away.
// Owns itself; deleted in OnDone.
class WatchReactor final : public ServerUnaryReactor {
 public:
  WatchReactor(Engine& engine, CallbackServerContext* ctx,
               const cmig::v1::WatchWorkflowRequest& req, cmig::v1::WatchWorkflowResponse* resp)
      : engine_(engine) {
    // A watch never outlives its caller's deadline.
    const int64_t remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  ctx->deadline() - std::chrono::system_clock::now())
                                  .count();
    const int64_t timeout = std::min<int64_t>(req.timeout_ms(), std::max<int64_t>(remaining, 0));
    const uint64_t id = engine_.WatchWorkflow(req.workflow_id(), req.seen_stamp(), timeout,
                                              [this, resp](absl::StatusOr<int64_t> stamp) {
                                                if (stamp.ok()) resp->set_stamp(*stamp);
                                                Finish(ToGrpc(stamp.status()));
                                              });
    absl::MutexLock lock(&mu_);
    watch_id_ = id;
  }
  void OnCancel() override {
    uint64_t id;
    {
      absl::MutexLock lock(&mu_);
      id = watch_id_;
    }
    if (id != 0 && engine_.CancelWatch(id)) Finish(::grpc::Status::CANCELLED);
  }
  void OnDone() override { delete this; }

 private:
  Engine& engine_;
  absl::Mutex mu_;
  uint64_t watch_id_ ABSL_GUARDED_BY(mu_) = 0;
};

class WorkflowWatchImpl final : public cmig::v1::WorkflowWatch::CallbackService {
 public:
  explicit WorkflowWatchImpl(Engine& engine) : engine_(engine) {}

  ServerUnaryReactor* WatchWorkflow(CallbackServerContext* ctx,
                                    const cmig::v1::WatchWorkflowRequest* req,
                                    cmig::v1::WatchWorkflowResponse* resp) override {
    if (req->workflow_id().empty()) {
      return Done(ctx, absl::InvalidArgumentError("WatchWorkflow needs a workflow_id"));
    }
    if (req->timeout_ms() < 0 || req->timeout_ms() > kMaxWatchTimeoutMs) {
      return Done(ctx, absl::InvalidArgumentError(absl::StrCat("timeout_ms must be from 0 to ",
                                                               kMaxWatchTimeoutMs, ", not ",
                                                               req->timeout_ms())));
    }
    return new WatchReactor(engine_, ctx, *req, resp);
  }

 private:
  Engine& engine_;
};

// Streams a list of messages, one write at a time. Owns itself; deleted in OnDone.
template <typename T>
class WriteAllReactor final : public ::grpc::ServerWriteReactor<T> {
 public:
  explicit WriteAllReactor(std::vector<T> items) : items_(std::move(items)) { Next(); }
  void OnWriteDone(bool ok) override {
    if (!ok) {
      this->Finish(::grpc::Status::CANCELLED);
      return;
    }
    Next();
  }
  void OnDone() override { delete this; }

 private:
  void Next() {
    if (next_ >= items_.size()) {
      this->Finish(::grpc::Status::OK);
      return;
    }
    this->StartWrite(&items_[next_++]);
  }
  std::vector<T> items_;
  size_t next_ = 0;
};

class EventServiceImpl final : public ev::EventService::CallbackService {
 public:
  explicit EventServiceImpl(Engine& engine) : engine_(engine) {}

  ServerUnaryReactor* AddEventHandler(CallbackServerContext* ctx,
                                      const ev::AddEventHandlerRequest* req,
                                      ev::AddEventHandlerResponse*) override {
    auto [r, done] = Deferred(ctx);
    engine_.AddEventHandler(req->handler(), std::move(done));
    return r;
  }
  ServerUnaryReactor* UpdateEventHandler(CallbackServerContext* ctx,
                                         const ev::UpdateEventHandlerRequest* req,
                                         ev::UpdateEventHandlerResponse*) override {
    auto [r, done] = Deferred(ctx);
    engine_.UpdateEventHandler(req->handler(), std::move(done));
    return r;
  }
  ServerUnaryReactor* RemoveEventHandler(CallbackServerContext* ctx,
                                         const ev::RemoveEventHandlerRequest* req,
                                         ev::RemoveEventHandlerResponse*) override {
    auto [r, done] = Deferred(ctx);
    engine_.RemoveEventHandler(req->name(), std::move(done));
    return r;
  }
  ::grpc::ServerWriteReactor<conductor::proto::EventHandler>* GetEventHandlers(
      CallbackServerContext*, const ev::GetEventHandlersRequest*) override {
    return new WriteAllReactor<conductor::proto::EventHandler>(engine_.ListEventHandlers());
  }
  ::grpc::ServerWriteReactor<conductor::proto::EventHandler>* GetEventHandlersForEvent(
      CallbackServerContext*, const ev::GetEventHandlersForEventRequest* req) override {
    return new WriteAllReactor<conductor::proto::EventHandler>(
        engine_.EventHandlersForEvent(req->event(), req->active_only()));
  }

 private:
  Engine& engine_;
};

class WorkflowServiceImpl final : public ws::WorkflowService::CallbackService {
 public:
  explicit WorkflowServiceImpl(Engine& engine) : engine_(engine) {}

  ServerUnaryReactor* StartWorkflow(CallbackServerContext* ctx,
                                    const conductor::proto::StartWorkflowRequest* req,
                                    ws::StartWorkflowResponse* resp) override {
    ServerUnaryReactor* r = ctx->DefaultReactor();
    engine_.StartWorkflow(*req, [r, resp](absl::StatusOr<std::string> id) {
      if (id.ok()) resp->set_workflow_id(*id);
      r->Finish(ToGrpc(id.status()));
    });
    return r;
  }
  ServerUnaryReactor* GetWorkflows(CallbackServerContext* ctx, const ws::GetWorkflowsRequest* req,
                                   ws::GetWorkflowsResponse* resp) override {
    for (const std::string& cid : req->correlation_id()) {
      absl::StatusOr<std::vector<conductor::proto::Workflow>> list =
          engine_.GetWorkflowsByCorrelationId(req->name(), cid, req->include_closed(),
                                              req->include_tasks());
      if (!list.ok()) return Done(ctx, list.status());
      auto& out = (*resp->mutable_workflows_by_id())[cid];
      for (auto& w : *list) *out.add_workflows() = std::move(w);
    }
    return Done(ctx, absl::OkStatus());
  }
  ServerUnaryReactor* GetWorkflowStatus(CallbackServerContext* ctx,
                                        const ws::GetWorkflowStatusRequest* req,
                                        conductor::proto::Workflow* resp) override {
    absl::StatusOr<conductor::proto::Workflow> wf =
        engine_.GetWorkflow(req->workflow_id(), req->include_tasks());
    if (!wf.ok()) return Done(ctx, wf.status());
    *resp = *std::move(wf);
    return Done(ctx, absl::OkStatus());
  }
  ServerUnaryReactor* RemoveWorkflow(CallbackServerContext* ctx,
                                     const ws::RemoveWorkflowRequest* req,
                                     ws::RemoveWorkflowResponse*) override {
    auto [r, done] = Deferred(ctx);
    engine_.RemoveWorkflow(req->workflod_id(), std::move(done));
    return r;
  }
  ServerUnaryReactor* GetRunningWorkflows(CallbackServerContext* ctx,
                                          const ws::GetRunningWorkflowsRequest* req,
                                          ws::GetRunningWorkflowsResponse* resp) override {
    absl::StatusOr<std::vector<std::string>> ids = engine_.GetRunningWorkflows(
        req->name(), req->version(), req->start_time(), req->end_time());
    if (ids.ok()) {
      for (auto& id : *ids) resp->add_workflow_ids(std::move(id));
    }
    return Done(ctx, ids.status());
  }
  ServerUnaryReactor* DecideWorkflow(CallbackServerContext* ctx,
                                     const ws::DecideWorkflowRequest* req,
                                     ws::DecideWorkflowResponse*) override {
    auto [r, done] = Deferred(ctx);
    engine_.DecideWorkflow(req->workflow_id(), std::move(done));
    return r;
  }
  ServerUnaryReactor* PauseWorkflow(CallbackServerContext* ctx, const ws::PauseWorkflowRequest* req,
                                    ws::PauseWorkflowResponse*) override {
    auto [r, done] = Deferred(ctx);
    engine_.PauseWorkflow(req->workflow_id(), std::move(done));
    return r;
  }
  ServerUnaryReactor* ResumeWorkflow(CallbackServerContext* ctx,
                                     const ws::ResumeWorkflowRequest* req,
                                     ws::ResumeWorkflowResponse*) override {
    auto [r, done] = Deferred(ctx);
    engine_.ResumeWorkflow(req->workflow_id(), std::move(done));
    return r;
  }
  ServerUnaryReactor* RerunWorkflow(CallbackServerContext* ctx,
                                    const conductor::proto::RerunWorkflowRequest* req,
                                    ws::RerunWorkflowResponse* resp) override {
    ServerUnaryReactor* r = ctx->DefaultReactor();
    engine_.RerunWorkflow(*req, [r, resp](absl::StatusOr<std::string> id) {
      if (id.ok()) resp->set_workflow_id(*id);
      r->Finish(ToGrpc(id.status()));
    });
    return r;
  }
  ServerUnaryReactor* RestartWorkflow(CallbackServerContext* ctx,
                                      const ws::RestartWorkflowRequest* req,
                                      ws::RestartWorkflowResponse*) override {
    auto [r, done] = Deferred(ctx);
    engine_.RestartWorkflow(req->workflow_id(), req->use_latest_definitions(), std::move(done));
    return r;
  }
  ServerUnaryReactor* RetryWorkflow(CallbackServerContext* ctx, const ws::RetryWorkflowRequest* req,
                                    ws::RetryWorkflowResponse*) override {
    auto [r, done] = Deferred(ctx);
    engine_.RetryWorkflow(req->workflow_id(), std::move(done));
    return r;
  }
  ServerUnaryReactor* TerminateWorkflow(CallbackServerContext* ctx,
                                        const ws::TerminateWorkflowRequest* req,
                                        ws::TerminateWorkflowResponse*) override {
    auto [r, done] = Deferred(ctx);
    engine_.TerminateWorkflow(req->workflow_id(), req->reason(), std::move(done));
    return r;
  }
  ServerUnaryReactor* Search(CallbackServerContext* ctx,
                             const conductor::grpc::search::Request* req,
                             ws::WorkflowSummarySearchResult* resp) override {
    absl::StatusOr<WorkflowPage> page = Search(*req);
    if (!page.ok()) return Done(ctx, page.status());
    resp->set_total_hits(page->total_hits);
    for (const WorkflowRow& row : page->rows) *resp->add_results() = WorkflowSummaryOf(row);
    return Done(ctx, absl::OkStatus());
  }
  // Search, answering whole workflows (without tasks) instead of summaries.
  ServerUnaryReactor* SearchV2(CallbackServerContext* ctx,
                               const conductor::grpc::search::Request* req,
                               ws::WorkflowSearchResult* resp) override {
    absl::StatusOr<WorkflowPage> page = Search(*req);
    if (!page.ok()) return Done(ctx, page.status());
    resp->set_total_hits(page->total_hits);
    for (const WorkflowRow& row : page->rows) {
      // Read again: the engine's copy of a running workflow is newer than the store's row.
      absl::StatusOr<conductor::proto::Workflow> wf =
          engine_.GetWorkflow(row.workflow.workflow_id(), /*include_tasks=*/false);
      if (wf.ok()) *resp->add_results() = *std::move(wf);
    }
    return Done(ctx, absl::OkStatus());
  }

 private:
  absl::StatusOr<WorkflowPage> Search(const conductor::grpc::search::Request& req) {
    ASSIGN_OR_RETURN(WorkflowQuery query,
                     ParseSearchQuery(req.start(), req.size(), req.free_text(), req.query()));
    return engine_.SearchWorkflows(query);
  }

  Engine& engine_;
};

// Streams the tasks of one BatchPoll. Owns itself; deleted in OnDone.
class BatchPollReactor final : public ::grpc::ServerWriteReactor<Task> {
 public:
  BatchPollReactor(Engine& engine, CallbackServerContext* ctx) : engine_(engine), ctx_(ctx) {}

  void Start(const ts::BatchPollRequest& req) {
    int count = req.count() <= 0 ? 1 : req.count();
    int64_t timeout = req.timeout() <= 0 ? kDefaultPollTimeoutMs : req.timeout();
    // A poll never outlives its caller's deadline, so it cannot take a task
    // after the caller gave up.
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
                         ctx_->deadline() - std::chrono::system_clock::now())
                         .count();
    timeout = std::max<int64_t>(std::min<int64_t>(timeout, remaining), 1);
    uint64_t id =
        engine_.Poll(cmig::TaskQueueName(req.task_type(), req.domain()), req.worker_id(), count,
                     timeout, [this](std::vector<Task> tasks) { Deliver(std::move(tasks)); });
    absl::MutexLock lock(&mu_);
    poll_id_ = id;
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      // The stream broke: what was not written goes back to its queue.
      engine_.ReturnTasks({tasks_.begin() + static_cast<std::ptrdiff_t>(next_), tasks_.end()});
      Finish(::grpc::Status::OK);
      return;
    }
    WriteNext();
  }

  void OnCancel() override {
    uint64_t id;
    {
      absl::MutexLock lock(&mu_);
      id = poll_id_;
    }
    // If the engine already handed tasks over, Deliver finishes the call; a task
    // lost with the cancelled stream comes back after its response timeout.
    if (id != 0 && engine_.CancelPoll(id)) Finish(::grpc::Status::CANCELLED);
  }

  void OnDone() override { delete this; }

 private:
  // Writes are sequential (one outstanding at a time), so tasks_ and next_ need
  // no lock; mu_ guards only the poll id OnCancel reads.
  void Deliver(std::vector<Task> tasks) {
    if (!tasks.empty() && ctx_->IsCancelled()) {
      engine_.ReturnTasks(tasks);
      Finish(::grpc::Status::CANCELLED);
      return;
    }
    tasks_ = std::move(tasks);
    next_ = 0;
    WriteNext();
  }

  void WriteNext() {
    if (next_ >= tasks_.size()) {
      Finish(::grpc::Status::OK);
      return;
    }
    const Task* t = &tasks_[next_++];
    if (next_ == tasks_.size()) {
      StartWriteAndFinish(t, ::grpc::WriteOptions(), ::grpc::Status::OK);
    } else {
      StartWrite(t);
    }
  }

  Engine& engine_;
  CallbackServerContext* const ctx_;
  absl::Mutex mu_;
  uint64_t poll_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<Task> tasks_;
  size_t next_ = 0;
};

class TaskServiceImpl final : public ts::TaskService::CallbackService {
 public:
  explicit TaskServiceImpl(Engine& engine) : engine_(engine) {}

  ServerUnaryReactor* Poll(CallbackServerContext* ctx, const ts::PollRequest* req,
                           ts::PollResponse* resp) override {
    ServerUnaryReactor* r = ctx->DefaultReactor();
    engine_.Poll(cmig::TaskQueueName(req->task_type(), req->domain()), req->worker_id(), 1,
                 kDefaultPollTimeoutMs, [r, resp](std::vector<Task> tasks) {
                   if (!tasks.empty()) *resp->mutable_task() = std::move(tasks[0]);
                   r->Finish(::grpc::Status::OK);
                 });
    return r;
  }

  ::grpc::ServerWriteReactor<Task>* BatchPoll(CallbackServerContext* ctx,
                                              const ts::BatchPollRequest* req) override {
    absl::Status s = absl::OkStatus();
    if (req->timeout() > kMaxPollTimeoutMs) {
      s = absl::InvalidArgumentError("Long Poll Timeout value cannot be more than 5 seconds");
    }
    if (s.ok() && req->task_type().empty()) {
      s = absl::InvalidArgumentError("BatchPoll needs a task_type");
    }
    if (!s.ok()) {
      class Reject final : public ::grpc::ServerWriteReactor<Task> {
       public:
        explicit Reject(const absl::Status& s) { Finish(ToGrpc(s)); }
        void OnDone() override { delete this; }
      };
      return new Reject(s);
    }
    auto* r = new BatchPollReactor(engine_, ctx);
    r->Start(*req);
    return r;
  }

  ServerUnaryReactor* UpdateTask(CallbackServerContext* ctx, const ts::UpdateTaskRequest* req,
                                 ts::UpdateTaskResponse* resp) override {
    resp->set_task_id(req->result().task_id());
    auto [r, done] = Deferred(ctx);
    engine_.UpdateTask(req->result(), std::move(done));
    return r;
  }
  ServerUnaryReactor* AddLog(CallbackServerContext* ctx, const ts::AddLogRequest* req,
                             ts::AddLogResponse*) override {
    auto [r, done] = Deferred(ctx);
    engine_.AddLog(req->task_id(), req->log(), std::move(done));
    return r;
  }
  ServerUnaryReactor* GetTaskLogs(CallbackServerContext* ctx, const ts::GetTaskLogsRequest* req,
                                  ts::GetTaskLogsResponse* resp) override {
    absl::StatusOr<std::vector<conductor::proto::TaskExecLog>> logs =
        engine_.GetTaskLogs(req->task_id());
    if (logs.ok()) {
      for (auto& l : *logs) *resp->add_logs() = std::move(l);
    }
    return Done(ctx, logs.status());
  }
  ServerUnaryReactor* GetTask(CallbackServerContext* ctx, const ts::GetTaskRequest* req,
                              ts::GetTaskResponse* resp) override {
    absl::StatusOr<Task> t = engine_.GetTask(req->task_id());
    if (!t.ok()) return Done(ctx, t.status());
    *resp->mutable_task() = *std::move(t);
    return Done(ctx, absl::OkStatus());
  }
  ServerUnaryReactor* GetQueueSizesForTasks(CallbackServerContext* ctx,
                                            const ts::QueueSizesRequest* req,
                                            ts::QueueSizesResponse* resp) override {
    for (const std::string& type : req->task_types()) {
      (*resp->mutable_queue_for_task())[type] = static_cast<int32_t>(engine_.QueueSize(type));
    }
    return Done(ctx, absl::OkStatus());
  }
  ServerUnaryReactor* GetQueueInfo(CallbackServerContext* ctx, const ts::QueueInfoRequest*,
                                   ts::QueueInfoResponse* resp) override {
    for (const auto& [name, size] : engine_.QueueSizes()) (*resp->mutable_queues())[name] = size;
    return Done(ctx, absl::OkStatus());
  }

 private:
  Engine& engine_;
};

}  // namespace

conductor::proto::WorkflowSummary WorkflowSummaryOf(const WorkflowRow& row) {
  const conductor::proto::Workflow& wf = row.workflow;
  conductor::proto::WorkflowSummary s;
  s.set_workflow_type(wf.workflow_definition().name());
  s.set_version(wf.workflow_definition().version());
  s.set_workflow_id(wf.workflow_id());
  s.set_correlation_id(wf.correlation_id());
  s.set_start_time(cmig::FormatConductorTime(row.start_time));
  s.set_update_time(cmig::FormatConductorTime(row.update_time));
  s.set_end_time(cmig::FormatConductorTime(wf.end_time()));
  s.set_status(wf.status());
  auto json = [&wf](const google::protobuf::Map<std::string, google::protobuf::Value>& m,
                    absl::string_view what) -> std::string {
    google::protobuf::Struct fields;
    *fields.mutable_fields() = m;
    absl::StatusOr<std::string> text = cmig::MessageToJson(fields);
    if (text.ok()) return *std::move(text);
    // A summary is still worth answering without the one field JSON cannot carry.
    spdlog::warn("workflow {}: {} left out of its search summary: {}", wf.workflow_id(),
                 std::string(what), std::string(text.status().message()));
    return "";
  };
  s.set_input(json(wf.input(), "input"));
  s.set_output(json(wf.output(), "output"));
  s.set_reason_for_incompletion(wf.reason_for_incompletion());
  if (wf.end_time() > 0) s.set_execution_time(wf.end_time() - row.start_time);
  s.set_priority(wf.priority());
  *s.mutable_task_to_domain() = wf.task_to_domain();
  s.set_parent_workflow_id(wf.parent_workflow_id());
  for (const auto& n : wf.failed_task_names()) s.add_failed_task_names(n);
  s.set_failed_reference_task_names(absl::StrJoin(wf.failed_reference_task_names(), ","));
  return s;
}

std::vector<NamedService> MakeServices(Engine& engine, bool conductor_api_only) {
  std::vector<NamedService> out;
  out.push_back(
      {md::MetadataService::service_full_name(), std::make_unique<MetadataServiceImpl>(engine)});
  if (!conductor_api_only) {
    out.push_back({cmig::v1::DefinitionCatalog::service_full_name(),
                   std::make_unique<CatalogServiceImpl>(engine)});
    out.push_back(
        {cmig::v1::TaskQueues::service_full_name(), std::make_unique<TaskQueuesImpl>(engine)});
    out.push_back({cmig::v1::WorkflowWatch::service_full_name(),
                   std::make_unique<WorkflowWatchImpl>(engine)});
  }
  out.push_back(
      {ws::WorkflowService::service_full_name(), std::make_unique<WorkflowServiceImpl>(engine)});
  out.push_back({ts::TaskService::service_full_name(), std::make_unique<TaskServiceImpl>(engine)});
  out.push_back(
      {ev::EventService::service_full_name(), std::make_unique<EventServiceImpl>(engine)});
  return out;
}

}  // namespace cmig::orchestrator
