#include "migration/plan.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "definitions/canonical.h"
#include "definitions/conductor_json.h"
#include "migration/apply_order.h"
#include "migration/package.h"
#include "migration/plan_internal.h"
#include "migration/references.h"

namespace cmig::migration {
namespace {

namespace cp = conductor::proto;

std::string HashOf(const cp::WorkflowDef& def) { return Sha256Hex(CanonicalJson(def)); }
std::string HashOf(const cp::TaskDef& def) { return Sha256Hex(CanonicalJson(def)); }
// What the plan compares with the target, and verification later with what it reads: the hash of
// the item's proto JSON. Keys beyond the proto (PackageItem.extra_json) travel with the item but
// are not compared: the target is read as protos.
std::string ComparedHash(const v1::PackageItem& item) {
  return item.extra_json().empty() ? item.sha256() : Sha256Hex(item.canonical_json());
}

// A workflow item while it is being planned.
struct WorkflowPlan {
  v1::PlannedItem item;
  cp::WorkflowDef planned;  // what would be written, version = target version
  // True when `planned` is the package item itself (no reference or version changed): its JSON
  // and hash are the item's, which saves re-serialising ten thousand definitions.
  bool as_packaged = false;
};

class Planner {
 public:
  Planner(const v1::MigrationPackage& package, const PackageContents& contents,
          DefinitionSource& target, const std::set<std::string>& missing_secrets = {})
      : package_(package), contents_(contents), target_(target), missing_secrets_(missing_secrets) {
    conflict_ = package.options().conflict_strategy();
    if (conflict_ == v1::CONFLICT_STRATEGY_UNSPECIFIED) {
      conflict_ = v1::CONFLICT_STRATEGY_FAIL;
    }
    new_version_ = package.options().version_strategy() == v1::VERSION_STRATEGY_NEW_VERSION;
  }

  absl::StatusOr<v1::MigrationPlan> Run() {
    v1::MigrationPlan plan;
    plan.set_package_digest(package_.digest());
    *plan.mutable_options() = package_.options();

    for (size_t i = 0; i < contents_.task_defs.size(); ++i) {
      RETURN_IF_ERROR(PlanTaskDef(i, plan.add_items()));
      package_task_defs_.insert(contents_.task_defs[i].name());
    }
    if (!package_.options().require_task_definitions()) {
      default_task_defs_ = DefaultTaskDefinitionNames(package_.dependencies().dependencies());
    }

    workflows_.resize(contents_.workflows.size());
    for (const cp::WorkflowDef& w : contents_.workflows) {
      package_workflow_names_.insert(w.name());
      WarnIfItStartsItself(w);
    }
    WorkflowComponents comps = ComponentsInApplyOrder(contents_.workflows);
    for (size_t c = 0; c < comps.components.size(); ++c) {
      const std::vector<int>& members = comps.components[c];
      if (!new_version_) {
        for (int m : members) {
          RETURN_IF_ERROR(PlanPreserve(m));
        }
      } else if (!comps.cyclic[c]) {
        RETURN_IF_ERROR(PlanNewVersion(members[0]));
      } else {
        RETURN_IF_ERROR(PlanNewVersionCycle(members));
      }
    }
    for (const WorkflowPlan& w : workflows_) {
      planned_keys_.insert({w.item.name(), w.item.target_version()});
    }

    std::vector<int> order;
    for (const auto& c : comps.components) {
      order.insert(order.end(), c.begin(), c.end());
    }
    for (int i : order) {
      RETURN_IF_ERROR(Preflight(&workflows_[i]));
    }
    if (new_version_) WarnOfOlderPins();
    HandlerPlanInput handlers;
    handlers.package = &package_;
    handlers.contents = &contents_;
    handlers.target = &target_reader_;
    handlers.conflict = conflict_;
    for (const WorkflowPlan& w : workflows_) {
      handlers.workflow_versions[{w.item.name(), w.item.source_version()}] =
          w.item.target_version();
    }
    handlers.planned_keys = planned_keys_;
    handlers.package_workflow_names = package_workflow_names_;
    handlers.missing_secrets = &missing_secrets_;
    ASSIGN_OR_RETURN(handlers_, PlanEventHandlers(handlers));
    ASSIGN_OR_RETURN(schedules_, PlanSchedules(handlers));
    if (package_.options().on_blocked() == v1::ON_BLOCKED_SKIP) {
      LeaveOutWhatIsBlocked(plan);
    }

    // Event handlers and schedules last: after the workflows they start.
    for (int i : order) {
      *plan.add_items() = std::move(workflows_[i].item);
    }
    for (v1::PlannedItem& h : handlers_) *plan.add_items() = std::move(h);
    for (v1::PlannedItem& s : schedules_) *plan.add_items() = std::move(s);
    for (const v1::PlannedItem& item : plan.items()) {
      if (item.action() == v1::ITEM_ACTION_CONFLICT || item.action() == v1::ITEM_ACTION_BLOCKED) {
        plan.set_blocked(true);
        for (const std::string& r : item.reasons()) {
          plan.add_blocking_problems(r);
        }
      }
      if (item.kind() == v1::ITEM_KIND_WORKFLOW_DEF && item.action() != v1::ITEM_ACTION_LEFT_OUT) {
        mapping_sorted_[{item.name(), item.source_version()}] = item.target_version();
      }
    }
    for (const auto& [key, tv] : mapping_sorted_) {
      v1::VersionMapping* m = plan.add_version_mapping();
      m->set_name(key.first);
      m->set_source_version(key.second);
      m->set_target_version(tv);
    }
    *plan.mutable_counts() = CountItems(plan);
    *plan.mutable_manual_dependencies() = package_.dependencies().dependencies();
    *plan.mutable_unresolved() = package_.dependencies().unresolved();
    if (package_.dependencies().unresolved_size() > 0) {
      warnings_.insert(warnings_.begin(),
                       absl::StrCat(package_.dependencies().unresolved_size(),
                                    " reference(s) could not be resolved statically; the target "
                                    "must provide what they name (see unresolved)"));
    }
    for (std::string& w : warnings_) {
      plan.add_warnings(std::move(w));
    }
    return plan;
  }

