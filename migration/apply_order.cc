#include "migration/apply_order.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "definitions/canonical.h"
#include "definitions/conductor_json.h"
#include "definitions/conductor_messages.h"
#include "migration/package.h"
#include "migration/references.h"

namespace cmig::migration {
namespace {

namespace cp = conductor::proto;

// Iterative Tarjan: a chain of ten thousand sub-workflows must not exhaust a worker thread's
// stack.
class Tarjan {
 public:
  explicit Tarjan(const std::vector<std::vector<int>>& edges)
      : edges_(edges),
        index_(edges.size(), -1),
        low_(edges.size(), 0),
        on_stack_(edges.size(), false) {}

  // Components in the order Tarjan completes them: each after every component it reaches.
  std::vector<std::vector<int>> Run(const std::vector<int>& roots) {
    for (int root : roots) {
      if (index_[root] < 0) {
        Visit(root);
      }
    }
    return std::move(components_);
  }

 private:
  void Visit(int root) {
    std::vector<std::pair<int, size_t>> frames{{root, 0}};
    Enter(root);
    while (!frames.empty()) {
      auto& [v, next] = frames.back();
      if (next < edges_[v].size()) {
        int w = edges_[v][next++];
        if (index_[w] < 0) {
          Enter(w);
          frames.push_back({w, 0});
        } else if (on_stack_[w]) {
          low_[v] = std::min(low_[v], index_[w]);
        }
        continue;
      }
      if (low_[v] == index_[v]) {
        std::vector<int> component;
        int w;
        do {
          w = stack_.back();
          stack_.pop_back();
          on_stack_[w] = false;
          component.push_back(w);
        } while (w != v);
        components_.push_back(std::move(component));
      }
      int finished = v;
      frames.pop_back();
      if (!frames.empty()) {
        int parent = frames.back().first;
        low_[parent] = std::min(low_[parent], low_[finished]);
      }
    }
  }

  void Enter(int v) {
    index_[v] = low_[v] = counter_++;
    stack_.push_back(v);
    on_stack_[v] = true;
  }

