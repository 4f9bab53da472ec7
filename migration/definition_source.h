// Where the migration logic reads workflow and task definitions from.
//
// Discovery reads the source environment through a DefinitionSource and planning reads the
// target through one. The fetch and plan steps implement it over the orchestrator client (one
// GetWorkflow / GetTaskDef call each, or a prefetched InMemoryDefinitionSource filled from the
// DefinitionCatalog extension); tests use InMemoryDefinitionSource directly.
//
//   InMemoryDefinitionSource source;
//   source.AddWorkflowDef(def);
//   ASSIGN_OR_RETURN(Discovery d, Discover(selection, source, DiscoveryOptions{}));
#ifndef CMIG_MIGRATION_DEFINITION_SOURCE_H_
#define CMIG_MIGRATION_DEFINITION_SOURCE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cmig/v1/schedules.pb.h"
#include "conductor/model/eventhandler.pb.h"
#include "conductor/model/taskdef.pb.h"
#include "conductor/model/workflowdef.pb.h"

namespace cmig::migration {

// Selections naming at least this many workflows and task definitions are read by listing the
// source once (every version, every task definition) rather than one definition at a time: fewer
// round trips from about here on.
inline constexpr int kListSourceWhenSelectingAtLeast = 64;

class DefinitionSource {
 public:
  virtual ~DefinitionSource() = default;

  // The workflow definition `name` at `version`, or its highest version when `version` is
  // nullopt. NotFound when there is no such definition; any other error (Unavailable,
  // DeadlineExceeded, ...) is passed through to the caller unchanged. May block on the network.
  virtual absl::StatusOr<conductor::proto::WorkflowDef> GetWorkflowDef(
      absl::string_view name, std::optional<int32_t> version) = 0;

  // The task definition `name`; NotFound when absent, other errors as above.
  virtual absl::StatusOr<conductor::proto::TaskDef> GetTaskDef(absl::string_view name) = 0;

  // Every version of workflow `name`, ascending; empty when there is none. Planning uses it to
  // recognise a definition the target already holds under an older version (new-version
  // strategy). Sources that cannot list (a Conductor server without the DefinitionCatalog
  // extension) keep this default, Unimplemented, and planning compares with the same and the
  // latest version only.
  virtual absl::StatusOr<std::vector<conductor::proto::WorkflowDef>> ListWorkflowVersions(
      absl::string_view name);

  // Calls `fn` with every workflow definition, every version, in (name, version) order. Sources
  // that cannot list keep this default, Unimplemented.
  virtual absl::Status ForEachWorkflow(
      const std::function<void(const conductor::proto::WorkflowDef&)>& fn);

  // Every event handler, ordered by name. Sources without an event handler API keep this
  // default, Unimplemented.
  virtual absl::StatusOr<std::vector<conductor::proto::EventHandler>> ListEventHandlers();
  // The event handler called `name`; NotFound when absent. The default looks through
  // ListEventHandlers (Conductor has no call that reads one handler by name).
  virtual absl::StatusOr<conductor::proto::EventHandler> GetEventHandler(absl::string_view name);

  // Every workflow schedule, ordered by name. Sources without a scheduler keep this default,
  // Unimplemented.
  virtual absl::StatusOr<std::vector<v1::WorkflowSchedule>> ListSchedules();
  // The schedule called `name`; NotFound when absent. The default looks through ListSchedules.
  virtual absl::StatusOr<v1::WorkflowSchedule> GetSchedule(absl::string_view name);
};

// Reads definitions from a target at most once each, telling "absent" (nullopt) apart from a
// failed read. Planning and verification ask about the same definitions many times; a target
// behind gRPC should be asked once. Errors other than NotFound keep their code and name the
// definition ("reading workflow 'x' v2 from the target: ..."). Borrows `target`, which must
// outlive it. Not thread-safe. Returned pointers stay valid for the reader's lifetime.
class CachedDefinitionReader {
 public:
  explicit CachedDefinitionReader(DefinitionSource& target) : target_(target) {}
  CachedDefinitionReader(const CachedDefinitionReader&) = delete;
  CachedDefinitionReader& operator=(const CachedDefinitionReader&) = delete;

