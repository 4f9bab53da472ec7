// status, history, list, retry, restart, terminate: Conductor's WorkflowService through
// client/workflow_client.h, so they work on the embedded orchestrator and on a Conductor server.
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "base/reason.h"
#include "base/status_macros.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/output.h"
#include "cli/workflow_view.h"
#include "client/conductor_environment.h"
#include "client/extensions_client.h"
#include "definitions/conductor_time.h"
#include "definitions/json.h"
#include "definitions/task_types.h"
#include "workflows/lifecycle.h"

namespace cmig::cli {
namespace {

using conductor::proto::Task;
using conductor::proto::Workflow;
using conductor::proto::WorkflowSummary;

// "2026-11-22T06:53:52.123Z" (a WorkflowSummary time) as "2026-11-22 06:53:52Z".
std::string SummaryTime(const std::string& iso) {
  if (iso.empty()) return "-";
  std::optional<int64_t> ms = ParseConductorTime(iso);
  return ms.has_value() ? FormatTimeMs(*ms) : iso;
}

absl::Status PrintAfterAction(Context& ctx, client::WorkflowClient& workflows,
                              const std::string& id, absl::string_view action) {
  ASSIGN_OR_RETURN(Workflow wf, workflows.GetWorkflowStatus(id, /*include_tasks=*/false));
  if (ctx.json()) {
    JsonObject o;
    o.Set("workflowId", JsonString(id))
        .Set("action", JsonString(action))
        .Set("status", JsonString(WorkflowStatusName(wf.status())));
    PrintJson(o.value(), ctx.out());
    return absl::OkStatus();
  }
  ctx.out() << action << ": workflow " << id << " is now " << WorkflowStatusName(wf.status())
            << "\n";
  return absl::OkStatus();
}

std::string InputString(const Workflow& wf, const std::string& key) {
  auto it = wf.input().find(key);
  return it == wf.input().end() ? "" : it->second.string_value();
}

}  // namespace

std::optional<LinkedIncoming> FindIncoming(Context& ctx, const Workflow& wf) {
  if (wf.workflow_definition().name() != kOutgoingWorkflow) return std::nullopt;
  LinkedIncoming linked;
  linked.environment = InputString(wf, "targetEnvironment");
  if (auto it = wf.output().find("incomingWorkflowId"); it != wf.output().end()) {
    linked.workflow_id = it->second.string_value();
  }
  // The latest attempt that names one: a retry may have started another incoming workflow.
  std::vector<const Task*> attempts = AttemptsInOrder(wf);
  for (auto t = attempts.rbegin(); t != attempts.rend() && linked.workflow_id.empty(); ++t) {
    auto it = (*t)->output_data().find("incomingWorkflowId");
    if (it != (*t)->output_data().end()) linked.workflow_id = it->second.string_value();
  }
  if (linked.workflow_id.empty()) return std::nullopt;
  auto fail = [&](const absl::Status& s) {
    linked.error = std::string(s.message());
    return linked;
  };
  absl::StatusOr<client::GrpcExtensionsClient*> ext = ctx.Extensions();
  if (!ext.ok()) return fail(ext.status());
  absl::StatusOr<v1::Environment> env = (*ext)->GetEnvironment(linked.environment);
  if (!env.ok()) return fail(env.status());
  absl::StatusOr<client::EnvironmentAddress> where = client::ParseEnvironmentAddress(*env);
  if (!where.ok()) return fail(where.status());
  if (where->protocol == client::Protocol::kRest) {
    // A REST target's incoming workflow ran on this server, on the target's behalf.
    linked.here = true;
    absl::StatusOr<client::GrpcOrchestratorClient*> here = ctx.Orchestrator();
    if (!here.ok()) return fail(here.status());
    absl::StatusOr<Workflow> incoming = (*here)->GetWorkflowStatus(linked.workflow_id, true);
    if (!incoming.ok()) return fail(incoming.status());
    linked.workflow = *std::move(incoming);
    linked.runner = *here;
    linked.orchestrator = *here;
    return linked;
  }
  absl::StatusOr<std::unique_ptr<client::ConductorEnvironment>> target =
      ConnectToEnvironment(**ext, *env, ctx.global().timeout);
  if (!target.ok()) return fail(target.status());
  absl::StatusOr<Workflow> incoming =
      (*target)->orchestrator()->GetWorkflowStatus(linked.workflow_id, true);
  if (!incoming.ok()) return fail(incoming.status());
  linked.workflow = *std::move(incoming);
  linked.target = *std::move(target);
  linked.runner = linked.target->orchestrator();
  linked.orchestrator = linked.target->orchestrator();
  return linked;
}

namespace {

// Steps of running workflow `wf` that wait for a worker no one runs, one sentence each, from the
// poll data of `runner` (the orchestrator `wf` runs on, called `where`). Nothing when the
// orchestrator does not say who polls.
std::vector<std::string> StepsWaitingForWorkers(const Workflow& wf,
                                                client::GrpcOrchestratorClient& runner,
                                                const std::string& where, int64_t now) {
  if (IsTerminal(wf.status())) return {};
  std::vector<const Task*> waiting;
  for (const Task* t : LatestAttempts(wf)) {
    if (t->status() == Task::SCHEDULED && !IsKnownSystemTaskType(t->task_type())) {
      waiting.push_back(t);
    }
  }
  if (waiting.empty()) return {};
  absl::StatusOr<std::vector<v1::PollData>> polls = runner.GetPollData("");
  if (!polls.ok()) return {};
  return WaitingForWorkers(waiting, *polls, where, now);
}

}  // namespace

absl::Status StatusCommand(Context& ctx) {
  ASSIGN_OR_RETURN(client::GrpcOrchestratorClient * c, ctx.Orchestrator());
  const std::string& id = ctx.args()[0];
  ASSIGN_OR_RETURN(Workflow wf, c->GetWorkflowStatus(id, /*include_tasks=*/true));
  int64_t now = NowMs();
  std::vector<const Task*> steps = LatestAttempts(wf);
  // A running migration may wait for a worker here, or for one in its target.
  std::vector<std::string> waiting = StepsWaitingForWorkers(wf, *c, ctx.address(), now);
  std::optional<LinkedIncoming> linked;
  if (!IsTerminal(wf.status())) linked = FindIncoming(ctx, wf);
  if (linked && linked->workflow && linked->orchestrator != nullptr) {
    for (std::string& w :
         StepsWaitingForWorkers(*linked->workflow, *linked->orchestrator,
                                absl::StrCat("'", linked->environment, "'"), now)) {
      waiting.push_back(absl::StrCat("incoming workflow ", linked->workflow_id, ": ", w));
    }
  }
  if (ctx.json()) {
    JsonObject o = WorkflowJson(wf);
    JsonArray a;
    for (const Task* t : steps) a.Add(AttemptJson(*t, now));
    o.Set("steps", a.Take());
    JsonArray w;
    for (const std::string& line : waiting) w.Add(JsonString(line));
    o.Set("waitingForWorkers", w.Take());
    PrintJson(o.value(), ctx.out());
    return absl::OkStatus();
  }
  PrintWorkflowHeader(wf, now, ctx.out());
  if (!steps.empty()) {
    ctx.out() << "\n";
    Table t(AttemptHeader());
    for (const Task* s : steps) t.AddRow(AttemptRow(*s, now));
    t.Print(ctx.out());
  }
  if (!waiting.empty()) {
    ctx.out() << "\nWaiting for workers:\n";
    for (const std::string& line : waiting) ctx.out() << "  - " << TerminalSafe(line) << "\n";
  }
  if (std::optional<v1::MigrationReport> report = ReportFromOutput(wf)) {
    ctx.out() << "\n";
    PrintReport(*report, ctx.out());
  } else if (std::optional<v1::MigrationPlan> plan = PlanFromOutput(wf)) {
    ctx.out() << "\n";
    PrintPlan(*plan, ctx.out());
  }
  return absl::OkStatus();
}

namespace {

// The rollback of incoming workflow `incoming` on `runner`, with its tasks; nullopt when there
// is none or it cannot be read (history shows what it can).
std::optional<Workflow> ReadRollback(client::WorkflowClient& runner, const Workflow& incoming) {
  if (incoming.workflow_definition().name() != kIncomingWorkflow) return std::nullopt;
  absl::StatusOr<std::optional<Workflow>> r =
      workflows::RollbackOf(runner, incoming, /*include_tasks=*/true);
  return r.ok() ? *std::move(r) : std::nullopt;
}

JsonObject AttemptsJson(const Workflow& wf, int64_t now) {
  JsonObject o = WorkflowJson(wf);
  JsonArray steps;
  for (const Task* t : AttemptsInOrder(wf)) steps.Add(AttemptJson(*t, now));
  o.Set("attempts", steps.Take());
  return o;
}

void PrintAttempts(const std::string& title, const Workflow& wf, int64_t now, std::ostream& out) {
  out << "\n" << title << "\n";
  PrintWorkflowHeader(wf, now, out);
  out << "\n";
  Table t(AttemptHeader());
  for (const Task* a : AttemptsInOrder(wf)) t.AddRow(AttemptRow(*a, now));
  t.Print(out);
}

}  // namespace

absl::Status HistoryCommand(Context& ctx) {
  ASSIGN_OR_RETURN(client::GrpcOrchestratorClient * c, ctx.Orchestrator());
  const std::string& id = ctx.args()[0];
  const bool logs = absl::GetFlag(FLAGS_logs);
  ASSIGN_OR_RETURN(Workflow wf, c->GetWorkflowStatus(id, /*include_tasks=*/true));
  int64_t now = NowMs();
  std::vector<const Task*> attempts = AttemptsInOrder(wf);
  std::vector<std::vector<conductor::proto::TaskExecLog>> attempt_logs(attempts.size());
  if (logs) {
    for (size_t i = 0; i < attempts.size(); ++i) {
      ASSIGN_OR_RETURN(attempt_logs[i], c->GetTaskLogs(attempts[i]->task_id()));
    }
  }
  if (ctx.json()) {
    JsonObject o = WorkflowJson(wf);
    JsonArray a;
    for (size_t i = 0; i < attempts.size(); ++i) {
      google::protobuf::Value v = AttemptJson(*attempts[i], now);
      if (logs) {
        JsonArray lines;
        for (const auto& l : attempt_logs[i]) {
          JsonObject line;
          line.Set("time", JsonString(FormatTimeMs(l.created_time())))
              .Set("log", JsonString(l.log()));
          lines.Add(line.Take());
        }
        (*v.mutable_struct_value()->mutable_fields())["logs"] = lines.Take();
      }
      a.Add(std::move(v));
    }
    o.Set("attempts", a.Take());
    if (std::optional<Workflow> rollback = ReadRollback(*c, wf)) {
      o.Set("rollback", AttemptsJson(*rollback, now).Take());
    }
    if (std::optional<LinkedIncoming> linked = FindIncoming(ctx, wf)) {
      JsonObject in;
      if (linked->workflow) {
        in = AttemptsJson(*linked->workflow, now);
        if (std::optional<Workflow> rollback = ReadRollback(*linked->runner, *linked->workflow)) {
          in.Set("rollback", AttemptsJson(*rollback, now).Take());
        }
      }
      in.Set("workflowId", JsonString(linked->workflow_id))
          .Set("environment", JsonString(linked->environment))
          .Set("error", JsonString(linked->error));
      o.Set("incoming", in.Take());
    }
    PrintJson(o.value(), ctx.out());
    return absl::OkStatus();
  }
  PrintWorkflowHeader(wf, now, ctx.out());
  ctx.out() << "\n";
  if (attempts.empty()) {
    ctx.out() << "No steps have been scheduled yet.\n";
    return absl::OkStatus();
  }
  Table t(AttemptHeader());
  for (const Task* a : attempts) t.AddRow(AttemptRow(*a, now));
  t.Print(ctx.out());
  if (std::optional<Workflow> rollback = ReadRollback(*c, wf)) {
    PrintAttempts(absl::StrCat("Rollback workflow ", rollback->workflow_id()), *rollback, now,
                  ctx.out());
  }
  if (std::optional<LinkedIncoming> linked = FindIncoming(ctx, wf)) {
    const std::string where =
        absl::StrCat(linked->here ? " (here, for REST environment '" : " in environment '",
                     linked->environment, linked->here ? "')" : "'");
    if (!linked->workflow) {
      ctx.out() << "\nIncoming workflow " << linked->workflow_id << where
                << ": not readable from here: " << linked->error << "\n";
    } else {
      PrintAttempts(absl::StrCat("Incoming workflow ", linked->workflow_id, where),
                    *linked->workflow, now, ctx.out());
      if (std::optional<Workflow> rollback = ReadRollback(*linked->runner, *linked->workflow)) {
        PrintAttempts(absl::StrCat("Rollback workflow ", rollback->workflow_id(), where), *rollback,
                      now, ctx.out());
      }
    }
  }
  if (logs) {
    for (size_t i = 0; i < attempts.size(); ++i) {
      const Task& a = *attempts[i];
      ctx.out() << "\nLogs of " << a.reference_task_name() << " attempt " << a.retry_count()
                << " (task " << a.task_id() << "):\n";
      if (attempt_logs[i].empty()) ctx.out() << "  (none)\n";
      for (const auto& l : attempt_logs[i]) {
        ctx.out() << "  " << FormatTimeMs(l.created_time()) << "  " << l.log() << "\n";
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ListCommand(Context& ctx) {
  ASSIGN_OR_RETURN(client::GrpcOrchestratorClient * c, ctx.Orchestrator());
  const int limit = absl::GetFlag(FLAGS_limit);
  if (limit <= 0 || limit > 1000) return UsageError("--limit must be between 1 and 1000");
  std::string status = absl::AsciiStrToUpper(absl::GetFlag(FLAGS_status));
  if (!status.empty()) {
    Workflow::WorkflowStatus parsed;
    if (!Workflow::WorkflowStatus_Parse(status, &parsed)) {
      return UsageError(absl::StrCat("--status ", status,
                                     " is not a workflow status (RUNNING, COMPLETED, FAILED, "
                                     "TIMED_OUT, TERMINATED, PAUSED)"));
    }
  }
  std::vector<WorkflowSummary> all;
  int64_t total = 0;
  for (absl::string_view type :
       {absl::string_view(kOutgoingWorkflow), absl::string_view(kIncomingWorkflow),
        workflows::kRollbackWorkflowName}) {
    client::WorkflowSearchQuery q;
    q.query = absl::StrCat("workflowType = '", type, "'");
    if (!status.empty()) absl::StrAppend(&q.query, " AND status = '", status, "'");
    // Oldest first everywhere (the embedded orchestrator ignores `sort`), so the newest `limit`
    // are the last ones: count, then read the tail.
    q.sort = "startTime:ASC";
    q.size = 1;
    ASSIGN_OR_RETURN(client::WorkflowSearchResult head, c->SearchWorkflows(q));
    total += head.total_hits;
    if (head.total_hits == 0) continue;
    q.start = static_cast<int>(std::max<int64_t>(0, head.total_hits - limit));
    q.size = limit;
    ASSIGN_OR_RETURN(client::WorkflowSearchResult tail, c->SearchWorkflows(q));
    all.insert(all.end(), tail.results.begin(), tail.results.end());
  }
  std::stable_sort(all.begin(), all.end(), [](const WorkflowSummary& a, const WorkflowSummary& b) {
    return a.start_time() > b.start_time();
  });
  if (static_cast<int>(all.size()) > limit) all.resize(limit);

  auto environments = [](const WorkflowSummary& s) {
    absl::StatusOr<google::protobuf::Value> input = ParseJson(s.input());
    std::string source, target, started_by;
    if (input.ok() && input->has_struct_value()) {
      const auto& f = input->struct_value().fields();
      if (auto it = f.find("sourceEnvironment"); it != f.end()) source = it->second.string_value();
      if (auto it = f.find("targetEnvironment"); it != f.end()) target = it->second.string_value();
      if (auto it = f.find("startedBy"); it != f.end()) started_by = it->second.string_value();
    }
    // Conductor records a start request's createdBy in the summary.
    if (started_by.empty()) started_by = s.created_by();
    return std::make_tuple(source, target, started_by);
  };
  // What a migration moves, from its input ("order_flow, pay_flow@2, task charge, *"), and the
  // digest of its package, from its output once it ended.
  auto selection = [](const WorkflowSummary& s) {
    absl::StatusOr<google::protobuf::Value> input = ParseJson(s.input());
    google::protobuf::Value raw;
    std::vector<std::string> parts;
    if (input.ok() && input->has_struct_value()) {
      const auto& f = input->struct_value().fields();
      if (auto it = f.find("selection"); it != f.end() && it->second.has_struct_value()) {
        raw = it->second;
        for (absl::string_view key : {"workflows", "taskDefs", "eventHandlers"}) {
          auto list = raw.struct_value().fields().find(std::string(key));
          if (list == raw.struct_value().fields().end()) continue;
          for (const auto& v : list->second.list_value().values()) {
            if (v.has_struct_value()) {
              const auto& w = v.struct_value().fields();
              auto name = w.find("name");
              auto version = w.find("version");
              if (name == w.end()) continue;
              parts.push_back(absl::StrCat(
                  name->second.string_value(),
                  version != w.end() && version->second.number_value() > 0
                      ? absl::StrCat("@", static_cast<int64_t>(version->second.number_value()))
                      : ""));
            } else {
              parts.push_back(
                  absl::StrCat(key == "taskDefs" ? "task " : "handler ", v.string_value()));
            }
          }
        }
      }
    }
    std::string digest;
    if (absl::StatusOr<google::protobuf::Value> output = ParseJson(s.output());
        output.ok() && output->has_struct_value()) {
      const auto& f = output->struct_value().fields();
      if (auto it = f.find("packageDigest"); it != f.end()) digest = it->second.string_value();
    }
    return std::make_tuple(raw, absl::StrJoin(parts, ", "), digest);
  };
  auto direction = [](const WorkflowSummary& s) {
    if (s.workflow_type() == kOutgoingWorkflow) return "outgoing";
    return s.workflow_type() == kIncomingWorkflow ? "incoming" : "rollback";
  };

  if (ctx.json()) {
    JsonArray a;
    for (const WorkflowSummary& s : all) {
      auto [source, target, started_by] = environments(s);
      auto [raw_selection, selected, digest] = selection(s);
      JsonObject o;
      o.Set("workflowId", JsonString(s.workflow_id()))
          .Set("workflowType", JsonString(s.workflow_type()))
          .Set("direction", JsonString(direction(s)))
          .Set("status", JsonString(WorkflowStatusName(s.status())))
          .Set("startTime", s.start_time().empty() ? JsonNull() : JsonString(s.start_time()))
          .Set("endTime", s.end_time().empty() ? JsonNull() : JsonString(s.end_time()))
          .Set("executionTimeMs", JsonNumber(static_cast<double>(s.execution_time())))
          .Set("correlationId", JsonString(s.correlation_id()))
          .Set("sourceEnvironment", JsonString(source))
          .Set("targetEnvironment", JsonString(target))
          .Set("selection", raw_selection.kind_case() == google::protobuf::Value::KIND_NOT_SET
                                ? JsonNull()
                                : raw_selection)
          .Set("packageDigest", JsonString(digest))
          .Set("startedBy", JsonString(started_by))
          .Set("reason", JsonString(InnermostCause(s.reason_for_incompletion())));
      a.Add(o.Take());
    }
    JsonObject doc;
    doc.Set("migrations", a.Take()).Set("totalHits", JsonNumber(static_cast<double>(total)));
    PrintJson(doc.value(), ctx.out());
    return absl::OkStatus();
  }
  if (all.empty()) {
    ctx.out() << "No migrations" << (status.empty() ? "" : absl::StrCat(" with status ", status))
              << " on " << ctx.global().server << ".\n";
    return absl::OkStatus();
  }
  Table t({"ID", "DIRECTION", "STATUS", "STARTED", "BY", "TOOK", "ENVIRONMENTS", "SELECTION",
           "REASON"});
  for (const WorkflowSummary& s : all) {
    auto [source, target, started_by] = environments(s);
    const std::string selected = std::get<1>(selection(s));
    std::string envs =
        source.empty() && target.empty()
            ? "-"
            : absl::StrCat(source.empty() ? "?" : source, " -> ", target.empty() ? "?" : target);
    t.AddRow({s.workflow_id(), direction(s), WorkflowStatusName(s.status()),
              SummaryTime(s.start_time()), started_by.empty() ? "-" : started_by,
              s.end_time().empty() ? "-" : FormatDurationMs(s.execution_time()), envs,
              selected.empty() ? "-" : selected, InnermostCause(s.reason_for_incompletion())});
  }
  t.Print(ctx.out());
  if (total > static_cast<int64_t>(all.size())) {
    ctx.out() << "(" << all.size() << " of " << total << "; --limit shows more)\n";
  }
  return absl::OkStatus();
}

absl::Status RetryCommand(Context& ctx) {
  ASSIGN_OR_RETURN(client::GrpcOrchestratorClient * c, ctx.Orchestrator());
  const std::string& id = ctx.args()[0];
  ASSIGN_OR_RETURN(Workflow wf, c->GetWorkflowStatus(id, /*include_tasks=*/false));
  if (wf.status() == Workflow::RUNNING || wf.status() == Workflow::PAUSED) {
    return absl::FailedPreconditionError(absl::StrCat(
        "workflow ", id, " is still ", WorkflowStatusName(wf.status()),
        ": retry resumes a migration that failed, timed out or was terminated; follow this one "
        "with 'migrationctl status ",
        id, "', or end it with 'migrationctl terminate ", id, "'"));
  }
  RETURN_IF_ERROR(c->RetryWorkflow(id, /*resume_subworkflow_tasks=*/false));
  return PrintAfterAction(ctx, *c, id, "retry");
}

absl::Status RestartCommand(Context& ctx) {
  ASSIGN_OR_RETURN(client::GrpcOrchestratorClient * c, ctx.Orchestrator());
  const std::string& id = ctx.args()[0];
  RETURN_IF_ERROR(c->RestartWorkflow(id, absl::GetFlag(FLAGS_use_latest_definitions)));
  return PrintAfterAction(ctx, *c, id, "restart");
}

namespace {}  // namespace

absl::Status TerminateCommand(Context& ctx) {
  ASSIGN_OR_RETURN(client::GrpcOrchestratorClient * c, ctx.Orchestrator());
  const std::string& id = ctx.args()[0];
  const std::string reason = absl::GetFlag(FLAGS_reason);
  ASSIGN_OR_RETURN(Workflow wf, c->GetWorkflowStatus(id, /*include_tasks=*/true));
  RETURN_IF_ERROR(c->TerminateWorkflow(id, reason));
  // Conductor's terminate ends one workflow and starts no failure workflow: end the other side
  // of the migration and undo what an incoming workflow changed, here.
  std::string incoming_id, rollback_id, note;
  const std::string& type = wf.workflow_definition().name();
  if (type == kIncomingWorkflow) {
    incoming_id = id;
    ASSIGN_OR_RETURN(rollback_id, workflows::RollBackOnce(*c, id, reason));
  } else if (type == kOutgoingWorkflow) {
    if (std::optional<LinkedIncoming> linked = FindIncoming(ctx, wf)) {
      incoming_id = linked->workflow_id;
      if (!linked->workflow) {
        note = absl::StrCat("the incoming workflow ", linked->workflow_id, " in '",
                            linked->environment, "' could not be reached (", linked->error,
                            "): terminate it there with migrationctl --server of that environment");
      } else {
        const Workflow::WorkflowStatus s = linked->workflow->status();
        if (s == Workflow::RUNNING || s == Workflow::PAUSED) {
          RETURN_IF_ERROR(linked->runner->TerminateWorkflow(
              incoming_id, absl::StrCat("outgoing migration ", id, " was terminated",
                                        reason.empty() ? "" : ": ", reason)));
        }
        if (s != Workflow::COMPLETED) {
          ASSIGN_OR_RETURN(rollback_id,
                           workflows::RollBackOnce(*linked->runner, incoming_id, reason));
        }
      }
    }
  }
  ASSIGN_OR_RETURN(Workflow now, c->GetWorkflowStatus(id, /*include_tasks=*/false));
  if (ctx.json()) {
    JsonObject o;
    o.Set("workflowId", JsonString(id))
        .Set("action", JsonString("terminate"))
        .Set("status", JsonString(WorkflowStatusName(now.status())))
        .Set("incomingWorkflowId", JsonString(incoming_id))
        .Set("rollbackWorkflowId", JsonString(rollback_id))
        .Set("note", JsonString(note));
    PrintJson(o.value(), ctx.out());
    return absl::OkStatus();
  }
  ctx.out() << "terminate: workflow " << id << " is now " << WorkflowStatusName(now.status())
            << "\n";
  if (!incoming_id.empty() && incoming_id != id) {
    ctx.out() << "its incoming workflow " << incoming_id << " has ended\n";
  }
  if (!rollback_id.empty()) {
    ctx.out() << "rollback " << rollback_id << " undoes what the migration changed in the target"
              << " (migrationctl history " << (incoming_id == id ? id : incoming_id)
              << " on the target shows it)\n";
  }
  if (!note.empty()) ctx.out() << note << "\n";
  return absl::OkStatus();
}

}  // namespace cmig::cli
