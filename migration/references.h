// What one workflow definition refers to, and rewriting its pinned workflow versions.
//
// A static scan: no definition is fetched. Discovery (migration/discovery.h) follows the references
// it finds; planning (migration/plan.h) checks them against the target and rewrites versions. Both
// walk every task at any depth: SWITCH/DECISION cases and default, FORK_JOIN branches, DO_WHILE
// bodies, and inline sub-workflow definitions (subWorkflowParam.workflowDefinition).
//
// How task types are classified (Conductor semantics):
//  - SIMPLE (or no type): a worker task; its task definition `name` is required unless the task
//    embeds one (WorkflowTask.taskDefinition). "Required" means the definition is migrated when
//    the source holds one; when it does not, Conductor runs the task with a default task
//    definition, and discovery says so (migration/discovery.h).
//  - control flow (SWITCH, DECISION, FORK_JOIN, FORK_JOIN_DYNAMIC, JOIN, EXCLUSIVE_JOIN,
//    DO_WHILE, DYNAMIC, TERMINATE, SET_VARIABLE, NOOP): a system task type dependency, never a
//    task definition.
//  - every other type (HTTP, SUB_WORKFLOW, START_WORKFLOW, EVENT, WAIT, INLINE, JSON_JQ_TRANSFORM,
//    KAFKA_PUBLISH, HUMAN, LAMBDA, and types this code does not know, such as Orkes' own): a
//    system task type dependency whose task definition is optional. Conductor applies a
//    registered task definition's retry, timeout and rate-limit policy to such tasks, so one
//    registered under the task's name is migrated when it exists, and its absence is not a
//    problem.
//  - DYNAMIC: the task type comes from input `dynamicTaskNameParam`; a literal value there is
//    followed as a worker task, an expression is unresolved. FORK_JOIN_DYNAMIC is unresolved.
//
// A name containing `${` (a sub-workflow, START_WORKFLOW or dynamic task name) is an expression,
// and so is a failureWorkflow starting with `$` (Conductor reads `$workflow.input.NAME` from the
// workflow's input when it fails): each is an unresolved reference, never a definition to fetch.
//
// Strings scanned for `${workflow.secrets.NAME}` and `${workflow.env.NAME}` (NAME is the first
// dotted segment, so `${workflow.secrets.db.user}` names secret "db"): every task's input
// parameters at any depth and its expression fields, and the workflow's output parameters,
// input template and variables.
#ifndef CMIG_MIGRATION_REFERENCES_H_
#define CMIG_MIGRATION_REFERENCES_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "cmig/v1/package.pb.h"
#include "cmig/v1/schedules.pb.h"
#include "conductor/model/eventhandler.pb.h"
#include "conductor/model/workflowdef.pb.h"