  // Under on-blocked skip: every CONFLICT or BLOCKED item, every workflow that depends on one
  // (at any depth), and every item that only those needed become LEFT_OUT, each with the reason.
  // What remains is a plan that applies on its own. Task definition items are the first ones in
  // `plan`; workflow items are still in workflows_, event handler items in handlers_ and schedule
  // items in schedules_. A workflow depends on the handlers listening on the events it publishes,
  // a handler on the workflows it starts, and a schedule on the workflow it starts; a schedule
  // stays when its workflow does.
  void LeaveOutWhatIsBlocked(v1::MigrationPlan& plan) {
    const int task_defs = static_cast<int>(contents_.task_defs.size());
    const int first_handler = task_defs + static_cast<int>(workflows_.size());
    const int first_schedule = first_handler + static_cast<int>(handlers_.size());
    const int total = first_schedule + static_cast<int>(schedules_.size());
    auto item_of = [&](int node) -> v1::PlannedItem& {
      if (node < task_defs) return *plan.mutable_items(node);
      if (node < first_handler) return workflows_[node - task_defs].item;
      if (node < first_schedule) return handlers_[node - first_handler];
      return schedules_[node - first_schedule];
    };
    // Dependencies within the package, from each workflow's own references.
    std::map<std::string, int> task_def_node;
    for (int i = 0; i < task_defs; ++i) task_def_node[contents_.task_defs[i].name()] = i;
    std::map<WorkflowKey, int> workflow_node;
    std::map<std::string, int> latest_node;
    for (size_t j = 0; j < contents_.workflows.size(); ++j) {
      const cp::WorkflowDef& w = contents_.workflows[j];
      const int node = task_defs + static_cast<int>(j);
      workflow_node[{w.name(), w.version()}] = node;
      auto [it, inserted] = latest_node.try_emplace(w.name(), node);
      if (!inserted && contents_.workflows[it->second - task_defs].version() < w.version()) {
        it->second = node;
      }
    }
    std::map<std::string, std::vector<int>> handlers_on;  // event -> handler nodes
    for (size_t h = 0; h < contents_.event_handlers.size(); ++h) {
      handlers_on[contents_.event_handlers[h].event()].push_back(first_handler +
                                                                 static_cast<int>(h));
    }
    std::vector<std::vector<int>> needs(total);
    std::vector<std::vector<int>> needed_by(total);
    const int scanned =
        static_cast<int>(contents_.workflows.size() + handlers_.size() + schedules_.size());
    for (int j = 0; j < scanned; ++j) {
      const int node = task_defs + j;
      WorkflowReferences refs =
          node >= first_schedule  ? ScanSchedule(contents_.schedules[node - first_schedule])
          : node >= first_handler ? ScanEventHandler(contents_.event_handlers[node - first_handler])
                                  : ScanWorkflow(contents_.workflows[j]);
      std::set<int> deps;
      for (const EventReference& e : refs.events) {
        if (auto it = handlers_on.find(e.event); it != handlers_on.end()) {
          deps.insert(it->second.begin(), it->second.end());
        }
      }
      for (const TaskDefReference& t : refs.task_defs) {
        if (auto it = task_def_node.find(t.name); it != task_def_node.end()) {
          deps.insert(it->second);
        }
      }
      for (const WorkflowReference& r : refs.workflows) {
        if (r.version != 0) {
          auto it = workflow_node.find({r.name, r.version});
          if (it != workflow_node.end()) deps.insert(it->second);
        } else if (auto it = latest_node.find(r.name); it != latest_node.end()) {
          deps.insert(it->second);
        }
      }
      deps.erase(node);
      for (int d : deps) {
        needs[node].push_back(d);
        needed_by[d].push_back(node);
      }
    }

    std::vector<bool> left(total, false);
    std::vector<int> queue;
    for (int n = 0; n < total; ++n) {
      v1::PlannedItem& item = item_of(n);
      if (item.action() != v1::ITEM_ACTION_CONFLICT && item.action() != v1::ITEM_ACTION_BLOCKED) {
        continue;
      }
      const bool conflict = item.action() == v1::ITEM_ACTION_CONFLICT;
      LeaveOut(item, conflict ? "it conflicts with the target's definition"
                              : "a definition it needs is missing");
      left[n] = true;
      queue.push_back(n);
    }
    if (queue.empty()) return;
    // Upwards: whatever depends on a left-out item cannot be applied either.
    for (size_t q = 0; q < queue.size(); ++q) {
      const int n = queue[q];
      const v1::PlannedItem& cause = item_of(n);
      for (int parent : needed_by[n]) {
        if (left[parent]) continue;
        left[parent] = true;
        LeaveOut(item_of(parent),
                 absl::StrCat("it depends on ",
                              DescribeItem(cause.kind(), cause.name(), cause.source_version()),
                              ", which is left out"));
        queue.push_back(parent);
      }
    }
    // Downwards from what was requested and stays: anything not reached was only needed by
    // workflows that are left out.
    std::vector<bool> kept(total, false);
    std::vector<int> stack;
    for (int n = 0; n < total; ++n) {
      const int package_item = n < task_defs       ? contents_.task_def_items[n]
                               : n < first_handler ? contents_.workflow_items[n - task_defs]
                               : n < first_schedule
                                   ? contents_.event_handler_items[n - first_handler]
                                   : contents_.schedule_items[n - first_schedule];
      const bool requested = package_item < package_.manifest().entries_size() &&
                             package_.manifest().entries(package_item).requested();
      if (requested && !left[n]) {
        kept[n] = true;
        stack.push_back(n);
      }
    }
    while (!stack.empty()) {
      const int n = stack.back();
      stack.pop_back();
      for (int d : needs[n]) {
        if (kept[d] || left[d]) continue;
        kept[d] = true;
        stack.push_back(d);
      }
    }
    // A schedule found through its workflow is needed by nothing, and stays with that workflow.
    for (int n = first_schedule; n < total; ++n) {
      if (left[n] || kept[n]) continue;
      kept[n] = std::all_of(needs[n].begin(), needs[n].end(), [&](int d) { return kept[d]; });
    }
    int count = 0;
    for (int n = 0; n < total; ++n) {
      if (!left[n] && !kept[n]) {
        LeaveOut(item_of(n), "only workflows that are left out need it");
      }
      if (item_of(n).action() == v1::ITEM_ACTION_LEFT_OUT) ++count;
    }
    warnings_.push_back(absl::StrCat("on-blocked skip left out ", count,
                                     " item(s) that cannot be applied or depend on one; the rest "
                                     "is applied (each left-out item says why)"));
  }