  const std::vector<std::vector<int>>& edges_;
  std::vector<int> index_;
  std::vector<int> low_;
  std::vector<bool> on_stack_;
  std::vector<int> stack_;
  std::vector<std::vector<int>> components_;
  int counter_ = 0;
};

}  // namespace

WorkflowComponents ComponentsInApplyOrder(const std::vector<cp::WorkflowDef>& workflows) {
  const int n = static_cast<int>(workflows.size());
  std::map<std::pair<std::string, int32_t>, int> by_key;
  std::map<std::string, int> latest;  // name -> index of highest version
  for (int i = 0; i < n; ++i) {
    by_key[{workflows[i].name(), workflows[i].version()}] = i;
    auto [it, inserted] = latest.try_emplace(workflows[i].name(), i);
    if (!inserted && workflows[it->second].version() < workflows[i].version()) {
      it->second = i;
    }
  }
  auto order = [&](int a, int b) {
    if (workflows[a].name() != workflows[b].name()) {
      return workflows[a].name() < workflows[b].name();
    }
    return workflows[a].version() < workflows[b].version();
  };
  std::vector<std::vector<int>> edges(n);
  std::vector<bool> self_loop(n, false);
  for (int i = 0; i < n; ++i) {
    for (const WorkflowReference& r : ScanWorkflow(workflows[i]).workflows) {
      int target = -1;
      if (r.version != 0) {
        auto it = by_key.find({r.name, r.version});
        if (it != by_key.end()) {
          target = it->second;
        }
      } else if (auto it = latest.find(r.name); it != latest.end()) {
        target = it->second;
      }
      if (target < 0) {
        continue;
      }
      if (target == i) {
        self_loop[i] = true;
      }
      edges[i].push_back(target);
    }
    std::sort(edges[i].begin(), edges[i].end(), order);
    edges[i].erase(std::unique(edges[i].begin(), edges[i].end()), edges[i].end());
  }
  std::vector<int> roots(n);
  for (int i = 0; i < n; ++i) {
    roots[i] = i;
  }
  std::sort(roots.begin(), roots.end(), order);

  WorkflowComponents out;
  out.components = Tarjan(edges).Run(roots);
  for (auto& c : out.components) {
    std::sort(c.begin(), c.end(), order);
    out.cyclic.push_back(c.size() > 1 || self_loop[c[0]]);
  }
  return out;
}

std::vector<int> WorkflowApplyOrder(const std::vector<cp::WorkflowDef>& workflows) {
  std::vector<int> order;
  for (const auto& c : ComponentsInApplyOrder(workflows).components) {
    order.insert(order.end(), c.begin(), c.end());
  }
  return order;
}

namespace {

absl::StatusOr<std::vector<ApplyStep>> Steps(const v1::MigrationPackage& package,
                                             const PackageContents* contents,
                                             const v1::MigrationPlan& plan) {
  if (plan.package_digest() != package.digest()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the plan is for package ", plan.package_digest(), ", not for package ", package.digest()));
  }
  if (plan.blocked()) {
    return absl::FailedPreconditionError(absl::StrCat("the plan is blocked by ",
                                                      plan.blocking_problems_size(),
                                                      " problem(s); nothing may be applied"));
  }
  std::map<std::tuple<int, std::string, int32_t>, int> items;
  for (int i = 0; i < package.items_size(); ++i) {
    const v1::PackageItem& item = package.items(i);
    items[{item.kind(), item.name(), item.version()}] = i;
  }
  // Item index -> the definition ValidatePackage parsed from it.
  std::map<int, const cp::TaskDef*> parsed_task_defs;
  std::map<int, const cp::WorkflowDef*> parsed_workflows;
  // Item index -> the extra keys ValidatePackage parsed, for items that have some.
  std::map<int, const google::protobuf::Value*> parsed_extras;
  if (contents != nullptr) {
    for (size_t k = 0; k < contents->task_defs.size(); ++k) {
      parsed_task_defs[contents->task_def_items[k]] = &contents->task_defs[k];
      if (contents->task_def_extras[k].has_struct_value()) {
        parsed_extras[contents->task_def_items[k]] = &contents->task_def_extras[k];
      }
    }
    for (size_t k = 0; k < contents->workflows.size(); ++k) {
      parsed_workflows[contents->workflow_items[k]] = &contents->workflows[k];
      if (contents->workflow_extras[k].has_struct_value()) {
        parsed_extras[contents->workflow_items[k]] = &contents->workflow_extras[k];
      }
    }
  }

  std::vector<ApplyStep> steps;
  for (const v1::PlannedItem& p : plan.items()) {
    if ((p.action() != v1::ITEM_ACTION_CREATE && p.action() != v1::ITEM_ACTION_UPDATE) ||
        p.kind() == v1::ITEM_KIND_SECRET) {
      continue;  // secrets are written from the package's values, by the apply step
    }
    std::string what = DescribeItem(p.kind(), p.name(), p.source_version());
    auto it = items.find({p.kind(), p.name(), p.source_version()});
    if (it == items.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("the plan names ", what, ", which the package does not hold"));
    }
    const std::string& json = p.rewritten_json().empty()
                                  ? package.items(it->second).canonical_json()
                                  : p.rewritten_json();
    ApplyStep step;
    step.kind = p.kind();
    step.action = p.action();
    if (auto parsed = parsed_extras.find(it->second); parsed != parsed_extras.end()) {
      step.extra = *parsed->second;
    } else if (const std::string& extra = package.items(it->second).extra_json(); !extra.empty()) {
      absl::StatusOr<google::protobuf::Value> v = ParseJson(extra);
      if (!v.ok() || !v->has_struct_value()) {
        return absl::InvalidArgumentError(absl::StrCat(what, ": its extra keys are not an object"));
      }
      step.extra = *std::move(v);
    }
    if (p.kind() == v1::ITEM_KIND_SCHEDULE) {
      auto schedule = ParseScheduleDefinition(json);
      if (!schedule.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(what, ": ", schedule.status().message()));
      }
      step.schedule = *std::move(schedule);
    } else if (p.kind() == v1::ITEM_KIND_EVENT_HANDLER) {
      auto handler = ParseEventHandler(json);
      if (!handler.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(what, ": ", handler.status().message()));
      }
      step.event_handler = *std::move(handler);
    } else if (p.rewritten_json().empty() && p.kind() == v1::ITEM_KIND_TASK_DEF &&
               parsed_task_defs.count(it->second)) {
      step.task_def = *parsed_task_defs[it->second];
    } else if (p.rewritten_json().empty() && p.kind() == v1::ITEM_KIND_WORKFLOW_DEF &&
               parsed_workflows.count(it->second) &&
               parsed_workflows[it->second]->version() == p.target_version()) {
      step.workflow_def = *parsed_workflows[it->second];
    } else if (p.kind() == v1::ITEM_KIND_TASK_DEF) {
      auto def = ParseTaskDef(json);
      if (!def.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(what, ": ", def.status().message()));
      }
      step.task_def = *std::move(def);
    } else {
      auto def = ParseWorkflowDef(json);
      if (!def.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(what, ": ", def.status().message()));
      }
      if (def->version() != p.target_version()) {
        return absl::InvalidArgumentError(absl::StrCat(what, ": the plan writes version ",
                                                       p.target_version(), " but its JSON holds ",
                                                       def->version()));
      }
      step.workflow_def = *std::move(def);
    }
    steps.push_back(std::move(step));
  }
  return steps;
}

}  // namespace

absl::StatusOr<std::vector<ApplyStep>> StepsToApply(const v1::MigrationPackage& package,
                                                    const v1::MigrationPlan& plan) {
  return Steps(package, nullptr, plan);
}

absl::StatusOr<std::vector<ApplyStep>> StepsToApply(const v1::MigrationPackage& package,
                                                    const PackageContents& contents,
                                                    const v1::MigrationPlan& plan) {
  return Steps(package, &contents, plan);
}

}  // namespace cmig::migration
