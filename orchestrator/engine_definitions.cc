// Workflow and task definitions in the engine (engine.h): Conductor's MetadataService semantics
// over the in-memory maps, each change written through a transaction.
#include <algorithm>
#include <functional>
#include <limits>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "definitions/definition_ranges.h"
#include "orchestrator/engine.h"
#include "orchestrator/engine_internal.h"

namespace cmig::orchestrator {

namespace {

// Adds `def` to `page` unless the page holds something already and `def` would take it past
// `max_bytes` (`bytes` so far); then marks the page as followed by more and answers false.
template <typename Def, typename Page>
bool AddWithinBudget(const Def& def, int64_t max_bytes, int64_t& bytes, Page& page) {
  const auto size = static_cast<int64_t>(def.ByteSizeLong());
  if (!page.defs.empty() && bytes + size > max_bytes) {
    page.more = true;
    return false;
  }
  bytes += size;
  page.defs.push_back(def);
  return true;
}

}  // namespace

TaskDefLookup Engine::TaskDefLookupLocked() const {
  return [this](const std::string& n) ABSL_SHARED_LOCKS_REQUIRED(mu_) { return TaskDefLocked(n); };
}

const conductor::proto::TaskDef* Engine::TaskDefLocked(const std::string& name) const {
  auto it = task_defs_.find(name);
  return it == task_defs_.end() ? nullptr : &it->second;
}

absl::Status Engine::ValidateWorkflowDef(const conductor::proto::WorkflowDef& def) {
  if (def.name().empty()) return absl::InvalidArgumentError("workflow definition has no name");
  if (def.tasks().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("workflow definition ", def.name(), ": WorkflowTask list cannot be empty"));
  }
  RETURN_IF_ERROR(CheckWorkflowDefRanges(def));
  absl::flat_hash_set<std::string> refs;
  std::function<absl::Status(const conductor::proto::WorkflowTask&)> check =
      [&](const conductor::proto::WorkflowTask& t) -> absl::Status {
    if (t.name().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("workflow definition ", def.name(), ": a task has no name"));
    }
    if (t.task_reference_name().empty()) {
      return absl::InvalidArgumentError(absl::StrCat("workflow definition ", def.name(), ": task ",
                                                     t.name(), " has no taskReferenceName"));
    }
    if (!refs.insert(t.task_reference_name()).second) {
      return absl::InvalidArgumentError(absl::StrCat("workflow definition ", def.name(),
                                                     ": taskReferenceName ",
                                                     t.task_reference_name(), " is not unique"));
    }
    for (const auto& [k, list] : t.decision_cases()) {
      for (const auto& c : list.tasks()) RETURN_IF_ERROR(check(c));
    }
    for (const auto& c : t.default_case()) RETURN_IF_ERROR(check(c));
    for (const auto& fork : t.fork_tasks()) {
      for (const auto& c : fork.tasks()) RETURN_IF_ERROR(check(c));
    }
    for (const auto& c : t.loop_over()) RETURN_IF_ERROR(check(c));
    return absl::OkStatus();
  };
  for (const auto& t : def.tasks()) RETURN_IF_ERROR(check(t));
  return absl::OkStatus();
}

namespace {

// Keeps `extra` under `key` in `extras`, or forgets what was kept when it is empty.
template <typename Map, typename Key>
void KeepExtra(Map& extras, const Key& key, const std::string& extra) {
  if (extra.empty()) {
    extras.erase(key);
  } else {
    extras[key] = extra;
  }
}

}  // namespace

void Engine::CreateWorkflowDef(conductor::proto::WorkflowDef def, Done done, std::string extra) {
  Mutate(std::move(done), [&](Txn& txn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    RETURN_IF_ERROR(ValidateWorkflowDef(def));
    auto& versions = workflow_defs_[def.name()];
    if (versions.contains(def.version())) {
      return absl::AlreadyExistsError(
          absl::StrCat("Workflow with ", def.name(), ".", def.version(), " already exists!"));
    }
    versions[def.version()] = def;
    KeepExtra(workflow_def_extras_, std::make_pair(def.name(), def.version()), extra);
    txn.batch.push_back(PutWorkflowDefOp{std::move(def), std::move(extra)});
    return absl::OkStatus();
  });
}