  static void LeaveOut(v1::PlannedItem& item, absl::string_view why) {
    item.set_action(v1::ITEM_ACTION_LEFT_OUT);
    item.mutable_reasons()->Add(absl::StrCat("left out: ", why));
    // The reason comes first; any earlier ones (the conflict, the missing dependency) follow.
    std::rotate(item.mutable_reasons()->rbegin(), item.mutable_reasons()->rbegin() + 1,
                item.mutable_reasons()->rend());
  }

 private:
  // Target reads, each at most once. Version 0 asks for the latest.
  absl::StatusOr<const std::optional<cp::WorkflowDef>*> TargetWorkflow(const std::string& name,
                                                                       int32_t version) {
    return target_reader_.Workflow(name, version);
  }
  absl::StatusOr<const std::optional<cp::TaskDef>*> TargetTaskDef(const std::string& name) {
    return target_reader_.TaskDef(name);
  }

  // Outcome for a definition that exists in the target with different content.
  void Differs(v1::PlannedItem* item, absl::string_view what, absl::string_view target_json,
               absl::string_view package_json) {
    ResolveDifference(conflict_, item, what, target_json, package_json);
  }

  absl::Status PlanTaskDef(size_t i, v1::PlannedItem* item) {
    const cp::TaskDef& def = contents_.task_defs[i];
    const v1::PackageItem& pkg_item = package_.items(contents_.task_def_items[i]);
    item->set_kind(v1::ITEM_KIND_TASK_DEF);
    item->set_name(def.name());
    item->set_source_sha256(ComparedHash(pkg_item));
    item->set_planned_sha256(ComparedHash(pkg_item));
    ASSIGN_OR_RETURN(const std::optional<cp::TaskDef>* existing, TargetTaskDef(def.name()));
    if (!existing->has_value()) {
      item->set_action(v1::ITEM_ACTION_CREATE);
      return absl::OkStatus();
    }
    item->set_target_sha256(HashOf(**existing));
    if (item->target_sha256() == item->planned_sha256()) {
      item->set_action(v1::ITEM_ACTION_UNCHANGED);
    } else {
      Differs(item, DescribeItem(v1::ITEM_KIND_TASK_DEF, def.name(), 0), CanonicalJson(**existing),
              pkg_item.canonical_json());
    }
    return absl::OkStatus();
  }

