#include "cli/workflow_view.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "base/reason.h"
#include "base/status_macros.h"
#include "definitions/conductor_time.h"
#include "definitions/json.h"
#include "definitions/message_value.h"

namespace cmig::cli {
namespace {

using conductor::proto::Task;
using conductor::proto::Workflow;

google::protobuf::Value TimeJson(int64_t ms) {
  if (ms <= 0) return JsonNull();
  return JsonString(FormatConductorTime(ms));
}

// A report or plan from workflow output; nullopt when it is missing or not one (an older
// worker's output, say): the view then shows what it has.
template <typename M>
std::optional<M> ReadOutputMessage(const google::protobuf::Value& v) {
  if (v.kind_case() != google::protobuf::Value::kStructValue) return std::nullopt;
  M m;
  if (!MessageFromValue(v, &m, /*ignore_unknown_fields=*/true).ok()) return std::nullopt;
  return m;
}

// "ITEM_ACTION_CREATE" -> "create".
std::string EnumWord(absl::string_view full, absl::string_view prefix) {
  return absl::AsciiStrToLower(absl::StripPrefix(full, prefix));
}

// "left out" for ITEM_ACTION_LEFT_OUT.
std::string ActionName(v1::ItemAction a) {
  std::string word = EnumWord(v1::ItemAction_Name(a), "ITEM_ACTION_");
  std::replace(word.begin(), word.end(), '_', ' ');
  return word;
}

}  // namespace

std::string KindName(v1::ItemKind k) {
  switch (k) {
    case v1::ITEM_KIND_TASK_DEF:
      return "task";
    case v1::ITEM_KIND_WORKFLOW_DEF:
      return "workflow";
    case v1::ITEM_KIND_EVENT_HANDLER:
      return "event_handler";
    case v1::ITEM_KIND_SECRET:
      return "secret";
    case v1::ITEM_KIND_SCHEDULE:
      return "schedule";
    default:
      return "?";
  }
}

namespace {

std::string ReferrerText(const v1::Referrer& r) {
  if (!r.schedule().empty()) {
    std::string s = absl::StrCat("schedule ", r.schedule());
    if (!r.field().empty()) absl::StrAppend(&s, " (", r.field(), ")");
    return s;
  }
  if (!r.event_handler().empty()) {
    std::string s = absl::StrCat("event handler ", r.event_handler());
    if (!r.field().empty()) absl::StrAppend(&s, " (", r.field(), ")");
    return s;
  }
  std::string s = absl::StrCat(r.workflow_name(), " v", r.workflow_version());
  if (!r.task_reference_name().empty()) absl::StrAppend(&s, " task ", r.task_reference_name());
  if (!r.field().empty()) absl::StrAppend(&s, " (", r.field(), ")");
  return s;
}

void PrintList(absl::string_view title, const std::vector<std::string>& lines, std::ostream& out) {
  if (lines.empty()) return;
  out << "\n" << title << ":\n";
  for (const std::string& l : lines) out << "  - " << TerminalSafe(l) << "\n";
}

// The differences of every item that has them, under a heading naming the item.
template <typename Item>
void PrintItemDifferences(const google::protobuf::RepeatedPtrField<Item>& items,
                          std::ostream& out) {
  bool any = false;
  for (const Item& i : items) {
    if (i.differences().empty()) continue;
    if (!any) out << "\nDifferences (target -> package):\n";
    any = true;
    out << "  " << KindName(i.kind()) << " " << TerminalSafe(i.name());
    if (i.kind() == v1::ITEM_KIND_WORKFLOW_DEF) out << " v" << i.target_version();
    out << ":\n";
    PrintFieldDifferences(i.differences(), i.more_differences(), "    ", out);
  }
}

// System task types are listed apart: any Conductor server runs them, so they are a fact about
// the definitions, not a chore. So are worker tasks without a task definition, which Conductor
// runs with a default one. Everything else (secrets, environment variables, event sinks,
// task-to-domain maps) the target must be given by hand.
void PrintDependencies(const google::protobuf::RepeatedPtrField<v1::Dependency>& deps,
                       std::ostream& out) {
  std::vector<std::string> system_types;
  std::vector<std::string> defaults;
  std::vector<std::string> manual;
  for (const v1::Dependency& d : deps) {
    if (d.kind() == v1::DEPENDENCY_KIND_SYSTEM_TASK_TYPE) {
      system_types.push_back(d.name());
      continue;
    }
    std::vector<std::string> refs;
    for (const v1::Referrer& r : d.referenced_by()) refs.push_back(ReferrerText(r));
    const std::string used_by =
        refs.empty() ? "" : absl::StrCat(" (used by ", absl::StrJoin(refs, "; "), ")");
    if (d.kind() == v1::DEPENDENCY_KIND_DEFAULT_TASK_DEFINITION) {
      defaults.push_back(absl::StrCat(d.name(), used_by));
      continue;
    }
    manual.push_back(absl::StrCat(EnumWord(v1::DependencyKind_Name(d.kind()), "DEPENDENCY_KIND_"),
                                  " ", d.name(), used_by));
  }
  PrintList("Runs with Conductor's default task definition, as in the source", defaults, out);
  PrintList("Provide in the target by hand", manual, out);
  if (!system_types.empty()) {
    out << "\nSystem task types used: " << TerminalSafe(absl::StrJoin(system_types, ", ")) << "\n";
  }
}

std::vector<std::string> UnresolvedLines(
    const google::protobuf::RepeatedPtrField<v1::UnresolvedReference>& unresolved) {
  std::vector<std::string> lines;
  for (const v1::UnresolvedReference& u : unresolved) {
    lines.push_back(absl::StrCat(EnumWord(v1::UnresolvedKind_Name(u.kind()), "UNRESOLVED_KIND_"),
                                 " '", u.name(), "' in ", ReferrerText(u.referenced_by()),
                                 u.detail().empty() ? "" : ": ", u.detail()));
  }
  return lines;
}

std::string CountsText(const google::protobuf::RepeatedPtrField<v1::ItemCount>& counts) {
  std::vector<std::string> parts;
  for (const v1::ItemCount& c : counts) {
    parts.push_back(absl::StrCat(c.count(), " ", KindName(c.kind()), c.count() == 1 ? "" : "s", " ",
                                 ActionName(c.action())));
  }
  return parts.empty() ? "nothing" : absl::StrJoin(parts, ", ");
}

void PrintVersionMapping(const google::protobuf::RepeatedPtrField<v1::VersionMapping>& mapping,
                         std::ostream& out) {
  bool changed = std::any_of(mapping.begin(), mapping.end(), [](const v1::VersionMapping& m) {
    return m.source_version() != m.target_version();
  });
  if (!changed) return;
  out << "\nVersion mapping:\n";
  Table t({"WORKFLOW", "SOURCE", "TARGET"});
  for (const v1::VersionMapping& m : mapping) {
    t.AddRow({m.name(), absl::StrCat(m.source_version()), absl::StrCat(m.target_version())});
  }
  t.Print(out);
}

void PrintReportIndented(const v1::MigrationReport& r, std::ostream& out, bool nested) {
  out << (nested ? "\nIncoming report (target)\n" : "Report\n");
  if (!r.source_environment().empty() || !r.target_environment().empty()) {
    out << "  " << (r.source_environment().empty() ? "?" : TerminalSafe(r.source_environment()))
        << " -> " << (r.target_environment().empty() ? "?" : TerminalSafe(r.target_environment()))
        << "\n";
  }
  if (!r.package_digest().empty()) out << "  package " << r.package_digest() << "\n";
  // Only a verified report was applied to the end; any other is the plan of a migration that
  // failed or is still running (its status says which, and whether it was rolled back).
  std::string outcome = r.blocked()            ? "blocked: nothing was changed"
                        : r.dry_run()          ? "dry run: nothing was changed"
                        : r.has_verification() ? "applied and verified"
                                               : "planned, not applied to the end";
  out << "  " << outcome << "; " << CountsText(r.counts()) << "\n";
  // The outgoing report already lists the items, dependencies and references of the incoming one.
  if (r.items_size() > 0 && !nested) {
    out << "\n";
    Table t({"KIND", "NAME", "SOURCE", "TARGET", "STATUS", "NOTE"});
    for (const v1::ItemReport& i : r.items()) {
      bool wf = i.kind() == v1::ITEM_KIND_WORKFLOW_DEF;
      t.AddRow({KindName(i.kind()), i.name(), wf ? absl::StrCat("v", i.source_version()) : "-",
                wf ? absl::StrCat("v", i.target_version()) : "-", ActionName(i.status()),
                absl::StrJoin(i.messages(), "; ")});
    }
    t.Print(out);
  }
  if (!nested) PrintItemDifferences(r.items(), out);
  PrintVersionMapping(r.version_mapping(), out);
  PrintList("Blocking problems",
            std::vector<std::string>(r.blocking_problems().begin(), r.blocking_problems().end()),
            out);
  if (!nested) {
    PrintDependencies(r.manual_dependencies(), out);
    PrintList("Unresolved references", UnresolvedLines(r.unresolved()), out);
  }
  PrintList("Warnings", std::vector<std::string>(r.warnings().begin(), r.warnings().end()), out);
  if (r.has_verification()) {
    const v1::Verification& v = r.verification();
    out << "\nVerification: " << (v.ok() ? "ok" : "FAILED") << ", " << v.checked() << " checked\n";
    for (const std::string& p : v.problems()) out << "  - " << p << "\n";
  }
  if (r.durations_size() > 0) {
    std::vector<std::string> parts;
    for (const v1::StepDuration& d : r.durations()) {
      parts.push_back(absl::StrCat(d.step(), " ", FormatDurationMs(d.duration_ms())));
    }
    out << "\nStep durations: " << absl::StrJoin(parts, ", ") << "\n";
  }
  if (r.has_incoming()) PrintReportIndented(r.incoming(), out, true);
}

}  // namespace

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

std::string WorkflowStatusName(Workflow::WorkflowStatus s) {
  return Workflow::WorkflowStatus_Name(s);
}

std::string TaskStatusName(Task::Status s) { return Task::Status_Name(s); }

bool IsTerminal(Workflow::WorkflowStatus s) {
  return s != Workflow::RUNNING && s != Workflow::PAUSED;
}

std::string StepName(const Task& t) {
  return t.task_def_name().empty() ? t.task_type() : t.task_def_name();
}

std::vector<const Task*> AttemptsInOrder(const Workflow& wf) {
  std::vector<const Task*> out;
  for (const Task& t : wf.tasks()) out.push_back(&t);
  std::stable_sort(out.begin(), out.end(), [](const Task* a, const Task* b) {
    return std::make_tuple(a->seq(), a->scheduled_time()) <
           std::make_tuple(b->seq(), b->scheduled_time());
  });
  return out;
}

std::vector<const Task*> LatestAttempts(const Workflow& wf) {
  std::vector<const Task*> order;
  std::map<std::string, size_t> index;
  for (const Task* t : AttemptsInOrder(wf)) {
    auto [it, inserted] = index.emplace(t->reference_task_name(), order.size());
    if (inserted) {
      order.push_back(t);
    } else {
      order[it->second] = t;
    }
  }
  return order;
}

int64_t WorkflowStartMs(const Workflow& wf) {
  int64_t start = 0;
  for (const Task& t : wf.tasks()) {
    if (t.scheduled_time() > 0 && (start == 0 || t.scheduled_time() < start)) {
      start = t.scheduled_time();
    }
  }
  return start;
}

int64_t AttemptDurationMs(const Task& t, int64_t now_ms) {
  if (t.start_time() <= 0) return -1;
  int64_t end = t.end_time() > 0 ? t.end_time() : now_ms;
  return std::max<int64_t>(0, end - t.start_time());
}

std::vector<std::string> AttemptHeader() {
  return {"STEP", "REF", "STATUS", "ATTEMPT", "WORKER", "START", "DURATION", "REASON"};
}

std::vector<std::string> AttemptRow(const Task& t, int64_t now_ms) {
  int64_t start = t.start_time() > 0 ? t.start_time() : t.scheduled_time();
  return {StepName(t), t.reference_task_name(), TaskStatusName(t.status()),
          absl::StrCat(t.retry_count()), t.worker_id().empty() ? "-" : t.worker_id(),
          FormatTimeMs(start), FormatDurationMs(AttemptDurationMs(t, now_ms)),
          // A retried attempt inherits the failed one's reason; it explains nothing once done.
          t.status() == Task::COMPLETED ? "" : InnermostCause(t.reason_for_incompletion())};
}

google::protobuf::Value AttemptJson(const Task& t, int64_t now_ms) {
  JsonObject o;
  int64_t duration = AttemptDurationMs(t, now_ms);
  o.Set("taskId", JsonString(t.task_id()))
      .Set("task", JsonString(StepName(t)))
      .Set("taskType", JsonString(t.task_type()))
      .Set("ref", JsonString(t.reference_task_name()))
      .Set("status", JsonString(TaskStatusName(t.status())))
      .Set("attempt", JsonNumber(t.retry_count()))
      .Set("worker", JsonString(t.worker_id()))
      .Set("scheduledTime", TimeJson(t.scheduled_time()))
      .Set("startTime", TimeJson(t.start_time()))
      .Set("endTime", TimeJson(t.end_time()))
      .Set("durationMs", duration < 0 ? JsonNull() : JsonNumber(static_cast<double>(duration)))
      .Set("reason",
           JsonString(t.status() == Task::COMPLETED ? ""
                                                    : InnermostCause(t.reason_for_incompletion())));
  return o.Take();
}

JsonObject WorkflowJson(const Workflow& wf) {
  JsonObject o;
  google::protobuf::Value input = StructValue(wf.input());
  auto* fields = input.mutable_struct_value()->mutable_fields();
  if (auto it = fields->find("package"); it != fields->end()) {
    size_t size = WriteJson(it->second).size();
    it->second = JsonString(absl::StrCat("<inline package, ", size, " bytes>"));
  }
  o.Set("workflowId", JsonString(wf.workflow_id()))
      .Set("workflowType", JsonString(wf.workflow_definition().name()))
      .Set("version", JsonNumber(wf.workflow_definition().version()))
      .Set("status", JsonString(WorkflowStatusName(wf.status())))
      .Set("correlationId", JsonString(wf.correlation_id()))
      .Set("reason", JsonString(InnermostCause(wf.reason_for_incompletion())))
      .Set("startTime", TimeJson(WorkflowStartMs(wf)))
      .Set("endTime", TimeJson(wf.end_time()))
      .Set("input", std::move(input))
      .Set("output", StructValue(wf.output()));
  return o;
}

void PrintWorkflowHeader(const Workflow& wf, int64_t now_ms, std::ostream& out) {
  Table t({"", ""});
  t.AddRow({"Workflow", wf.workflow_id()});
  t.AddRow({"Type", absl::StrCat(wf.workflow_definition().name(), " v",
                                 wf.workflow_definition().version())});
  t.AddRow({"Status", WorkflowStatusName(wf.status())});
  if (!wf.correlation_id().empty()) t.AddRow({"Correlation", wf.correlation_id()});
  int64_t start = WorkflowStartMs(wf);
  t.AddRow({"Started", FormatTimeMs(start)});
  if (wf.end_time() > 0) {
    t.AddRow(
        {"Ended", absl::StrCat(FormatTimeMs(wf.end_time()), " (took ",
                               FormatDurationMs(start > 0 ? wf.end_time() - start : -1), ")")});
  } else if (start > 0) {
    t.AddRow({"Running for", FormatDurationMs(now_ms - start)});
  }
  if (!wf.reason_for_incompletion().empty()) {
    t.AddRow({"Reason", InnermostCause(wf.reason_for_incompletion())});
  }
  // The header row of this two-column table is empty; print the rows only.
  std::ostringstream text;
  t.Print(text);
  std::string s = text.str();
  out << s.substr(s.find('\n') + 1);
}

std::optional<v1::MigrationReport> ReportFromOutput(const Workflow& wf) {
  for (const char* key : {"report", "incomingReport"}) {
    auto it = wf.output().find(key);
    if (it == wf.output().end()) continue;
    if (std::optional<v1::MigrationReport> r = ReadOutputMessage<v1::MigrationReport>(it->second)) {
      return r;
    }
  }
  // A failed workflow has no output; the step that failed (await_incoming, plan, ...) may still
  // have reported. The latest attempt that did wins.
  std::vector<const Task*> attempts = AttemptsInOrder(wf);
  for (auto t = attempts.rbegin(); t != attempts.rend(); ++t) {
    auto it = (*t)->output_data().find("report");
    if (it == (*t)->output_data().end()) continue;
    if (std::optional<v1::MigrationReport> r = ReadOutputMessage<v1::MigrationReport>(it->second)) {
      return r;
    }
  }
  return std::nullopt;
}

std::optional<v1::MigrationPlan> PlanFromOutput(const Workflow& wf) {
  auto it = wf.output().find("plan");
  if (it == wf.output().end()) return std::nullopt;
  return ReadOutputMessage<v1::MigrationPlan>(it->second);
}

std::vector<std::string> WaitingForWorkers(const std::vector<const Task*>& waiting,
                                           const std::vector<v1::PollData>& polls,
                                           const std::string& where, int64_t now_ms) {
  std::vector<std::string> out;
  for (const Task* t : waiting) {
    const v1::PollData* latest = nullptr;
    for (const v1::PollData& p : polls) {
      if (p.queue_name() != t->task_type() || p.domain() != t->domain()) continue;
      if (latest == nullptr || p.last_poll_time() > latest->last_poll_time()) latest = &p;
    }
    const std::string queue = t->domain().empty()
                                  ? t->task_type()
                                  : absl::StrCat(t->task_type(), " (domain ", t->domain(), ")");
    const std::string step = absl::StrCat("step ", t->reference_task_name(), " is SCHEDULED, but ");
    if (latest == nullptr) {
      out.push_back(absl::StrCat(step, "no worker has polled ", queue, " on ", where,
                                 " since it started: is migration-worker running against it?"));
    } else if (now_ms - latest->last_poll_time() >= kWorkerGoneAfterMs) {
      out.push_back(absl::StrCat(step, "no worker has polled ", queue, " on ", where, " for ",
                                 FormatDurationMs(now_ms - latest->last_poll_time()), " (last: ",
                                 latest->worker_id(), "): is migration-worker still running?"));
    }
  }
  return out;
}

void PrintFieldDifferences(const google::protobuf::RepeatedPtrField<v1::FieldDifference>& diffs,
                           int more, absl::string_view indent, std::ostream& out) {
  auto side = [](const std::string& v) { return v.empty() ? std::string("(absent)") : v; };
  for (const v1::FieldDifference& d : diffs) {
    out << indent << TerminalSafe(d.path()) << ": " << TerminalSafe(side(d.target())) << " -> "
        << TerminalSafe(side(d.package())) << "\n";
  }
  if (more > 0) out << indent << "... and " << more << " more\n";
}

void PrintReport(const v1::MigrationReport& report, std::ostream& out) {
  PrintReportIndented(report, out, false);
}

void PrintPlan(const v1::MigrationPlan& plan, std::ostream& out) {
  out << "Plan" << (plan.blocked() ? " (blocked: nothing may be applied)" : "") << "\n";
  out << "  " << CountsText(plan.counts()) << "\n\n";
  Table t({"KIND", "NAME", "SOURCE", "TARGET", "ACTION", "REASONS"});
  for (const v1::PlannedItem& i : plan.items()) {
    bool wf = i.kind() == v1::ITEM_KIND_WORKFLOW_DEF;
    t.AddRow({KindName(i.kind()), i.name(), wf ? absl::StrCat("v", i.source_version()) : "-",
              wf ? absl::StrCat("v", i.target_version()) : "-", ActionName(i.action()),
              absl::StrJoin(i.reasons(), "; ")});
  }
  t.Print(out);
  PrintItemDifferences(plan.items(), out);
  PrintVersionMapping(plan.version_mapping(), out);
  PrintList(
      "Blocking problems",
      std::vector<std::string>(plan.blocking_problems().begin(), plan.blocking_problems().end()),
      out);
  PrintDependencies(plan.manual_dependencies(), out);
  PrintList("Unresolved references", UnresolvedLines(plan.unresolved()), out);
  PrintList("Warnings", std::vector<std::string>(plan.warnings().begin(), plan.warnings().end()),
            out);
}

absl::StatusOr<Workflow> WaitForWorkflow(client::WorkflowClient& client,
                                         const std::string& workflow_id, const WaitOptions& options,
                                         std::ostream& progress) {
  absl::Time begin = absl::Now();
  // What was last printed per task attempt (task id -> status).
  std::map<std::string, Task::Status> printed;
  // Where the server can wait for the workflow to change (cmig.v1.WorkflowWatch), each look
  // follows a change as soon as it committed and nothing is read while nothing happens.
  // Elsewhere: quick looks while steps change, slower ones (up to poll_interval) while nothing
  // does, so a short migration is seen to end within milliseconds and a long one costs a look a
  // second.
  const absl::Duration first_interval = std::min(absl::Milliseconds(10), options.poll_interval);
  absl::Duration interval = first_interval;
  bool unreachable = false;
  bool can_watch = true;
  int64_t stamp = 0;
  while (true) {
    absl::StatusOr<Workflow> read = client.GetWorkflowStatus(workflow_id, /*include_tasks=*/true);
    // A server shutting down cancels the calls it is serving (CANCELLED), then refuses
    // connections (UNAVAILABLE) until it is back.
    if (absl::IsUnavailable(read.status()) || absl::IsDeadlineExceeded(read.status()) ||
        absl::IsCancelled(read.status())) {
      // The server restarts or the network blips: the migration goes on there, so keep looking.
      if (!unreachable) {
        progress << TerminalSafe(absl::StrCat("  the server is unreachable (",
                                              read.status().message(), "); looking again"))
                 << "\n";
        progress.flush();
      }
      unreachable = true;
      if (options.timeout > absl::ZeroDuration() && absl::Now() - begin >= options.timeout) {
        return read.status();
      }
      absl::SleepFor(options.poll_interval);
      continue;
    }
    ASSIGN_OR_RETURN(Workflow wf, std::move(read));
    unreachable = false;
    int64_t now = NowMs();
    for (const Task* t : AttemptsInOrder(wf)) {
      auto it = printed.find(t->task_id());
      if (it != printed.end() && it->second == t->status()) continue;
      printed[t->task_id()] = t->status();
      interval = first_interval;
      int64_t duration = AttemptDurationMs(*t, now);
      progress << TerminalSafe(absl::StrCat(
                      "  ", FormatDurationMs(absl::ToInt64Milliseconds(absl::Now() - begin)), "  ",
                      t->reference_task_name(), "  ", TaskStatusName(t->status()), "  attempt ",
                      t->retry_count(),
                      duration >= 0 && t->end_time() > 0
                          ? absl::StrCat("  took ", FormatDurationMs(duration))
                          : "",
                      // A completed retry explains nothing with the failed attempt's reason.
                      t->reason_for_incompletion().empty() || t->status() == Task::COMPLETED
                          ? ""
                          : absl::StrCat("  ", InnermostCause(t->reason_for_incompletion()))))
               << "\n";
      progress.flush();
    }
    if (IsTerminal(wf.status())) return wf;
    if (options.timeout > absl::ZeroDuration() && absl::Now() - begin >= options.timeout) {
      return absl::AbortedError(absl::StrCat(
          "gave up waiting for workflow ", workflow_id, " after ",
          absl::FormatDuration(options.timeout), "; it is still ", WorkflowStatusName(wf.status()),
          " (follow it with 'migrationctl status ", workflow_id, "')"));
    }
    if (can_watch) {
      // Waits at most until the timeout, and at least a little: a server that answers at once
      // every time (it lost the workflow from memory) is not asked in a loop.
      absl::Duration wait = absl::Seconds(30);
      if (options.timeout > absl::ZeroDuration()) {
        wait = std::clamp(options.timeout - (absl::Now() - begin), absl::Milliseconds(1), wait);
      }
      const absl::Time asked = absl::Now();
      absl::StatusOr<int64_t> watched = client.WatchWorkflow(workflow_id, stamp, wait);
      if (watched.ok()) {
        const bool answered_at_once = *watched == stamp || *watched == 0;
        stamp = *watched;
        if (!answered_at_once || absl::Now() - asked >= wait) continue;
      } else if (absl::IsUnimplemented(watched.status())) {
        can_watch = false;
      }
    }
    absl::SleepFor(interval);
    interval = std::min(interval * 2, options.poll_interval);
  }
}

}  // namespace cmig::cli
