// The one table of Conductor task types and what each part of the project needs to know of them.
//
// Conductor (conductor-oss and Orkes) runs two kinds of task: worker tasks (SIMPLE, and any type
// it does not know, queued under the type's name for a worker to poll) and system tasks that the
// server runs itself. Three questions are asked of a type, by three parts of the project:
//
//   - Discovery and planning: is it a control-flow operator (it shapes the workflow and never has
//     a task definition of its own), another system task (a task definition registered under its
//     name is optional), or a worker task (its task definition matters)?
//   - The embedded orchestrator: does it run this type itself, and does it know the type as a
//     Conductor system task it cannot run (scheduling one is a definition error, never a task
//     parked on a queue nobody polls)?
//   - Retry policy: is it one of the operators Conductor never retries (TaskType.isBuiltIn in
//     conductor-oss), whatever the task definition says?
//
//   if (cmig::IsControlFlowTaskType(task.type())) { ... no task definition to follow ... }
//   if (!cmig::IsExecutedByEmbeddedOrchestrator(type)) { ... enqueue for a worker ... }
//
// Types are matched exactly (Conductor's names are upper case). All functions are pure and
// thread-safe.
#ifndef CMIG_DEFINITIONS_TASK_TYPES_H_
#define CMIG_DEFINITIONS_TASK_TYPES_H_

#include <span>
#include <string>

#include "absl/strings/string_view.h"

namespace cmig {

// Conductor's type for worker tasks; an empty WorkflowTask.type means the same.
inline constexpr absl::string_view kSimpleTaskType = "SIMPLE";

// What the project knows of one Conductor system task type.
struct TaskTypeInfo {
  absl::string_view name;
  // Shapes the workflow (SWITCH, FORK_JOIN, DO_WHILE, ...) and never has a task definition.
  bool control_flow = false;
  // The embedded orchestrator runs tasks of this type itself.
  bool embedded_executes = false;
  // Conductor never retries tasks of this type (TaskType.isBuiltIn).
  bool never_retried = false;
};

// Every Conductor (conductor-oss and Orkes) system task type the project knows, including FORK,
// the type a FORK_JOIN task takes at run time. SIMPLE and unknown types are not in it.
std::span<const TaskTypeInfo> KnownSystemTaskTypes();

// The entry for `type`, or nullptr for SIMPLE, the empty type and types not in the table.
const TaskTypeInfo* FindSystemTaskType(absl::string_view type);

// True when `type` is in the table: Conductor runs it on the server, no worker polls for it.
bool IsKnownSystemTaskType(absl::string_view type);
// See TaskTypeInfo; false for types not in the table.
bool IsControlFlowTaskType(absl::string_view type);
bool IsExecutedByEmbeddedOrchestrator(absl::string_view type);
bool IsNeverRetriedTaskType(absl::string_view type);

// The queue Conductor puts a worker task on: its type, or "domain:type" when the task runs in a
// task-to-domain domain. Workers poll the same name.
std::string TaskQueueName(absl::string_view task_type, absl::string_view domain);

}  // namespace cmig

#endif  // CMIG_DEFINITIONS_TASK_TYPES_H_