  // `version` 0 asks for the highest version.
  absl::StatusOr<const std::optional<conductor::proto::WorkflowDef>*> Workflow(
      const std::string& name, int32_t version);
  absl::StatusOr<const std::optional<conductor::proto::TaskDef>*> TaskDef(const std::string& name);
  // Lists the target's event handlers on first use. Unimplemented (a target without an event
  // handler API) passes through, naming the handler.
  absl::StatusOr<const std::optional<conductor::proto::EventHandler>*> EventHandler(
      const std::string& name);
  // The same for schedules.
  absl::StatusOr<const std::optional<v1::WorkflowSchedule>*> Schedule(const std::string& name);

 private:
  DefinitionSource& target_;
  std::map<std::string, std::optional<conductor::proto::EventHandler>> event_handlers_;
  std::optional<absl::Status> listed_event_handlers_;  // set once listed
  std::map<std::string, std::optional<v1::WorkflowSchedule>> schedules_;
  std::optional<absl::Status> listed_schedules_;
  std::map<std::pair<std::string, int32_t>, std::optional<conductor::proto::WorkflowDef>>
      workflows_;
  std::map<std::string, std::optional<conductor::proto::TaskDef>> task_defs_;
};

// Definitions held in memory. Thread-compatible: concurrent const use is safe, mutation is not.
class InMemoryDefinitionSource : public DefinitionSource {
 public:
  // Adds or replaces the definition under its (name, version) / name.
  void AddWorkflowDef(conductor::proto::WorkflowDef def);
  void AddTaskDef(conductor::proto::TaskDef def);
  // Removes the definition if present.
  void RemoveWorkflowDef(absl::string_view name, int32_t version);
  void RemoveTaskDef(absl::string_view name);
  void AddEventHandler(conductor::proto::EventHandler handler);
  void RemoveEventHandler(absl::string_view name);
  // From now on, event handler reads answer `why` (an environment without an event handler API).
  void MarkEventHandlersUnavailable(absl::Status why) { event_handlers_status_ = std::move(why); }
  void AddSchedule(v1::WorkflowSchedule schedule);
  void RemoveSchedule(absl::string_view name);
  // From now on, schedule reads answer `why` (an environment without a scheduler).
  void MarkSchedulesUnavailable(absl::Status why) { schedules_status_ = std::move(why); }

  absl::StatusOr<conductor::proto::WorkflowDef> GetWorkflowDef(
      absl::string_view name, std::optional<int32_t> version) override;
  absl::StatusOr<conductor::proto::TaskDef> GetTaskDef(absl::string_view name) override;
  absl::StatusOr<std::vector<conductor::proto::WorkflowDef>> ListWorkflowVersions(
      absl::string_view name) override;
  absl::Status ForEachWorkflow(
      const std::function<void(const conductor::proto::WorkflowDef&)>& fn) override;
  absl::StatusOr<std::vector<conductor::proto::EventHandler>> ListEventHandlers() override;
  absl::StatusOr<conductor::proto::EventHandler> GetEventHandler(absl::string_view name) override;
  absl::StatusOr<std::vector<v1::WorkflowSchedule>> ListSchedules() override;
  absl::StatusOr<v1::WorkflowSchedule> GetSchedule(absl::string_view name) override;

  const std::map<std::pair<std::string, int32_t>, conductor::proto::WorkflowDef>& workflows()
      const {
    return workflows_;
  }
  const std::map<std::string, conductor::proto::TaskDef>& task_defs() const { return task_defs_; }
  const std::map<std::string, conductor::proto::EventHandler>& event_handlers() const {
    return event_handlers_;
  }

 private:
  std::map<std::pair<std::string, int32_t>, conductor::proto::WorkflowDef> workflows_;
  std::map<std::string, conductor::proto::TaskDef> task_defs_;
  std::map<std::string, conductor::proto::EventHandler> event_handlers_;
  absl::Status event_handlers_status_;
  std::map<std::string, v1::WorkflowSchedule> schedules_;
  absl::Status schedules_status_;
};

}  // namespace cmig::migration

#endif  // CMIG_MIGRATION_DEFINITION_SOURCE_H_
