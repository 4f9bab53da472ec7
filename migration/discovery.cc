#include "migration/discovery.h"

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "migration/references.h"

namespace cmig::migration {
namespace {

namespace cp = conductor::proto;

// Schedule referrers sort after event handler ones, which sort after workflow ones.
using ReferrerKey =
    std::tuple<std::string, std::string, std::string, int32_t, std::string, std::string>;

ReferrerKey KeyOf(const v1::Referrer& r) {
  return {r.schedule(),         r.event_handler(),       r.workflow_name(),
          r.workflow_version(), r.task_reference_name(), r.field()};
}

v1::Referrer FromKey(const ReferrerKey& k) {
  v1::Referrer r;
  r.set_schedule(std::get<0>(k));
  r.set_event_handler(std::get<1>(k));
  r.set_workflow_name(std::get<2>(k));
  r.set_workflow_version(std::get<3>(k));
  r.set_task_reference_name(std::get<4>(k));
  r.set_field(std::get<5>(k));
  return r;
}

// The entries of `map` ordered by key: discovery keeps hash maps while it works (an estate can
// hold tens of thousands of definitions) and orders its results once, at the end.
template <typename Map>
std::vector<typename Map::value_type*> ByKey(Map& map) {
  std::vector<typename Map::value_type*> entries;
  entries.reserve(map.size());
  for (auto& entry : map) entries.push_back(&entry);
  std::sort(entries.begin(), entries.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  return entries;
}

struct PendingWorkflow {
  std::string name;
  int32_t version;  // 0 = latest
  bool requested;
  std::string from;
  std::optional<v1::Referrer> referrer;
};

class Discoverer {
 public:
  Discoverer(DefinitionSource& source, const DiscoveryOptions& options)
      : source_(source), options_(options) {}

  absl::StatusOr<Discovery> Run(const v1::Selection& selection) {
    if (selection.workflows().empty() && selection.task_defs().empty() &&
        selection.event_handlers().empty() && selection.schedules().empty()) {
      return absl::InvalidArgumentError(
          "the selection names no workflow, task definition, event handler or schedule");
    }
    std::vector<std::string> invalid;
    for (int i = 0; i < selection.workflows_size(); ++i) {
      const v1::WorkflowSelector& w = selection.workflows(i);
      if (w.name().empty()) {
        invalid.push_back(absl::StrCat("workflows[", i, "] has no name"));
      }
      if (w.version() < 0) {
        invalid.push_back(absl::StrCat("workflows[", i, "] ('", w.name(), "') has version ",
                                       w.version(), "; use 0 for the latest"));
      }
      queue_.push_back({w.name(), w.version(), true, "", std::nullopt});
    }
    for (int i = 0; i < selection.task_defs_size(); ++i) {
      if (selection.task_defs(i).empty()) {
        invalid.push_back(absl::StrCat("task_defs[", i, "] is empty"));
      }
    }
    for (int i = 0; i < selection.event_handlers_size(); ++i) {
      if (selection.event_handlers(i).empty()) {
        invalid.push_back(absl::StrCat("event_handlers[", i, "] is empty"));
      }
    }
    for (int i = 0; i < selection.schedules_size(); ++i) {
      if (selection.schedules(i).empty()) {
        invalid.push_back(absl::StrCat("schedules[", i, "] is empty"));
      }
    }
    if (!invalid.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid selection: ", absl::StrJoin(invalid, "; ")));
    }

    for (const std::string& name : selection.task_defs()) {
      ASSIGN_OR_RETURN(const std::optional<cp::TaskDef>* def, FetchTaskDef(name));
      if (!def->has_value()) {
        missing_requested_.push_back(absl::StrCat("task definition '", name, "'"));
        continue;
      }
      auto& entry = task_defs_[name];
      entry.def = **def;
      entry.requested = true;
      entry.discovered_from.clear();
    }

    if (!selection.event_handlers().empty()) {
      ASSIGN_OR_RETURN(const HandlerIndex* handlers, Handlers());
      if (handlers == nullptr) {
        return absl::FailedPreconditionError(
            absl::StrCat("the selection names event handlers, but the source has no event handler "
                         "API: ",
                         handlers_status_.message()));
      }
      for (const std::string& name : selection.event_handlers()) {
        auto it = handlers->by_name.find(name);
        if (it == handlers->by_name.end()) {
          missing_requested_.push_back(absl::StrCat("event handler '", name, "'"));
          continue;
        }
        AddHandler(it->second, true, "");
      }
    }

    if (!selection.schedules().empty()) {
      ASSIGN_OR_RETURN(const ScheduleIndex* schedules, Schedules());
      if (schedules == nullptr) {
        return absl::FailedPreconditionError(
            absl::StrCat("the selection names schedules, but the source's schedules cannot be "
                         "read: ",
                         schedules_status_.message()));
      }
      for (const std::string& name : selection.schedules()) {
        auto it = schedules->by_name.find(name);
        if (it == schedules->by_name.end()) {
          missing_requested_.push_back(absl::StrCat("schedule '", name, "'"));
          continue;
        }
        AddSchedule(it->second, true, "");
      }
    }

    while (!queue_.empty()) {
      PendingWorkflow p = std::move(queue_.front());
      queue_.pop_front();
      RETURN_IF_ERROR(Visit(p));
    }

    if (!missing_requested_.empty()) {
      std::sort(missing_requested_.begin(), missing_requested_.end());
      return absl::NotFoundError(absl::StrCat("selected definitions not found in the source: ",
                                              absl::StrJoin(missing_requested_, ", ")));
    }
    return Finish();
  }

 private:
  // Resolves and fetches a workflow; nullopt when the source does not hold it.
  absl::StatusOr<std::optional<cp::WorkflowDef>> FetchWorkflow(const std::string& name,
                                                               int32_t version) {
    std::optional<int32_t> v;
    if (version != 0) {
      v = version;
    }
    auto def = source_.GetWorkflowDef(name, v);
    if (absl::IsNotFound(def.status())) {
      return std::optional<cp::WorkflowDef>();
    }
    if (!def.ok()) {
      return absl::Status(def.status().code(),
                          absl::StrCat("fetching ", DescribeWorkflow(name, version),
                                       " from the source: ", def.status().message()));
    }
    return std::optional<cp::WorkflowDef>(*std::move(def));
  }

  // The task definition called `name` (nullopt when the source does not hold it), read from the
  // source once; the pointer stays valid for the discovery's lifetime.
  absl::StatusOr<const std::optional<cp::TaskDef>*> FetchTaskDef(const std::string& name) {
    auto cached = task_def_cache_.find(name);
    if (cached != task_def_cache_.end()) {
      return &cached->second;
    }
    auto def = source_.GetTaskDef(name);
    std::optional<cp::TaskDef> result;
    if (def.ok()) {
      result = *std::move(def);
    } else if (!absl::IsNotFound(def.status())) {
      return absl::Status(def.status().code(),
                          absl::StrCat("fetching task definition '", name,
                                       "' from the source: ", def.status().message()));
    }
    return &task_def_cache_.emplace(name, std::move(result)).first->second;
  }

  struct HandlerIndex {
    std::map<std::string, cp::EventHandler> by_name;
    std::map<std::string, std::vector<std::string>> by_event;  // event -> handler names
  };

  // The source's event handlers, listed once; nullptr when the source has none to offer
  // (Unimplemented: handlers_status_ says why).
  absl::StatusOr<const HandlerIndex*> Handlers() {
    if (!handlers_.has_value()) {
      absl::StatusOr<std::vector<cp::EventHandler>> all = source_.ListEventHandlers();
      if (absl::IsUnimplemented(all.status())) {
        handlers_status_ = all.status();
        handlers_.emplace();
        return static_cast<const HandlerIndex*>(nullptr);
      }
      if (!all.ok()) {
        return absl::Status(
            all.status().code(),
            absl::StrCat("listing the event handlers of the source: ", all.status().message()));
      }
      handlers_.emplace();
      for (cp::EventHandler& h : *all) {
        handlers_->by_event[h.event()].push_back(h.name());
        std::string name = h.name();
        handlers_->by_name[std::move(name)] = std::move(h);
      }
    }
    if (!handlers_status_.ok()) return static_cast<const HandlerIndex*>(nullptr);
    return &*handlers_;
  }

  struct ScheduleIndex {
    std::map<std::string, v1::WorkflowSchedule> by_name;
    std::map<std::string, std::vector<std::string>> by_workflow;  // started workflow -> names
  };

  // The source's schedules, listed once; nullptr when the source has none to offer
  // (Unimplemented, or PermissionDenied for a key that may not read them: schedules_status_ says
  // why).
  absl::StatusOr<const ScheduleIndex*> Schedules() {
    if (!schedules_.has_value()) {
      absl::StatusOr<std::vector<v1::WorkflowSchedule>> all = source_.ListSchedules();
      if (absl::IsUnimplemented(all.status()) || absl::IsPermissionDenied(all.status())) {
        schedules_status_ = all.status();
        schedules_.emplace();
        return static_cast<const ScheduleIndex*>(nullptr);
      }
      if (!all.ok()) {
        return absl::Status(
            all.status().code(),
            absl::StrCat("listing the schedules of the source: ", all.status().message()));
      }
      schedules_.emplace();
      for (v1::WorkflowSchedule& s : *all) {
        schedules_->by_workflow[s.start_workflow_request().name()].push_back(s.name());
        std::string name = s.name();
        schedules_->by_name[std::move(name)] = std::move(s);
      }
    }
    if (!schedules_status_.ok()) return static_cast<const ScheduleIndex*>(nullptr);
    return &*schedules_;
  }

  // Takes `schedule` into the migration (once) and, when following references, the workflow it
  // starts.
  void AddSchedule(const v1::WorkflowSchedule& schedule, bool requested, const std::string& from) {
    auto [it, inserted] = schedules_found_.try_emplace(schedule.name());
    if (!inserted) {
      if (requested && !it->second.requested) {
        it->second.requested = true;
        it->second.discovered_from.clear();
      }
      return;
    }
    it->second.def = schedule;
    it->second.requested = requested;
    it->second.discovered_from = requested ? "" : from;
    WorkflowReferences refs = ScanSchedule(schedule);
    Record(refs);
    if (!options_.follow_references) return;
    const std::string self = absl::StrCat("schedule:", schedule.name());
    for (const WorkflowReference& w : refs.workflows) {
      queue_.push_back({w.name, w.version, false, self, w.referrer});
    }
  }

  // Takes `handler` into the migration (once) and, when following references, the workflows
  // its actions start.
  void AddHandler(const cp::EventHandler& handler, bool requested, const std::string& from) {
    auto [it, inserted] = event_handlers_.try_emplace(handler.name());
    if (!inserted) {
      if (requested && !it->second.requested) {
        it->second.requested = true;
        it->second.discovered_from.clear();
      }
      return;
    }
    it->second.def = handler;
    it->second.requested = requested;
    it->second.discovered_from = requested ? "" : from;
    WorkflowReferences refs = ScanEventHandler(handler);
    Record(refs);
    if (!options_.follow_references) return;
    const std::string self = absl::StrCat("event_handler:", handler.name());
    for (const WorkflowReference& w : refs.workflows) {
      queue_.push_back({w.name, w.version, false, self, w.referrer});
    }
  }

  void Record(WorkflowReferences& refs) {
    for (const DependencyRecord& d : refs.dependencies) {
      dependencies_[{d.kind, d.name}].push_back(KeyOf(d.referrer));
    }
    for (v1::UnresolvedReference& u : refs.unresolved) {
      unresolved_.push_back(std::move(u));
    }
  }

  absl::Status Visit(const PendingWorkflow& p) {
    int32_t version = p.version;
    if (version == 0) {
      // Latest: resolve once per name.
      auto it = latest_.find(p.name);
      if (it == latest_.end()) {
        auto def = FetchWorkflow(p.name, 0);
        if (!def.ok()) {
          return def.status();
        }
        int32_t resolved = def->has_value() ? (*def)->version() : -1;
        it = latest_.emplace(p.name, resolved).first;
        if (def->has_value() && !workflows_.count({p.name, resolved})) {
          fetched_[{p.name, resolved}] = **def;
        }
      }
      version = it->second;
      if (version < 0) {
        return Missing(p);
      }
    }
    auto key = std::make_pair(p.name, version);
    auto existing = workflows_.find(key);
    if (existing != workflows_.end()) {
      if (p.requested && !existing->second.requested) {
        existing->second.requested = true;
        existing->second.discovered_from.clear();
      }
      return absl::OkStatus();
    }
    cp::WorkflowDef def;
    if (auto f = fetched_.find(key); f != fetched_.end()) {
      def = std::move(f->second);
      fetched_.erase(f);
    } else {
      auto fetched = FetchWorkflow(p.name, version);
      if (!fetched.ok()) {
        return fetched.status();
      }
      if (!fetched->has_value()) {
        return Missing(p);
      }
      def = **std::move(fetched);
    }

    WorkflowReferences refs = ScanWorkflow(def);
    std::string self = absl::StrCat("workflow:", def.name(), ":", def.version());
    DiscoveredWorkflow& entry = workflows_[key];
    entry.def = std::move(def);
    entry.requested = p.requested;
    entry.discovered_from = p.requested ? "" : p.from;

    Record(refs);
    if (!options_.follow_references) {
      return absl::OkStatus();
    }
    // Handlers listening on the events this workflow publishes on Conductor's own queue.
    if (!refs.events.empty()) {
      ASSIGN_OR_RETURN(const HandlerIndex* handlers, Handlers());
      for (const EventReference& e : refs.events) {
        if (handlers == nullptr) break;
        auto listening = handlers->by_event.find(e.event);
        if (listening == handlers->by_event.end()) continue;
        for (const std::string& name : listening->second) {
          AddHandler(handlers->by_name.at(name), false, self);
        }
      }
    }

    // Schedules that start this workflow (its version, or the latest).
    ASSIGN_OR_RETURN(const ScheduleIndex* schedules, Schedules());
    if (schedules != nullptr) {
      if (auto starting = schedules->by_workflow.find(key.first);
          starting != schedules->by_workflow.end()) {
        for (const std::string& name : starting->second) {
          const v1::WorkflowSchedule& s = schedules->by_name.at(name);
          const int32_t v = s.start_workflow_request().version();
          if (v == 0 || v == key.second) AddSchedule(s, false, self);
        }
      }
    }

    for (const WorkflowReference& w : refs.workflows) {
      queue_.push_back({w.name, w.version, false, self, w.referrer});
    }
    for (const TaskDefReference& t : refs.task_defs) {
      ASSIGN_OR_RETURN(const std::optional<cp::TaskDef>* task_def, FetchTaskDef(t.name));
      if (!task_def->has_value()) {
        if (!t.required) continue;
        if (!options_.require_task_definitions) {
          // As Conductor: the task runs with a default task definition.
          dependencies_[{v1::DEPENDENCY_KIND_DEFAULT_TASK_DEFINITION, t.name}].push_back(
              KeyOf(t.referrer));
        } else {
          v1::UnresolvedReference u;
          u.set_kind(v1::UNRESOLVED_KIND_MISSING_DEFINITION);
          u.set_target_kind(v1::ITEM_KIND_TASK_DEF);
          u.set_name(t.name);
          *u.mutable_referenced_by() = t.referrer;
          u.set_detail(absl::StrCat("task definition '", t.name,
                                    "' does not exist in the source; the target must provide it"));
          unresolved_.push_back(std::move(u));
        }
        continue;
      }
      auto [it, inserted] = task_defs_.try_emplace(t.name);
      if (inserted) {
        it->second.def = **task_def;
        it->second.discovered_from = self;
      }
    }
    return absl::OkStatus();
  }

  absl::Status Missing(const PendingWorkflow& p) {
    if (p.requested) {
      missing_requested_.push_back(DescribeWorkflow(p.name, p.version));
      return absl::OkStatus();
    }
    v1::UnresolvedReference u;
    u.set_kind(v1::UNRESOLVED_KIND_MISSING_DEFINITION);
    u.set_target_kind(v1::ITEM_KIND_WORKFLOW_DEF);
    u.set_name(p.name);
    u.set_version(p.version);
    if (p.referrer.has_value()) {
      *u.mutable_referenced_by() = *p.referrer;
    }
    u.set_detail(absl::StrCat(DescribeWorkflow(p.name, p.version),
                              " does not exist in the source; the target must provide it"));
    unresolved_.push_back(std::move(u));
    return absl::OkStatus();
  }

  Discovery Finish() {
    Discovery d;
    d.workflows.reserve(workflows_.size());
    for (auto* entry : ByKey(workflows_)) d.workflows.push_back(std::move(entry->second));
    d.task_defs.reserve(task_defs_.size());
    for (auto* entry : ByKey(task_defs_)) d.task_defs.push_back(std::move(entry->second));
    for (auto& [name, h] : event_handlers_) {
      d.event_handlers.push_back(std::move(h));
    }
    for (auto& [name, s] : schedules_found_) {
      d.schedules.push_back(std::move(s));
    }
    for (auto* entry : ByKey(dependencies_)) {
      auto& [key, referrers] = *entry;
      std::sort(referrers.begin(), referrers.end());
      referrers.erase(std::unique(referrers.begin(), referrers.end()), referrers.end());
      v1::Dependency* dep = d.report.add_dependencies();
      dep->set_kind(key.first);
      dep->set_name(key.second);
      for (const ReferrerKey& r : referrers) {
        *dep->add_referenced_by() = FromKey(r);
      }
    }
    auto order = [](const v1::UnresolvedReference& u) {
      return std::make_tuple(KeyOf(u.referenced_by()), static_cast<int>(u.kind()), u.name(),
                             u.version());
    };
    std::sort(unresolved_.begin(), unresolved_.end(),
              [&](const auto& a, const auto& b) { return order(a) < order(b); });
    // The same unresolved reference reached twice (say through two versions' identical
    // references) is listed once.
    unresolved_.erase(std::unique(unresolved_.begin(), unresolved_.end(),
                                  [&](const auto& a, const auto& b) {
                                    return order(a) == order(b) && a.detail() == b.detail();
                                  }),
                      unresolved_.end());
    for (auto& u : unresolved_) {
      *d.report.add_unresolved() = std::move(u);
    }
    return d;
  }

  DefinitionSource& source_;
  const DiscoveryOptions options_;
  std::deque<PendingWorkflow> queue_;
  absl::node_hash_map<std::pair<std::string, int32_t>, DiscoveredWorkflow> workflows_;
  absl::node_hash_map<std::pair<std::string, int32_t>, cp::WorkflowDef> fetched_;
  absl::node_hash_map<std::string, DiscoveredTaskDef> task_defs_;
  std::map<std::string, DiscoveredEventHandler> event_handlers_;
  std::optional<HandlerIndex> handlers_;
  absl::Status handlers_status_;
  std::map<std::string, DiscoveredSchedule> schedules_found_;
  std::optional<ScheduleIndex> schedules_;
  absl::Status schedules_status_;
  absl::node_hash_map<std::string, std::optional<cp::TaskDef>> task_def_cache_;
  absl::flat_hash_map<std::string, int32_t> latest_;  // -1: not found
  // Referrers in the order found, repeats included; sorted and made unique at the end.
  absl::flat_hash_map<std::pair<v1::DependencyKind, std::string>, std::vector<ReferrerKey>>
      dependencies_;
  std::vector<v1::UnresolvedReference> unresolved_;
  std::vector<std::string> missing_requested_;
};

}  // namespace

absl::StatusOr<Discovery> Discover(const v1::Selection& selection, DefinitionSource& source,
                                   const DiscoveryOptions& options) {
  return Discoverer(source, options).Run(selection);
}

}  // namespace cmig::migration
