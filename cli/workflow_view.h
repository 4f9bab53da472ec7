// Reading a Conductor workflow execution the way an operator wants it: steps, attempts,
// durations, the migration report in its output; and waiting for one to end while printing
// step progress.
//
// Used by status/history/list and by migrate/import --wait. Thread-compatible.
#ifndef CMIG_CLI_WORKFLOW_VIEW_H_
#define CMIG_CLI_WORKFLOW_VIEW_H_

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cli/output.h"
#include "client/workflow_client.h"
#include "cmig/v1/report.pb.h"
#include "cmig/v1/task_queues.pb.h"
#include "conductor/model/task.pb.h"
#include "conductor/model/workflow.pb.h"

namespace cmig::cli {

inline constexpr char kOutgoingWorkflow[] = "outgoing_migration_request";
inline constexpr char kIncomingWorkflow[] = "incoming_migration_request";

// "task", "workflow" or "event_handler".
std::string KindName(v1::ItemKind k);
std::string WorkflowStatusName(conductor::proto::Workflow::WorkflowStatus s);
std::string TaskStatusName(conductor::proto::Task::Status s);
bool IsTerminal(conductor::proto::Workflow::WorkflowStatus s);

// The step's name: the task definition name, or the task type for system tasks without one.
std::string StepName(const conductor::proto::Task& t);

// Every task attempt, in scheduling order (seq).
std::vector<const conductor::proto::Task*> AttemptsInOrder(const conductor::proto::Workflow& wf);
// The latest attempt of each task reference, in the order the references first ran.
std::vector<const conductor::proto::Task*> LatestAttempts(const conductor::proto::Workflow& wf);

// When the workflow started: its first task's scheduled time (Conductor's Workflow message
// carries no start time); 0 when it has no task yet.
int64_t WorkflowStartMs(const conductor::proto::Workflow& wf);

// The attempt's duration in ms: end - start, or now - start while it runs; -1 before it started.
int64_t AttemptDurationMs(const conductor::proto::Task& t, int64_t now_ms);

// Header and row of an attempt table.
std::vector<std::string> AttemptHeader();
std::vector<std::string> AttemptRow(const conductor::proto::Task& t, int64_t now_ms);
// {"taskId", "task", "taskType", "ref", "status", "attempt", "worker", "scheduledTime",
//  "startTime", "endTime", "durationMs", "reason"}; times as RFC 3339 strings or null.
google::protobuf::Value AttemptJson(const conductor::proto::Task& t, int64_t now_ms);

// {"workflowId", "workflowType", "version", "status", "correlationId", "reason", "startTime",
//  "endTime", "input", "output"}; an inline "package" in the input is replaced by a note of its
// size (it can be megabytes and is printed by 'inspect').
JsonObject WorkflowJson(const conductor::proto::Workflow& wf);

// The workflow's header lines ("Workflow  <id>", "Type ...", "Status ...", ...).
void PrintWorkflowHeader(const conductor::proto::Workflow& wf, int64_t now_ms, std::ostream& out);

// The migration report in a workflow's output ("report", else "incomingReport"), else in the
// output of its latest step attempt that has one (a failed workflow has no output), if any.
std::optional<v1::MigrationReport> ReportFromOutput(const conductor::proto::Workflow& wf);
// The plan of a dry run in a workflow's output ("plan"), if any.
std::optional<v1::MigrationPlan> PlanFromOutput(const conductor::proto::Workflow& wf);

// The report as tables: items, counts, version mapping, problems, dependencies, verification,
// and the nested incoming report of an outgoing migration.
// How long since a queue's last poll before its workers count as gone.
inline constexpr int64_t kWorkerGoneAfterMs = 60'000;

// One sentence per step in `waiting` (SCHEDULED worker tasks) whose task type no worker polls:
// none has since the server (`where`) started, or none has for kWorkerGoneAfterMs, per `polls`
// (the server's poll data). Steps of a type a worker polls are only waiting their turn.
std::vector<std::string> WaitingForWorkers(
    const std::vector<const conductor::proto::Task*>& waiting,
    const std::vector<v1::PollData>& polls, const std::string& where, int64_t now_ms);

void PrintReport(const v1::MigrationReport& report, std::ostream& out);
// One line per difference, "path: target -> package" ("(absent)" for a missing side), then how
// many more there are, each line starting with `indent`. Every value is made terminal-safe.
void PrintFieldDifferences(const google::protobuf::RepeatedPtrField<v1::FieldDifference>& diffs,
                           int more, absl::string_view indent, std::ostream& out);
void PrintPlan(const v1::MigrationPlan& plan, std::ostream& out);

struct WaitOptions {
  absl::Duration poll_interval = absl::Seconds(1);
  // Zero: no limit.
  absl::Duration timeout = absl::ZeroDuration();
};

// Polls GetWorkflowStatus until the workflow is terminal, printing one line to `progress` each
// time a step attempt appears or changes status ("  12.3s  fetch  COMPLETED  attempt 0  1.2s").
// Returns the terminal workflow. Aborted naming the workflow and its status when
// `options.timeout` passes; the client's errors as they come, except that an unreachable server
// (a restart) is looked at again until it answers. Blocks.
absl::StatusOr<conductor::proto::Workflow> WaitForWorkflow(client::WorkflowClient& client,
                                                           const std::string& workflow_id,
                                                           const WaitOptions& options,
                                                           std::ostream& progress);

// Milliseconds since the epoch, now.
int64_t NowMs();

}  // namespace cmig::cli

#endif  // CMIG_CLI_WORKFLOW_VIEW_H_
