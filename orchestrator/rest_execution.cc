// /api/workflow and /api/tasks: running workflows and the tasks workers poll and update.
#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"
#include "definitions/conductor_json.h"
#include "definitions/conductor_messages.h"
#include "definitions/json.h"
#include "definitions/json_overlay.h"
#include "definitions/message_value.h"
#include "definitions/task_types.h"
#include "migration/migration_start.h"
#include "orchestrator/rest_internal.h"
#include "orchestrator/search_query.h"
#include "orchestrator/services.h"

namespace cmig::orchestrator::rest {
namespace {

using conductor::proto::Task;

// Conductor's poll limits (ExecutionService): a batch poll waits at most 5 s, 100 ms unless told.
constexpr int kMaxPollTimeoutMs = 5000;
constexpr int kDefaultPollTimeoutMs = 100;
// The longest one watch of a workflow may wait (as cmig.v1.WorkflowWatch allows).
constexpr int64_t kMaxWatchTimeoutMs = 60'000;

// A workflow as Conductor's REST API shows it: the message plus the Java model's derived keys.
Value WorkflowValue(const conductor::proto::Workflow& wf, int64_t start_time) {
  Value v = MessageToConductorValue(wf);
  auto& f = *v.mutable_struct_value()->mutable_fields();
  f["workflowName"].set_string_value(wf.workflow_definition().name());
  f["workflowVersion"].set_number_value(wf.workflow_definition().version());
  f["createTime"].set_number_value(static_cast<double>(start_time));
  f["startTime"].set_number_value(static_cast<double>(start_time));
  return v;
}

// --- /api/workflow ---

void AnswerWorkflowId(const CallPtr& call, const absl::StatusOr<std::string>& id) {
  if (id.ok()) {
    call->Text(*id);
  } else {
    call->Error(id.status());
  }
}

void StartWorkflow(Engine& engine, const CallPtr& call) {
  Value body;
  if (!Take(call, call->Body(), &body)) return;
  conductor::proto::StartWorkflowRequest request;
  if (absl::Status s = MessageFromConductorValue(body, &request); !s.ok()) {
    call->Error(
        absl::InvalidArgumentError(absl::StrCat("not a StartWorkflowRequest: ", s.message())));
    return;
  }
  engine.StartWorkflow(std::move(request), [call](const absl::StatusOr<std::string>& id) {
    AnswerWorkflowId(call, id);
  });
}

void StartWorkflowByName(Engine& engine, const CallPtr& call) {
  conductor::proto::StartWorkflowRequest request;
  request.set_name(call->param(0));
  int64_t version = 0, priority = 0;
  if (!Take(call, call->QueryInt("version", 0), &version) ||
      !Take(call, call->QueryInt("priority", 0), &priority)) {
    return;
  }
  request.set_version(static_cast<int>(version));
  request.set_priority(static_cast<int>(priority));
  request.set_correlation_id(call->Query("correlationId").value_or(""));
  if (!call->request().body.empty()) {
    Value body;
    if (!Take(call, call->Body(), &body)) return;
    if (body.kind_case() == Value::kStructValue) {
      *request.mutable_input() = body.struct_value().fields();
    } else if (body.kind_case() != Value::kNullValue) {
      call->Error(absl::InvalidArgumentError("the workflow input must be a JSON object"));
      return;
    }
  }
  engine.StartWorkflow(std::move(request), [call](const absl::StatusOr<std::string>& id) {
    AnswerWorkflowId(call, id);
  });
}

void GetWorkflow(Engine& engine, const CallPtr& call) {
  bool include_tasks = true;
  if (!Take(call, call->QueryBool("includeTasks", true), &include_tasks)) return;
  int64_t start_time = 0;
  absl::StatusOr<conductor::proto::Workflow> wf =
      engine.GetWorkflow(call->param(0), include_tasks, &start_time);
  if (!wf.ok()) {
    call->Error(wf.status());
    return;
  }
  call->Json(WorkflowValue(*wf, start_time));
}

// Workflows found by correlation id as REST shows them; their start times (which the message
// lacks) are read from the engine.
Value CorrelatedValue(Engine& engine, const std::vector<conductor::proto::Workflow>& list) {
  return ListOf(list, [&engine](const conductor::proto::Workflow& wf) {
    int64_t start_time = 0;
    engine.GetWorkflow(wf.workflow_id(), false, &start_time).IgnoreError();
    return WorkflowValue(wf, start_time);
  });
}

void CorrelatedWorkflows(Engine& engine, const CallPtr& call) {
  bool include_closed = false, include_tasks = false;
  if (!Take(call, call->QueryBool("includeClosed", false), &include_closed) ||
      !Take(call, call->QueryBool("includeTasks", false), &include_tasks)) {
    return;
  }
  absl::StatusOr<std::vector<conductor::proto::Workflow>> list = engine.GetWorkflowsByCorrelationId(
      call->param(0), call->param(1), include_closed, include_tasks);
  if (!list.ok()) {
    call->Error(list.status());
    return;
  }
  call->Json(CorrelatedValue(engine, *list));
}

// POST /{name}/correlated: a list of correlation ids -> {id: [workflows]}.
void CorrelatedWorkflowsBulk(Engine& engine, const CallPtr& call) {
  bool include_closed = false, include_tasks = false;
  Value body;
  if (!Take(call, call->QueryBool("includeClosed", false), &include_closed) ||
      !Take(call, call->QueryBool("includeTasks", false), &include_tasks) ||
      !Take(call, call->Body(), &body)) {
    return;
  }
  if (body.kind_case() != Value::kListValue) {
    call->Error(absl::InvalidArgumentError("the body must be a JSON list of correlation ids"));
    return;
  }
  Value out;
  auto& fields = *out.mutable_struct_value()->mutable_fields();
  for (const Value& cid : body.list_value().values()) {
    if (cid.kind_case() != Value::kStringValue) {
      call->Error(absl::InvalidArgumentError("a correlation id must be a string"));
      return;
    }
    absl::StatusOr<std::vector<conductor::proto::Workflow>> list =
        engine.GetWorkflowsByCorrelationId(call->param(0), cid.string_value(), include_closed,
                                           include_tasks);
    if (!list.ok()) {
      call->Error(list.status());
      return;
    }
    fields[cid.string_value()] = CorrelatedValue(engine, *list);
  }
  call->Json(out);
}

// GET /{id}/status: Conductor's WorkflowStatus summary.
void WorkflowStatusSummary(Engine& engine, const CallPtr& call) {
  bool include_output = false, include_variables = false;
  if (!Take(call, call->QueryBool("includeOutput", false), &include_output) ||
      !Take(call, call->QueryBool("includeVariables", false), &include_variables)) {
    return;
  }
  conductor::proto::Workflow wf;
  if (!Take(call, engine.GetWorkflow(call->param(0), /*include_tasks=*/false), &wf)) return;
  Value v;
  auto& f = *v.mutable_struct_value()->mutable_fields();
  f["workflowId"].set_string_value(wf.workflow_id());
  if (!wf.correlation_id().empty()) f["correlationId"].set_string_value(wf.correlation_id());
  f["status"].set_string_value(conductor::proto::Workflow::WorkflowStatus_Name(wf.status()));
  if (include_output) *f["output"].mutable_struct_value()->mutable_fields() = wf.output();
  if (include_variables) *f["variables"].mutable_struct_value()->mutable_fields() = wf.variables();
  call->Json(v);
}

// GET /{id}/tasks: a page of the workflow's tasks, optionally of some statuses.
void WorkflowTasksPage(Engine& engine, const CallPtr& call) {
  int64_t start = 0, count = 15;
  if (!Take(call, call->QueryInt("start", 0), &start) ||
      !Take(call, call->QueryInt("count", 15), &count)) {
    return;
  }
  if (start < 0 || count < 0) {
    call->Error(absl::InvalidArgumentError("start and count must not be negative"));
    return;
  }
  conductor::proto::Workflow wf;
  if (!Take(call, engine.GetWorkflow(call->param(0), /*include_tasks=*/true), &wf)) return;
  std::vector<std::string> statuses;
  for (const std::string& s : call->QueryAll("status")) {
    statuses.push_back(absl::AsciiStrToUpper(s));
  }
  std::vector<Task> matching;
  for (const Task& t : wf.tasks()) {
    const std::string& name = Task::Status_Name(t.status());
    if (statuses.empty() || std::find(statuses.begin(), statuses.end(), name) != statuses.end()) {
      matching.push_back(t);
    }
  }
  const size_t from = std::min<size_t>(static_cast<size_t>(start), matching.size());
  const size_t to = std::min<size_t>(from + static_cast<size_t>(count), matching.size());
  std::vector<Task> page(matching.begin() + static_cast<std::ptrdiff_t>(from),
                         matching.begin() + static_cast<std::ptrdiff_t>(to));
  call->Json(SearchResult(static_cast<int64_t>(matching.size()),
                          ListOf(page, [](const Task& t) { return MessageToConductorValue(t); })));
}

void TerminateWorkflow(Engine& engine, const CallPtr& call) {
  engine.TerminateWorkflow(call->param(0), call->Query("reason").value_or(""), DoneOf(call));
}

void RemoveWorkflow(Engine& engine, const CallPtr& call) {
  engine.RemoveWorkflow(call->param(0), DoneOf(call));
}

void PauseWorkflow(Engine& engine, const CallPtr& call) {
  engine.PauseWorkflow(call->param(0), DoneOf(call));
}

void ResumeWorkflow(Engine& engine, const CallPtr& call) {
  engine.ResumeWorkflow(call->param(0), DoneOf(call));
}

void DecideWorkflow(Engine& engine, const CallPtr& call) {
  engine.DecideWorkflow(call->param(0), DoneOf(call));
}

void RetryWorkflow(Engine& engine, const CallPtr& call) {
  engine.RetryWorkflow(call->param(0), DoneOf(call, 204));
}

void RestartWorkflow(Engine& engine, const CallPtr& call) {
  bool latest = false;
  if (!Take(call, call->QueryBool("useLatestDefinitions", false), &latest)) return;
  engine.RestartWorkflow(call->param(0), latest, DoneOf(call, 204));
}

void RerunWorkflow(Engine& engine, const CallPtr& call) {
  Value body;
  if (!Take(call, call->Body(), &body)) return;
  conductor::proto::RerunWorkflowRequest request;
  if (absl::Status s = MessageFromConductorValue(body, &request); !s.ok()) {
    call->Error(
        absl::InvalidArgumentError(absl::StrCat("not a RerunWorkflowRequest: ", s.message())));
    return;
  }
  request.set_re_run_from_workflow_id(call->param(0));
  engine.RerunWorkflow(std::move(request), [call](const absl::StatusOr<std::string>& id) {
    AnswerWorkflowId(call, id);
  });
}

absl::StatusOr<WorkflowPage> Search(Engine& engine, const Call& call) {
  ASSIGN_OR_RETURN(int64_t start, call.QueryInt("start", 0));
  ASSIGN_OR_RETURN(int64_t size, call.QueryInt("size", 100));
  if (start < 0 || size < 0 || start > INT32_MAX || size > INT32_MAX) {
    return absl::InvalidArgumentError("start and size must be non-negative 32-bit numbers");
  }
  ASSIGN_OR_RETURN(
      WorkflowQuery query,
      ParseSearchQuery(static_cast<int>(start), static_cast<int>(size),
                       call.Query("freeText").value_or("*"), call.Query("query").value_or("")));
  // Conductor's sort=<field>:ASC|DESC; results are kept in start-time order.
  if (std::optional<std::string> sort = call.Query("sort"); sort.has_value() && !sort->empty()) {
    if (*sort == "startTime:DESC") {
      query.newest_first = true;
    } else if (*sort != "startTime" && *sort != "startTime:ASC") {
      return absl::InvalidArgumentError(
          absl::StrCat("sort '", *sort,
                       "' is not supported: workflows sort by startTime:ASC or startTime:DESC"));
    }
  }
  return engine.SearchWorkflows(query);
}

void SearchWorkflows(Engine& engine, const CallPtr& call) {
  WorkflowPage page;
  if (!Take(call, Search(engine, *call), &page)) return;
  call->Json(SearchResult(page.total_hits, ListOf(page.rows, [](const WorkflowRow& row) {
                            return MessageToConductorValue(WorkflowSummaryOf(row));
                          })));
}

void SearchWorkflowsV2(Engine& engine, const CallPtr& call) {
  WorkflowPage page;
  if (!Take(call, Search(engine, *call), &page)) return;
  Value results;
  results.mutable_list_value();
  for (const WorkflowRow& row : page.rows) {
    // The engine's copy of a running workflow is newer than the store's row.
    int64_t start_time = row.start_time;
    absl::StatusOr<conductor::proto::Workflow> wf =
        engine.GetWorkflow(row.workflow.workflow_id(), /*include_tasks=*/false, &start_time);
    if (wf.ok()) *results.mutable_list_value()->add_values() = WorkflowValue(*wf, start_time);
  }
  call->Json(SearchResult(page.total_hits, std::move(results)));
}

void RunningWorkflows(Engine& engine, const CallPtr& call) {
  int64_t version = 1, start_time = 0, end_time = 0;
  if (!Take(call, call->QueryInt("version", 1), &version) ||
      !Take(call, call->QueryInt("startTime", 0), &start_time) ||
      !Take(call, call->QueryInt("endTime", 0), &end_time)) {
    return;
  }
  absl::StatusOr<std::vector<std::string>> ids =
      engine.GetRunningWorkflows(call->param(0), static_cast<int>(version), start_time, end_time);
  if (!ids.ok()) {
    call->Error(ids.status());
    return;
  }
  call->Json(ListOf(*ids, StringValue));
}

// GET /api/cmig/workflows/{id}/watch?seen=STAMP&timeout=MS: the REST form of
// cmig.v1.WorkflowWatch ({"stamp": N}), with which the console follows a running migration.
void WatchWorkflow(Engine& engine, const CallPtr& call, int64_t wait_limit_ms) {
  int64_t seen = 0, timeout = 0;
  if (!Take(call, call->QueryInt("seen", 0), &seen) ||
      !Take(call, call->QueryInt("timeout", 0), &timeout)) {
    return;
  }
  if (timeout < 0 || timeout > kMaxWatchTimeoutMs) {
    call->Error(absl::InvalidArgumentError(
        absl::StrCat("timeout must be from 0 to ", kMaxWatchTimeoutMs, " ms, not ", timeout)));
    return;
  }
  engine.WatchWorkflow(call->param(0), seen, std::min(timeout, wait_limit_ms),
                       [call](absl::StatusOr<int64_t> stamp) {
                         if (!stamp.ok()) {
                           call->Error(stamp.status());
                           return;
                         }
                         Value out;
                         (*out.mutable_struct_value()->mutable_fields())["stamp"].set_number_value(
                             static_cast<double>(*stamp));
                         call->Json(out);
                       });
}

// --- /api/tasks ---

void PollTasks(Engine& engine, const CallPtr& call, bool batch, int64_t wait_limit_ms) {
  int64_t count = 1, timeout = kDefaultPollTimeoutMs;
  if (batch && (!Take(call, call->QueryInt("count", 1), &count) ||
                !Take(call, call->QueryInt("timeout", kDefaultPollTimeoutMs), &timeout))) {
    return;
  }
  if (timeout > kMaxPollTimeoutMs) {
    call->Error(
        absl::InvalidArgumentError("Long Poll Timeout value cannot be more than 5 seconds"));
    return;
  }
  if (count <= 0) count = 1;
  count = std::min<int64_t>(count, 1000);
  if (timeout <= 0) timeout = kDefaultPollTimeoutMs;
  timeout = std::min(timeout, wait_limit_ms);
  engine.Poll(
      TaskQueueName(call->param(0), call->Query("domain").value_or("")),
      call->Query("workerid").value_or(""), static_cast<int>(count), timeout,
      [call, batch](std::vector<Task> tasks) {
        if (batch) {
          call->Json(ListOf(tasks, [](const Task& t) { return MessageToConductorValue(t); }));
        } else if (tasks.empty()) {
          call->Empty(204);
        } else {
          call->Json(MessageToConductorValue(tasks.front()));
        }
      });
}

void UpdateTask(Engine& engine, const CallPtr& call) {
  Value body;
  if (!Take(call, call->Body(), &body)) return;
  conductor::proto::TaskResult result;
  if (absl::Status s = MessageFromConductorValue(body, &result); !s.ok()) {
    call->Error(absl::InvalidArgumentError(absl::StrCat("not a TaskResult: ", s.message())));
    return;
  }
  if (result.task_id().empty()) {
    call->Error(absl::InvalidArgumentError("TaskResult has no taskId"));
    return;
  }
  std::string task_id = result.task_id();
  engine.UpdateTask(std::move(result), [call, task_id](const absl::Status& s) {
    if (s.ok()) {
      call->Text(task_id);
    } else {
      call->Error(s);
    }
  });
}

void AddTaskLog(Engine& engine, const CallPtr& call) {
  // The body is the log line; a client that sent it as a JSON string gets its text logged.
  std::string line;
  if (Take(call, BodyText(call->request().body, "The log line"), &line)) {
    engine.AddLog(call->param(0), line, DoneOf(call));
  }
}

void GetTaskLogs(Engine& engine, const CallPtr& call) {
  absl::StatusOr<std::vector<conductor::proto::TaskExecLog>> logs =
      engine.GetTaskLogs(call->param(0));
  if (!logs.ok()) {
    call->Error(logs.status());
    return;
  }
  if (logs->empty()) {
    call->Empty(204);
    return;
  }
  call->Json(ListOf(
      *logs, [](const conductor::proto::TaskExecLog& l) { return MessageToConductorValue(l); }));
}

void GetTask(Engine& engine, const CallPtr& call) {
  absl::StatusOr<Task> task = engine.GetTask(call->param(0));
  if (!task.ok()) {
    call->Error(
        absl::IsNotFound(task.status())
            ? absl::NotFoundError(absl::StrCat("Task not found for taskId: ", call->param(0)))
            : task.status());
    return;
  }
  call->Json(MessageToConductorValue(*task));
}

void QueueSizes(Engine& engine, const CallPtr& call) {
  Value v;
  auto& f = *v.mutable_struct_value()->mutable_fields();
  for (const std::string& type : call->QueryAll("taskType")) {
    f[type].set_number_value(static_cast<double>(engine.QueueSize(type)));
  }
  call->Json(v);
}

void QueueSize(Engine& engine, const CallPtr& call) {
  std::optional<std::string> type = call->Query("taskType");
  if (!type.has_value()) {
    call->Error(absl::InvalidArgumentError("parameter 'taskType' is required"));
    return;
  }
  Value v;
  v.set_number_value(static_cast<double>(
      engine.QueueSize(TaskQueueName(*type, call->Query("domain").value_or("")))));
  call->Json(v);
}

void AllQueues(Engine& engine, const CallPtr& call) {
  Value v;
  auto& f = *v.mutable_struct_value()->mutable_fields();
  for (const auto& [name, size] : engine.QueueSizes()) {
    f[name].set_number_value(static_cast<double>(size));
  }
  call->Json(v);
}

// Conductor's PollData list: [{"queueName", "domain", "workerId", "lastPollTime"}].
void ReplyPollData(Engine& engine, const std::string& task_type, const CallPtr& call) {
  Value v;
  v.mutable_list_value();
  for (const Engine::PollRecord& r : engine.PollRecords(task_type)) {
    auto& f = *v.mutable_list_value()->add_values()->mutable_struct_value()->mutable_fields();
    f["queueName"].set_string_value(r.task_type);
    if (r.domain.empty()) {
      f["domain"].set_null_value(google::protobuf::NULL_VALUE);
    } else {
      f["domain"].set_string_value(r.domain);
    }
    f["workerId"].set_string_value(r.worker_id);
    f["lastPollTime"].set_number_value(static_cast<double>(r.last_poll_ms));
  }
  call->Json(v);
}

void PollData(Engine& engine, const CallPtr& call) {
  std::optional<std::string> type = call->Query("taskType");
  if (!type.has_value() || type->empty()) {
    call->Error(absl::InvalidArgumentError("parameter 'taskType' is required"));
    return;
  }
  ReplyPollData(engine, *type, call);
}

void AllPollData(Engine& engine, const CallPtr& call) { ReplyPollData(engine, "", call); }

}  // namespace

void AddExecutionRoutes(std::vector<Route>& routes, int64_t wait_limit_ms) {
  std::vector<Route> added = {
      // Workflows.
      R("POST", "/api/workflow", StartWorkflow),
      R("GET", "/api/workflow/search", SearchWorkflows),
      R("GET", "/api/workflow/search-v2", SearchWorkflowsV2),
      R("GET", "/api/workflow/running/{}", RunningWorkflows),
      R("PUT", "/api/workflow/decide/{}", DecideWorkflow),
      R("POST", "/api/workflow/{}", StartWorkflowByName),
      R("GET", "/api/workflow/{}", GetWorkflow),
      R("DELETE", "/api/workflow/{}", TerminateWorkflow),
      R("DELETE", "/api/workflow/{}/remove", RemoveWorkflow),
      R("PUT", "/api/workflow/{}/pause", PauseWorkflow),
      R("PUT", "/api/workflow/{}/resume", ResumeWorkflow),
      R("POST", "/api/workflow/{}/retry", RetryWorkflow),
      R("POST", "/api/workflow/{}/restart", RestartWorkflow),
      R("POST", "/api/workflow/{}/rerun", RerunWorkflow),
      R("GET", "/api/workflow/{}/correlated/{}", CorrelatedWorkflows),
      R("POST", "/api/workflow/{}/correlated", CorrelatedWorkflowsBulk),
      R("GET", "/api/workflow/{}/status", WorkflowStatusSummary),
      R("GET", "/api/workflow/{}/tasks", WorkflowTasksPage),
      Beyond(
          R("GET", "/api/cmig/workflows/{}/watch",
            [wait_limit_ms](Engine& e, const CallPtr& c) { WatchWorkflow(e, c, wait_limit_ms); })),
      // Tasks.
      R("GET", "/api/tasks/poll/batch/{}",
        [wait_limit_ms](Engine& e, const CallPtr& c) {
          PollTasks(e, c, /*batch=*/true, wait_limit_ms);
        }),
      R("GET", "/api/tasks/poll/{}",
        [wait_limit_ms](Engine& e, const CallPtr& c) {
          PollTasks(e, c, /*batch=*/false, wait_limit_ms);
        }),
      R("POST", "/api/tasks", UpdateTask),
      R("GET", "/api/tasks/queue/sizes", QueueSizes),
      R("GET", "/api/tasks/queue/size", QueueSize),
      R("GET", "/api/tasks/queue/all", AllQueues),
      R("GET", "/api/tasks/queue/polldata/all", AllPollData),
      R("GET", "/api/tasks/queue/polldata", PollData),
      R("POST", "/api/tasks/{}/log", AddTaskLog),
      R("GET", "/api/tasks/{}/log", GetTaskLogs),
      R("GET", "/api/tasks/{}", GetTask),
  };
  for (Route& r : added) routes.push_back(std::move(r));
}

}  // namespace cmig::orchestrator::rest