namespace cmig::migration {

// A statically named workflow this one uses: a sub-workflow, a START_WORKFLOW target or the
// failure workflow.
struct WorkflowReference {
  std::string name;
  // 0 means "latest": Conductor resolves it when the workflow runs.
  int32_t version = 0;
  v1::Referrer referrer;
};

// A task definition this workflow uses.
struct TaskDefReference {
  std::string name;
  // True for worker tasks without an embedded definition: the definition must exist.
  bool required = false;
  v1::Referrer referrer;
};

struct DependencyRecord {
  v1::DependencyKind kind = v1::DEPENDENCY_KIND_UNSPECIFIED;
  std::string name;
  v1::Referrer referrer;
};

// An event on Conductor's own queue that an EVENT task publishes (sink "conductor" or
// "conductor:NAME"): the event handlers listening on it belong with the workflow.
struct EventReference {
  std::string event;  // "conductor:<workflow name>:<task reference name or NAME>"
  v1::Referrer referrer;
};

// Everything one workflow refers to, in walk order (tasks in definition order, cases by sorted
// case value). Duplicates are kept; callers merge.
struct WorkflowReferences {
  std::vector<WorkflowReference> workflows;
  std::vector<TaskDefReference> task_defs;
  std::vector<DependencyRecord> dependencies;
  std::vector<v1::UnresolvedReference> unresolved;
  std::vector<EventReference> events;
};

// Scans `def` (and the inline sub-workflows inside it). Never fails: what cannot be read
// statically is an unresolved reference. Tasks inside an inline sub-workflow are named
// "outer_ref/inner_ref" in their referrer.
WorkflowReferences ScanWorkflow(const conductor::proto::WorkflowDef& def);

// Maps a pinned reference (name, version) to the version it should point at, or nullopt to
// leave it as it is.
using VersionRewrite =
    std::function<std::optional<int32_t>(absl::string_view name, int32_t version)>;

// Rewrites every pinned workflow reference in `def`: subWorkflowParam.version, the
// startWorkflow.version input of START_WORKFLOW tasks, failureWorkflowVersion, and the same inside
// inline sub-workflow definitions. References to the latest version (0, or absent) are left
// alone. Returns the number of references changed.
int RewriteWorkflowReferences(conductor::proto::WorkflowDef* def, const VersionRewrite& rewrite);

// What one event handler refers to: the workflows its START_WORKFLOW actions start (statically
// named ones in `workflows`, expressions in `unresolved`) and, when it listens on a queue other
// than Conductor's own ("conductor:..."), that queue as a DEPENDENCY_KIND_EVENT_SINK. Referrers
// name the handler (v1::Referrer.event_handler) and the field, e.g.
// "actions[0].start_workflow.name".
WorkflowReferences ScanEventHandler(const conductor::proto::EventHandler& handler);

// Rewrites the pinned versions of the workflows `handler`'s START_WORKFLOW actions start, as
// RewriteWorkflowReferences does for a workflow. Returns the number changed.
int RewriteEventHandlerReferences(conductor::proto::EventHandler* handler,
                                  const VersionRewrite& rewrite);

// What one workflow schedule refers to: the workflow its start request names (statically named in
// `workflows`, an empty or computed name in `unresolved`) and its task-to-domain mappings as
// DEPENDENCY_KIND_TASK_TO_DOMAIN. Referrers name the schedule (v1::Referrer.schedule) and the
// field, e.g. "startWorkflowRequest.name".
WorkflowReferences ScanSchedule(const v1::WorkflowSchedule& schedule);

// Rewrites the pinned version of the workflow `schedule` starts, as RewriteWorkflowReferences
// does for a workflow. Returns the number changed (0 or 1).
int RewriteScheduleReferences(v1::WorkflowSchedule* schedule, const VersionRewrite& rewrite);

// The event an EVENT task with `sink` publishes when it runs in workflow `workflow_name`, as
// Conductor names it: sink "conductor" gives "conductor:WORKFLOW:TASK_REFERENCE_NAME", sink
// "conductor:NAME" gives "conductor:WORKFLOW:NAME"; nullopt for any other sink (an external
// queue such as "sqs:..." or "kafka:...").
std::optional<std::string> ConductorEventPublished(absl::string_view workflow_name,
                                                   absl::string_view sink,
                                                   absl::string_view task_reference_name);

// The worker tasks `dependencies` lists as running with Conductor's default task definition
// (DEPENDENCY_KIND_DEFAULT_TASK_DEFINITION): their definitions need not exist anywhere.
std::set<std::string> DefaultTaskDefinitionNames(
    const google::protobuf::RepeatedPtrField<v1::Dependency>& dependencies);

// "workflow 'name' version N" / "task definition 'name'", for messages.
std::string DescribeWorkflow(absl::string_view name, int32_t version);
// "workflow 'w' version 1, task 'ref'" (or "event handler 'h'", "schedule 's'") for a referrer.
std::string DescribeReferrer(const v1::Referrer& referrer);

}  // namespace cmig::migration

#endif  // CMIG_MIGRATION_REFERENCES_H_
