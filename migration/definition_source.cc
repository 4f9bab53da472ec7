#include "migration/definition_source.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "migration/references.h"

namespace cmig::migration {

absl::StatusOr<std::vector<conductor::proto::WorkflowDef>> DefinitionSource::ListWorkflowVersions(
    absl::string_view name) {
  return absl::UnimplementedError(
      absl::StrCat("this definition source cannot list the versions of workflow '", name, "'"));
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

}  // namespace cmig::migration