  void Start(int i, WorkflowPlan* w) {
    const cp::WorkflowDef& def = contents_.workflows[i];
    const v1::PackageItem& pkg_item = package_.items(contents_.workflow_items[i]);
    w->item.set_kind(v1::ITEM_KIND_WORKFLOW_DEF);
    w->item.set_name(def.name());
    w->item.set_source_version(def.version());
    w->item.set_source_sha256(ComparedHash(pkg_item));
  }

  void Finish(int i, WorkflowPlan* w) {
    const v1::PackageItem& pkg_item = package_.items(contents_.workflow_items[i]);
    w->item.set_target_version(w->planned.version());
    if (w->as_packaged) {
      w->item.set_planned_sha256(ComparedHash(pkg_item));
      mapping_[{w->item.name(), w->item.source_version()}] = w->planned.version();
      return;
    }
    std::string json = CanonicalJson(w->planned);
    w->item.set_planned_sha256(Sha256Hex(json));
    if (json != pkg_item.canonical_json()) {
      w->item.set_rewritten_json(std::move(json));
    }
    mapping_[{w->item.name(), w->item.source_version()}] = w->planned.version();
  }

  absl::Status PlanPreserve(int i) {
    WorkflowPlan& w = workflows_[i];
    Start(i, &w);
    const cp::WorkflowDef& def = contents_.workflows[i];
    w.planned = def;
    w.as_packaged = true;
    Finish(i, &w);
    ASSIGN_OR_RETURN(const std::optional<cp::WorkflowDef>* existing,
                     TargetWorkflow(def.name(), def.version()));
    if (!existing->has_value()) {
      w.item.set_action(v1::ITEM_ACTION_CREATE);
      return absl::OkStatus();
    }
    w.item.set_target_sha256(HashOf(**existing));
    if (w.item.target_sha256() == w.item.planned_sha256()) {
      w.item.set_action(v1::ITEM_ACTION_UNCHANGED);
    } else {
      Differs(&w.item, DescribeWorkflow(def.name(), def.version()), CanonicalJson(**existing),
              package_.items(contents_.workflow_items[i]).canonical_json());
    }
    return absl::OkStatus();
  }