void Engine::UpdateWorkflowDefs(std::vector<conductor::proto::WorkflowDef> defs, Done done,
                                std::vector<std::string> extras) {
  extras.resize(defs.size());
  Mutate(std::move(done), [&](Txn& txn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    for (const auto& d : defs) RETURN_IF_ERROR(ValidateWorkflowDef(d));
    for (size_t i = 0; i < defs.size(); ++i) {
      auto& d = defs[i];
      workflow_defs_[d.name()][d.version()] = d;
      KeepExtra(workflow_def_extras_, std::make_pair(d.name(), d.version()), extras[i]);
      txn.batch.push_back(PutWorkflowDefOp{std::move(d), std::move(extras[i])});
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<conductor::proto::WorkflowDef> Engine::GetWorkflowDef(const std::string& name,
                                                                     int version) const {
  absl::MutexLock lock(&mu_);
  auto it = workflow_defs_.find(name);
  if (it != workflow_defs_.end() && !it->second.empty()) {
    if (version == 0) return it->second.rbegin()->second;
    auto vit = it->second.find(version);
    if (vit != it->second.end()) return vit->second;
  }
  return absl::NotFoundError(absl::StrCat("No such workflow found by name=", name,
                                          version ? absl::StrCat(", version=", version) : ""));
}

void Engine::CreateTaskDefs(std::vector<conductor::proto::TaskDef> defs, Done done,
                            std::vector<std::string> extras) {
  extras.resize(defs.size());
  Mutate(std::move(done), [&](Txn& txn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    for (const auto& d : defs) {
      if (d.name().empty()) return absl::InvalidArgumentError("task definition has no name");
      RETURN_IF_ERROR(CheckTaskDefRanges(d));
    }
    for (size_t i = 0; i < defs.size(); ++i) {
      auto& d = defs[i];
      task_defs_[d.name()] = d;
      KeepExtra(task_def_extras_, d.name(), extras[i]);
      txn.batch.push_back(PutTaskDefOp{std::move(d), std::move(extras[i])});
    }
    return absl::OkStatus();
  });
}

void Engine::UpdateTaskDef(conductor::proto::TaskDef def, Done done, std::string extra) {
  Mutate(std::move(done), [&](Txn& txn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    if (def.name().empty()) return absl::InvalidArgumentError("task definition has no name");
    RETURN_IF_ERROR(CheckTaskDefRanges(def));
    auto it = task_defs_.find(def.name());
    if (it == task_defs_.end()) {
      return absl::NotFoundError(absl::StrCat("No such task by name ", def.name()));
    }
    it->second = def;
    KeepExtra(task_def_extras_, def.name(), extra);
    txn.batch.push_back(PutTaskDefOp{std::move(def), std::move(extra)});
    return absl::OkStatus();
  });
}

void Engine::DeleteTaskDef(const std::string& name, Done done) {
  Mutate(std::move(done), [&](Txn& txn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    if (task_defs_.erase(name) == 0) {
      return absl::NotFoundError(absl::StrCat("No such task definition by name ", name));
    }
    task_def_extras_.erase(name);
    txn.batch.push_back(DeleteTaskDefOp{name});
    return absl::OkStatus();
  });
}

void Engine::DeleteWorkflowDef(const std::string& name, int version, Done done) {
  Mutate(std::move(done), [&](Txn& txn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    auto it = workflow_defs_.find(name);
    if (it == workflow_defs_.end() || it->second.erase(version) == 0) {
      return absl::NotFoundError(
          absl::StrCat("No such workflow definition ", name, " version ", version));
    }
    if (it->second.empty()) workflow_defs_.erase(it);
    workflow_def_extras_.erase(std::make_pair(name, version));
    txn.batch.push_back(DeleteWorkflowDefOp{name, version});
    return absl::OkStatus();
  });
}

absl::StatusOr<conductor::proto::TaskDef> Engine::GetTaskDef(const std::string& name) const {
  absl::MutexLock lock(&mu_);
  auto it = task_defs_.find(name);
  if (it == task_defs_.end()) {
    return absl::NotFoundError(absl::StrCat("No such TaskDef found by taskType=", name));
  }
  return it->second;
}

std::vector<conductor::proto::WorkflowDef> Engine::ListWorkflowDefs(const std::string& name,
                                                                    bool all_versions) const {
  return ListWorkflowDefsPage(name, all_versions, std::nullopt, std::numeric_limits<int64_t>::max())
      .defs;
}

Engine::WorkflowDefPage Engine::ListWorkflowDefsPage(
    const std::string& name, bool all_versions,
    const std::optional<std::pair<std::string, int>>& after, int64_t max_bytes) const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> names;
  for (const auto& [n, v] : workflow_defs_) {
    if ((name.empty() || n == name) && !v.empty() && (!after || n >= after->first)) {
      names.push_back(n);
    }
  }
  std::sort(names.begin(), names.end());
  WorkflowDefPage page;
  int64_t bytes = 0;
  for (const std::string& n : names) {
    const auto& versions = workflow_defs_.at(n);
    std::vector<const conductor::proto::WorkflowDef*> chosen;
    if (all_versions) {
      for (const auto& [v, d] : versions) chosen.push_back(&d);
    } else {
      chosen.push_back(&versions.rbegin()->second);
    }
    for (const conductor::proto::WorkflowDef* d : chosen) {
      if (after && std::make_pair(d->name(), d->version()) <= *after) continue;
      if (!AddWithinBudget(*d, max_bytes, bytes, page)) return page;
    }
  }
  return page;
}

std::string Engine::WorkflowDefExtra(const std::string& name, int version) const {
  absl::MutexLock lock(&mu_);
  auto it = workflow_def_extras_.find(std::make_pair(name, version));
  return it == workflow_def_extras_.end() ? std::string() : it->second;
}

std::string Engine::TaskDefExtra(const std::string& name) const {
  absl::MutexLock lock(&mu_);
  auto it = task_def_extras_.find(name);
  return it == task_def_extras_.end() ? std::string() : it->second;
}

namespace {

// Conductor's checks of an event handler (its @NotEmpty constraints), worded as it words them.
absl::Status ValidateEventHandler(const conductor::proto::EventHandler& h) {
  if (h.name().empty()) return absl::InvalidArgumentError("Missing event handler name");
  if (h.event().empty()) return absl::InvalidArgumentError("Missing event location");
  if (h.actions().empty()) {
    return absl::InvalidArgumentError("No actions specified. Please specify at-least one action");
  }
  return absl::OkStatus();
}

}  // namespace

void Engine::AddEventHandler(conductor::proto::EventHandler handler, Done done, std::string extra) {
  Mutate(std::move(done), [&](Txn& txn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    RETURN_IF_ERROR(ValidateEventHandler(handler));
    if (event_handlers_.contains(handler.name())) {
      return absl::AlreadyExistsError(
          absl::StrCat("EventHandler with name ", handler.name(), " already exists!"));
    }
    event_handlers_[handler.name()] = handler;
    KeepExtra(event_handler_extras_, handler.name(), extra);
    txn.batch.push_back(PutEventHandlerOp{std::move(handler), std::move(extra)});
    return absl::OkStatus();
  });
}

void Engine::UpdateEventHandler(conductor::proto::EventHandler handler, Done done,
                                std::string extra) {
  Mutate(std::move(done), [&](Txn& txn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    RETURN_IF_ERROR(ValidateEventHandler(handler));
    auto it = event_handlers_.find(handler.name());
    if (it == event_handlers_.end()) {
      return absl::NotFoundError(
          absl::StrCat("EventHandler with name ", handler.name(), " not found!"));
    }
    it->second = handler;
    KeepExtra(event_handler_extras_, handler.name(), extra);
    txn.batch.push_back(PutEventHandlerOp{std::move(handler), std::move(extra)});
    return absl::OkStatus();
  });
}

void Engine::RemoveEventHandler(const std::string& name, Done done) {
  Mutate(std::move(done), [&](Txn& txn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    if (event_handlers_.erase(name) == 0) {
      return absl::NotFoundError(absl::StrCat("EventHandler with name ", name, " not found!"));
    }
    event_handler_extras_.erase(name);
    txn.batch.push_back(DeleteEventHandlerOp{name});
    return absl::OkStatus();
  });
}

std::vector<conductor::proto::EventHandler> Engine::ListEventHandlers() const {
  absl::MutexLock lock(&mu_);
  std::vector<conductor::proto::EventHandler> out;
  out.reserve(event_handlers_.size());
  for (const auto& [name, h] : event_handlers_) out.push_back(h);
  return out;
}

std::vector<conductor::proto::EventHandler> Engine::EventHandlersForEvent(const std::string& event,
                                                                          bool active_only) const {
  absl::MutexLock lock(&mu_);
  std::vector<conductor::proto::EventHandler> out;
  for (const auto& [name, h] : event_handlers_) {
    if (h.event() == event && (!active_only || h.active())) out.push_back(h);
  }
  return out;
}

std::string Engine::EventHandlerExtra(const std::string& name) const {
  absl::MutexLock lock(&mu_);
  auto it = event_handler_extras_.find(name);
  return it == event_handler_extras_.end() ? std::string() : it->second;
}

std::vector<conductor::proto::TaskDef> Engine::ListTaskDefs() const {
  return ListTaskDefsPage(std::nullopt, std::numeric_limits<int64_t>::max()).defs;
}

Engine::TaskDefPage Engine::ListTaskDefsPage(const std::optional<std::string>& after,
                                             int64_t max_bytes) const {
  absl::MutexLock lock(&mu_);
  std::vector<const conductor::proto::TaskDef*> sorted;
  for (const auto& [n, d] : task_defs_) {
    if (!after || n > *after) sorted.push_back(&d);
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const auto* a, const auto* b) { return a->name() < b->name(); });
  TaskDefPage page;
  int64_t bytes = 0;
  for (const conductor::proto::TaskDef* d : sorted) {
    if (!AddWithinBudget(*d, max_bytes, bytes, page)) return page;
  }
  return page;
}

}  // namespace cmig::orchestrator
