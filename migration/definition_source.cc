#include "migration/definition_source.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "migration/references.h"

namespace cmig::migration {

absl::StatusOr<std::vector<conductor::proto::WorkflowDef>> DefinitionSource::ListWorkflowVersions(
    absl::string_view name) {
  return absl::UnimplementedError(
      absl::StrCat("this definition source cannot list the versions of workflow '", name, "'"));
}

absl::Status DefinitionSource::ForEachWorkflow(
    const std::function<void(const conductor::proto::WorkflowDef&)>& /*fn*/) {
  return absl::UnimplementedError("this definition source cannot list its workflows");
}

absl::StatusOr<std::vector<conductor::proto::EventHandler>> DefinitionSource::ListEventHandlers() {
  return absl::UnimplementedError("this definition source has no event handlers");
}

absl::StatusOr<conductor::proto::EventHandler> DefinitionSource::GetEventHandler(
    absl::string_view name) {
  ASSIGN_OR_RETURN(std::vector<conductor::proto::EventHandler> all, ListEventHandlers());
  for (conductor::proto::EventHandler& h : all) {
    if (h.name() == name) return std::move(h);
  }
  return absl::NotFoundError(absl::StrCat("event handler '", name, "' not found"));
}

absl::StatusOr<std::vector<v1::WorkflowSchedule>> DefinitionSource::ListSchedules() {
  return absl::UnimplementedError("this definition source has no schedules");
}

absl::StatusOr<v1::WorkflowSchedule> DefinitionSource::GetSchedule(absl::string_view name) {
  ASSIGN_OR_RETURN(std::vector<v1::WorkflowSchedule> all, ListSchedules());
  for (v1::WorkflowSchedule& s : all) {
    if (s.name() == name) return std::move(s);
  }
  return absl::NotFoundError(absl::StrCat("schedule '", name, "' not found"));
}

absl::StatusOr<std::vector<v1::WorkflowSchedule>> InMemoryDefinitionSource::ListSchedules() {
  RETURN_IF_ERROR(schedules_status_);
  std::vector<v1::WorkflowSchedule> out;
  out.reserve(schedules_.size());
  for (const auto& [name, s] : schedules_) out.push_back(s);
  return out;
}

absl::StatusOr<v1::WorkflowSchedule> InMemoryDefinitionSource::GetSchedule(absl::string_view name) {
  RETURN_IF_ERROR(schedules_status_);
  auto it = schedules_.find(std::string(name));
  if (it == schedules_.end()) {
    return absl::NotFoundError(absl::StrCat("schedule '", name, "' not found"));
  }
  return it->second;
}

void InMemoryDefinitionSource::AddSchedule(v1::WorkflowSchedule schedule) {
  std::string name = schedule.name();
  schedules_[std::move(name)] = std::move(schedule);
}

void InMemoryDefinitionSource::RemoveSchedule(absl::string_view name) {
  schedules_.erase(std::string(name));
}

absl::StatusOr<std::vector<conductor::proto::EventHandler>>
InMemoryDefinitionSource::ListEventHandlers() {
  RETURN_IF_ERROR(event_handlers_status_);
  std::vector<conductor::proto::EventHandler> out;
  out.reserve(event_handlers_.size());
  for (const auto& [name, h] : event_handlers_) out.push_back(h);
  return out;
}

absl::StatusOr<conductor::proto::EventHandler> InMemoryDefinitionSource::GetEventHandler(
    absl::string_view name) {
  RETURN_IF_ERROR(event_handlers_status_);
  auto it = event_handlers_.find(std::string(name));
  if (it == event_handlers_.end()) {
    return absl::NotFoundError(absl::StrCat("event handler '", name, "' not found"));
  }
  return it->second;
}

void InMemoryDefinitionSource::AddEventHandler(conductor::proto::EventHandler handler) {
  std::string name = handler.name();
  event_handlers_[std::move(name)] = std::move(handler);
}

void InMemoryDefinitionSource::RemoveEventHandler(absl::string_view name) {
  event_handlers_.erase(std::string(name));
}

absl::Status InMemoryDefinitionSource::ForEachWorkflow(
    const std::function<void(const conductor::proto::WorkflowDef&)>& fn) {
  for (const auto& [key, def] : workflows_) fn(def);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<conductor::proto::WorkflowDef>>
InMemoryDefinitionSource::ListWorkflowVersions(absl::string_view name) {
  std::vector<conductor::proto::WorkflowDef> out;
  for (auto it = workflows_.lower_bound(std::make_pair(std::string(name), INT32_MIN));
       it != workflows_.end() && it->first.first == name; ++it) {
    out.push_back(it->second);
  }
  return out;
}

void InMemoryDefinitionSource::AddWorkflowDef(conductor::proto::WorkflowDef def) {
  auto key = std::make_pair(def.name(), def.version());
  workflows_[std::move(key)] = std::move(def);
}

void InMemoryDefinitionSource::AddTaskDef(conductor::proto::TaskDef def) {
  std::string name = def.name();
  task_defs_[std::move(name)] = std::move(def);
}

void InMemoryDefinitionSource::RemoveWorkflowDef(absl::string_view name, int32_t version) {
  workflows_.erase(std::make_pair(std::string(name), version));
}

void InMemoryDefinitionSource::RemoveTaskDef(absl::string_view name) {
  task_defs_.erase(std::string(name));
}

absl::StatusOr<conductor::proto::WorkflowDef> InMemoryDefinitionSource::GetWorkflowDef(
    absl::string_view name, std::optional<int32_t> version) {
  if (version.has_value()) {
    auto it = workflows_.find(std::make_pair(std::string(name), *version));
    if (it == workflows_.end()) {
      return absl::NotFoundError(
          absl::StrCat("workflow definition '", name, "' version ", *version, " not found"));
    }
    return it->second;
  }
  // Keys sort by (name, version): the last entry with this name is the highest version.
  auto it = workflows_.upper_bound(std::make_pair(std::string(name), INT32_MAX));
  if (it == workflows_.begin() || std::prev(it)->first.first != name) {
    return absl::NotFoundError(absl::StrCat("workflow definition '", name, "' not found"));
  }
  return std::prev(it)->second;
}

absl::StatusOr<conductor::proto::TaskDef> InMemoryDefinitionSource::GetTaskDef(
    absl::string_view name) {
  auto it = task_defs_.find(std::string(name));
  if (it == task_defs_.end()) {
    return absl::NotFoundError(absl::StrCat("task definition '", name, "' not found"));
  }
  return it->second;
}

absl::StatusOr<const std::optional<conductor::proto::WorkflowDef>*>
CachedDefinitionReader::Workflow(const std::string& name, int32_t version) {
  auto key = std::make_pair(name, version);
  if (auto it = workflows_.find(key); it != workflows_.end()) return &it->second;
  auto def =
      target_.GetWorkflowDef(name, version == 0 ? std::nullopt : std::optional<int32_t>(version));
  std::optional<conductor::proto::WorkflowDef> result;
  if (def.ok()) {
    result = *std::move(def);
  } else if (!absl::IsNotFound(def.status())) {
    return absl::Status(def.status().code(),
                        absl::StrCat("reading ", DescribeWorkflow(name, version),
                                     " from the target: ", def.status().message()));
  }
  return &workflows_.emplace(key, std::move(result)).first->second;
}

absl::StatusOr<const std::optional<conductor::proto::TaskDef>*> CachedDefinitionReader::TaskDef(
    const std::string& name) {
  if (auto it = task_defs_.find(name); it != task_defs_.end()) return &it->second;
  auto def = target_.GetTaskDef(name);
  std::optional<conductor::proto::TaskDef> result;
  if (def.ok()) {
    result = *std::move(def);
  } else if (!absl::IsNotFound(def.status())) {
    return absl::Status(def.status().code(),
                        absl::StrCat("reading task definition '", name,
                                     "' from the target: ", def.status().message()));
  }
  return &task_defs_.emplace(name, std::move(result)).first->second;
}

absl::StatusOr<const std::optional<conductor::proto::EventHandler>*>
CachedDefinitionReader::EventHandler(const std::string& name) {
  if (!listed_event_handlers_.has_value()) {
    absl::StatusOr<std::vector<conductor::proto::EventHandler>> all = target_.ListEventHandlers();
    listed_event_handlers_ = all.status();
    if (all.ok()) {
      for (conductor::proto::EventHandler& h : *all) {
        std::string key = h.name();
        event_handlers_[std::move(key)] = std::move(h);
      }
    }
  }
  if (!listed_event_handlers_->ok()) {
    return absl::Status(listed_event_handlers_->code(),
                        absl::StrCat("reading event handler '", name,
                                     "' from the target: ", listed_event_handlers_->message()));
  }
  return &event_handlers_.try_emplace(name).first->second;
}

absl::StatusOr<const std::optional<v1::WorkflowSchedule>*> CachedDefinitionReader::Schedule(
    const std::string& name) {
  if (!listed_schedules_.has_value()) {
    absl::StatusOr<std::vector<v1::WorkflowSchedule>> all = target_.ListSchedules();
    listed_schedules_ = all.status();
    if (all.ok()) {
      for (v1::WorkflowSchedule& s : *all) {
        std::string key = s.name();
        schedules_[std::move(key)] = std::move(s);
      }
    }
  }
  if (!listed_schedules_->ok()) {
    return absl::Status(listed_schedules_->code(),
                        absl::StrCat("reading schedule '", name,
                                     "' from the target: ", listed_schedules_->message()));
  }
  return &schedules_.try_emplace(name).first->second;
}

}  // namespace cmig::migration