  // `as_packaged`, when given, is set to whether nothing changed.
  cp::WorkflowDef Rewritten(int i, const std::map<WorkflowKey, int32_t>& mapping, int32_t version,
                            bool* as_packaged = nullptr) {
    cp::WorkflowDef def = contents_.workflows[i];
    int changed = RewriteWorkflowReferences(&def, [&](absl::string_view name, int32_t v) {
      auto it = mapping.find({std::string(name), v});
      return it == mapping.end() ? std::nullopt : std::optional<int32_t>(it->second);
    });
    if (as_packaged != nullptr) {
      *as_packaged = changed == 0 && version == def.version();
    }
    def.set_version(version);
    return def;
  }

  std::string PlannedHash(int i, const cp::WorkflowDef& planned, bool as_packaged) {
    return as_packaged ? ComparedHash(package_.items(contents_.workflow_items[i]))
                       : HashOf(planned);
  }

  int32_t NextFree(const std::string& name, int32_t target_latest) {
    int32_t& next = next_free_[name];
    next = std::max(next, target_latest + 1);
    return next++;
  }

  absl::Status PlanNewVersion(int i) {
    WorkflowPlan& w = workflows_[i];
    Start(i, &w);
    const cp::WorkflowDef& def = contents_.workflows[i];
    const int32_t v = def.version();
    ASSIGN_OR_RETURN(const std::optional<cp::WorkflowDef>* latest, TargetWorkflow(def.name(), 0));
    if (!latest->has_value()) {
      w.planned = Rewritten(i, mapping_, v, &w.as_packaged);
      w.item.set_action(v1::ITEM_ACTION_CREATE);
      Finish(i, &w);
      return absl::OkStatus();
    }
    const int32_t latest_version = (*latest)->version();
    std::vector<int32_t> candidates;
    if (v != latest_version) {
      candidates.push_back(v);
    }
    candidates.push_back(latest_version);
    for (int32_t candidate : candidates) {
      ASSIGN_OR_RETURN(const std::optional<cp::WorkflowDef>* existing,
                       TargetWorkflow(def.name(), candidate));
      if (!existing->has_value()) {
        continue;
      }
      bool as_packaged = false;
      cp::WorkflowDef planned = Rewritten(i, mapping_, candidate, &as_packaged);
      std::string target_hash = HashOf(**existing);
      if (PlannedHash(i, planned, as_packaged) == target_hash) {
        w.planned = std::move(planned);
        w.as_packaged = as_packaged;
        w.item.set_action(v1::ITEM_ACTION_UNCHANGED);
        w.item.set_target_sha256(target_hash);
        if (candidate != v) {
          w.item.add_reasons(absl::StrCat("identical to the target's version ", candidate));
        }
        Finish(i, &w);
        return absl::OkStatus();
      }
    }
    // An older version may hold it already (a previous run of this migration wrote it, and a
    // later one became latest). Newest first, so the most recent identical copy wins.
    auto versions = target_.ListWorkflowVersions(def.name());
    if (!versions.ok() && !absl::IsUnimplemented(versions.status())) {
      return absl::Status(versions.status().code(),
                          absl::StrCat("listing the versions of workflow '", def.name(),
                                       "' in the target: ", versions.status().message()));
    }
    if (versions.ok()) {
      for (auto it = versions->rbegin(); it != versions->rend(); ++it) {
        if (std::find(candidates.begin(), candidates.end(), it->version()) != candidates.end()) {
          continue;
        }
        bool as_packaged = false;
        cp::WorkflowDef planned = Rewritten(i, mapping_, it->version(), &as_packaged);
        std::string target_hash = HashOf(*it);
        if (PlannedHash(i, planned, as_packaged) != target_hash) {
          continue;
        }
        w.planned = std::move(planned);
        w.as_packaged = as_packaged;
        w.item.set_action(v1::ITEM_ACTION_UNCHANGED);
        w.item.set_target_sha256(target_hash);
        w.item.add_reasons(absl::StrCat("identical to the target's version ", it->version()));
        Finish(i, &w);
        return absl::OkStatus();
      }
    }
    const int32_t tv = NextFree(def.name(), latest_version);
    w.planned = Rewritten(i, mapping_, tv, &w.as_packaged);
    w.item.set_action(v1::ITEM_ACTION_CREATE);
    w.item.add_reasons(absl::StrCat(DescribeWorkflow(def.name(), v),
                                    " differs from the target's; version strategy new-version "
                                    "writes it as version ",
                                    tv));
    Finish(i, &w);
    return absl::OkStatus();
  }

  absl::Status PlanNewVersionCycle(const std::vector<int>& members) {
    std::vector<std::string> names;
    for (int m : members) {
      Start(m, &workflows_[m]);
      names.push_back(
          DescribeWorkflow(contents_.workflows[m].name(), contents_.workflows[m].version()));
    }
    // Try "the target already holds this cycle" under the same versions, then under the
    // target's latest versions.
    for (bool use_latest : {false, true}) {
      std::map<WorkflowKey, int32_t> trial = mapping_;
      bool possible = true;
      for (int m : members) {
        const cp::WorkflowDef& def = contents_.workflows[m];
        int32_t tv = def.version();
        if (use_latest) {
          ASSIGN_OR_RETURN(const std::optional<cp::WorkflowDef>* latest,
                           TargetWorkflow(def.name(), 0));
          if (!latest->has_value()) {
            possible = false;
            break;
          }
          tv = (*latest)->version();
        }
        trial[{def.name(), def.version()}] = tv;
      }
      if (!possible) {
        continue;
      }
      bool identical = true;
      std::vector<std::string> target_hashes;
      for (int m : members) {
        const cp::WorkflowDef& def = contents_.workflows[m];
        int32_t tv = trial[{def.name(), def.version()}];
        ASSIGN_OR_RETURN(const std::optional<cp::WorkflowDef>* existing,
                         TargetWorkflow(def.name(), tv));
        if (!existing->has_value() || HashOf(**existing) != HashOf(Rewritten(m, trial, tv))) {
          identical = false;
          break;
        }
        target_hashes.push_back(HashOf(**existing));
      }
      if (!identical) {
        continue;
      }
      for (size_t k = 0; k < members.size(); ++k) {
        int m = members[k];
        const cp::WorkflowDef& def = contents_.workflows[m];
        WorkflowPlan& w = workflows_[m];
        w.planned = Rewritten(m, trial, trial[{def.name(), def.version()}], &w.as_packaged);
        w.item.set_action(v1::ITEM_ACTION_UNCHANGED);
        w.item.set_target_sha256(target_hashes[k]);
        Finish(m, &w);
      }
      return absl::OkStatus();
    }
    // Otherwise the cycle is written anew as a unit, so that its members keep referring to one
    // another rather than to the target's older versions.
    for (int m : members) {
      const cp::WorkflowDef& def = contents_.workflows[m];
      ASSIGN_OR_RETURN(const std::optional<cp::WorkflowDef>* latest, TargetWorkflow(def.name(), 0));
      mapping_[{def.name(), def.version()}] =
          latest->has_value() ? NextFree(def.name(), (*latest)->version()) : def.version();
    }
    std::string cycle = absl::StrJoin(names, ", ");
    for (int m : members) {
      const cp::WorkflowDef& def = contents_.workflows[m];
      WorkflowPlan& w = workflows_[m];
      w.planned = Rewritten(m, mapping_, mapping_[{def.name(), def.version()}], &w.as_packaged);
      w.item.set_action(v1::ITEM_ACTION_CREATE);
      w.item.add_reasons(absl::StrCat("part of a cycle of workflows (", cycle,
                                      ") that the target does not hold identically; version "
                                      "strategy new-version writes it as version ",
                                      w.planned.version()));
      Finish(m, &w);
    }
    return absl::OkStatus();
  }

  // A workflow that is its own sub-workflow, START_WORKFLOW target or failure workflow starts a
  // run of itself from every run: a chain that only the orchestrator's depth limit ends.
  // Under new-version, a workflow written under a new version does not move the target's other
  // workflows that pin an older version of it: they keep running the old one. One warning per
  // such workflow, naming each pin. A target that cannot list its workflows is not searched.
  void WarnOfOlderPins() {
    std::map<std::string, int32_t> written;  // name -> the newest version this plan writes
    for (const WorkflowPlan& w : workflows_) {
      if (w.item.action() != v1::ITEM_ACTION_CREATE && w.item.action() != v1::ITEM_ACTION_UPDATE) {
        continue;
      }
      int32_t& v = written[w.item.name()];
      v = std::max(v, w.item.target_version());
    }
    if (written.empty()) return;
    std::map<std::string, std::vector<std::string>>
        pins;  // name -> "order_flow v1, task 'pay' (v2)"
    absl::Status listed = target_.ForEachWorkflow([&](const cp::WorkflowDef& def) {
      // The package's own workflows are superseded by the versions this plan writes.
      if (package_workflow_names_.contains(def.name())) return;
      for (const WorkflowReference& r : ScanWorkflow(def).workflows) {
        auto it = written.find(r.name);
        if (it == written.end() || r.version == 0 || r.version >= it->second) continue;
        pins[r.name].push_back(absl::StrCat(DescribeReferrer(r.referrer), " pins v", r.version));
      }
    });
    if (!listed.ok()) return;
    for (const auto& [name, where] : pins) {
      warnings_.push_back(absl::StrCat(
          "new-version: ", DescribeWorkflow(name, written[name]),
          " is written, but target workflows outside this migration still pin an older version "
          "and keep running it: ",
          absl::StrJoin(where, "; ")));
    }
  }

  void WarnIfItStartsItself(const cp::WorkflowDef& def) {
    for (const WorkflowReference& r : ScanWorkflow(def).workflows) {
      if (r.name != def.name() || (r.version != 0 && r.version != def.version())) continue;
      const std::string through =
          r.referrer.task_reference_name().empty()
              ? r.referrer.field()
              : absl::StrCat("task '", r.referrer.task_reference_name(), "', ", r.referrer.field());
      warnings_.push_back(absl::StrCat(
          DescribeWorkflow(def.name(), def.version()), " starts itself (", through,
          "): every run starts another run of it, until the orchestrator's limit on chains of "
          "sub-workflows and failure workflows fails the chain"));
      return;
    }
  }

  absl::Status Preflight(WorkflowPlan* w) {
    const v1::ItemAction action = w->item.action();
    const bool writes = action == v1::ITEM_ACTION_CREATE || action == v1::ITEM_ACTION_UPDATE ||
                        action == v1::ITEM_ACTION_CONFLICT;
    std::vector<std::string> problems;
    WorkflowReferences refs = ScanWorkflow(w->planned);
    std::set<std::string> seen;
    for (const TaskDefReference& t : refs.task_defs) {
      // Conductor runs a worker task without a task definition with a default one; the source
      // does, and so may the target.
      if (!t.required || package_task_defs_.count(t.name) || default_task_defs_.count(t.name)) {
        continue;
      }
      ASSIGN_OR_RETURN(const std::optional<cp::TaskDef>* existing, TargetTaskDef(t.name));
      if (existing->has_value()) {
        continue;
      }
      std::string p = absl::StrCat(DescribeReferrer(t.referrer), " needs task definition '", t.name,
                                   "', which is neither in the package nor in the target");
      if (seen.insert(p).second) {
        problems.push_back(std::move(p));
      }
    }
    ASSIGN_OR_RETURN(std::vector<std::string> missing,
                     MissingWorkflows(refs.workflows, "references", planned_keys_,
                                      package_workflow_names_, target_reader_));
    for (std::string& p : missing) problems.push_back(std::move(p));
    if (problems.empty()) {
      return absl::OkStatus();
    }
    if (!writes) {
      for (std::string& p : problems) {
        warnings_.push_back(absl::StrCat(p, " (the target's definition is kept as it is)"));
      }
      return absl::OkStatus();
    }
    if (action != v1::ITEM_ACTION_CONFLICT) {
      w->item.set_action(v1::ITEM_ACTION_BLOCKED);
      w->item.clear_reasons();
    }
    for (std::string& p : problems) {
      w->item.add_reasons(std::move(p));
    }
    return absl::OkStatus();
  }

  const v1::MigrationPackage& package_;
  const PackageContents& contents_;
  DefinitionSource& target_;
  const std::set<std::string> missing_secrets_;
  v1::ConflictStrategy conflict_;
  bool new_version_;

  CachedDefinitionReader target_reader_{target_};
  std::vector<WorkflowPlan> workflows_;     // by contents_.workflows index
  std::vector<v1::PlannedItem> handlers_;   // by contents_.event_handlers index
  std::vector<v1::PlannedItem> schedules_;  // by contents_.schedules index
  std::map<WorkflowKey, int32_t> mapping_;
  std::map<WorkflowKey, int32_t> mapping_sorted_;
  std::map<std::string, int32_t> next_free_;
  std::set<std::string> package_task_defs_;
  // Worker tasks that run with Conductor's default task definition in the source.
  std::set<std::string> default_task_defs_;
  std::set<std::string> package_workflow_names_;
  std::set<WorkflowKey> planned_keys_;
  std::vector<std::string> warnings_;
};

}  // namespace

google::protobuf::RepeatedPtrField<v1::ItemCount> CountItems(const v1::MigrationPlan& plan) {
  std::map<std::pair<int, int>, int32_t> counts;
  for (const v1::PlannedItem& item : plan.items()) {
    ++counts[{item.kind(), item.action()}];
  }
  google::protobuf::RepeatedPtrField<v1::ItemCount> out;
  for (const auto& [key, n] : counts) {
    v1::ItemCount* c = out.Add();
    c->set_kind(static_cast<v1::ItemKind>(key.first));
    c->set_action(static_cast<v1::ItemAction>(key.second));
    c->set_count(n);
  }
  return out;
}

absl::StatusOr<v1::MigrationPlan> PlanMigration(const v1::MigrationPackage& package,
                                                DefinitionSource& target) {
  ASSIGN_OR_RETURN(PackageContents contents, ValidatePackage(package));
  return Planner(package, contents, target).Run();
}

absl::StatusOr<v1::MigrationPlan> PlanMigration(const v1::MigrationPackage& package,
                                                const PackageContents& contents,
                                                DefinitionSource& target,
                                                const std::set<std::string>& missing_secrets) {
  return Planner(package, contents, target, missing_secrets).Run();
}

v1::MigrationReport ReportFromPlan(const v1::MigrationPackage& package,
                                   const v1::MigrationPlan& plan,
                                   absl::string_view target_environment) {
  v1::MigrationReport r;
  r.set_source_environment(package.source_environment());
  r.set_target_environment(std::string(target_environment));
  r.set_package_digest(plan.package_digest());
  r.set_dry_run(package.options().dry_run());
  r.set_blocked(plan.blocked());
  for (const v1::PlannedItem& p : plan.items()) {
    v1::ItemReport* i = r.add_items();
    i->set_kind(p.kind());
    i->set_name(p.name());
    i->set_source_version(p.source_version());
    i->set_target_version(p.target_version());
    i->set_status(p.action());
    i->set_sha256(p.planned_sha256());
    i->set_source_sha256(p.source_sha256());
    i->set_target_sha256(p.target_sha256());
    *i->mutable_messages() = p.reasons();
    *i->mutable_differences() = p.differences();
    i->set_more_differences(p.more_differences());
  }
  *r.mutable_counts() = plan.counts();
  *r.mutable_version_mapping() = plan.version_mapping();
  *r.mutable_manual_dependencies() = plan.manual_dependencies();
  *r.mutable_unresolved() = plan.unresolved();
  *r.mutable_blocking_problems() = plan.blocking_problems();
  *r.mutable_warnings() = plan.warnings();
  r.set_plan_fingerprint(plan.fingerprint());
  return r;
}

}  // namespace cmig::migration
