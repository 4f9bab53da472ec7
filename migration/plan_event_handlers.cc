// Planning event handler items (migration/plan_internal.h).
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "definitions/canonical.h"
#include "migration/definition_diff.h"
#include "migration/plan_internal.h"
#include "migration/references.h"

namespace cmig::migration {

namespace cp = conductor::proto;

void ResolveDifference(v1::ConflictStrategy strategy, v1::PlannedItem* item, absl::string_view what,
                       absl::string_view target_json, absl::string_view package_json) {
  if (!target_json.empty() && !package_json.empty()) {
    AttachDifferences(target_json, package_json, item);
  }
  switch (strategy) {
    case v1::CONFLICT_STRATEGY_SKIP:
      item->set_action(v1::ITEM_ACTION_SKIP);
      item->add_reasons(absl::StrCat(what,
                                     " differs from the target's; conflict strategy "
                                     "skip keeps the target's"));
      break;
    case v1::CONFLICT_STRATEGY_UPDATE:
      item->set_action(v1::ITEM_ACTION_UPDATE);
      item->add_reasons(absl::StrCat(what,
                                     " differs from the target's; conflict strategy "
                                     "update overwrites it"));
      break;
    default:
      item->set_action(v1::ITEM_ACTION_CONFLICT);
      item->add_reasons(absl::StrCat(
          what, " differs from the target's",
          // A secret's hashes are keyed for this plan only: they would say nothing more.
          item->kind() == v1::ITEM_KIND_SECRET
              ? ""
              : absl::StrCat(" (package sha256 ", item->planned_sha256(), ", target sha256 ",
                             item->target_sha256(), ")"),
          "; conflict strategy fail blocks the apply: use skip or update",
          // Only workflows have versions for new-version to write another one of.
          item->kind() == v1::ITEM_KIND_WORKFLOW_DEF ? ", or new-version" : ""));
  }
}

void CompareWithTarget(v1::ConflictStrategy strategy, v1::PlannedItem* item, absl::string_view what,
                       const std::optional<std::string>& target_json,
                       absl::string_view package_json) {
  if (!target_json.has_value()) {
    item->set_action(v1::ITEM_ACTION_CREATE);
    return;
  }
  item->set_target_sha256(Sha256Hex(*target_json));
  if (item->target_sha256() == item->planned_sha256()) {
    item->set_action(v1::ITEM_ACTION_UNCHANGED);
    return;
  }
  ResolveDifference(strategy, item, what, *target_json, package_json);
}

absl::StatusOr<std::vector<std::string>> MissingWorkflows(
    const std::vector<WorkflowReference>& refs, absl::string_view verb,
    const std::set<WorkflowKey>& planned_keys, const std::set<std::string>& package_workflow_names,
    CachedDefinitionReader& target) {
  std::vector<std::string> problems;
  std::set<std::string> seen;
  for (const WorkflowReference& r : refs) {
    if (r.version != 0 ? planned_keys.count({r.name, r.version}) > 0
                       : package_workflow_names.count(r.name) > 0) {
      continue;
    }
    ASSIGN_OR_RETURN(const std::optional<cp::WorkflowDef>* existing,
                     target.Workflow(r.name, r.version));
    if (existing->has_value()) continue;
    std::string p = absl::StrCat(DescribeReferrer(r.referrer), " ", verb, " ",
                                 DescribeWorkflow(r.name, r.version),
                                 ", which is neither in the package nor in the target");
    if (seen.insert(p).second) problems.push_back(std::move(p));
  }
  return problems;
}

absl::StatusOr<std::vector<v1::PlannedItem>> PlanEventHandlers(const HandlerPlanInput& in) {
  std::vector<v1::PlannedItem> out;
  for (size_t i = 0; i < in.contents->event_handlers.size(); ++i) {
    cp::EventHandler handler = in.contents->event_handlers[i];
    const v1::PackageItem& packaged = in.package->items(in.contents->event_handler_items[i]);
    const std::string what = absl::StrCat("event handler '", handler.name(), "'");
    v1::PlannedItem& item = out.emplace_back();
    item.set_kind(v1::ITEM_KIND_EVENT_HANDLER);
    item.set_name(handler.name());
    item.set_source_sha256(packaged.sha256());
    const int rewritten =
        RewriteEventHandlerReferences(&handler, [&](absl::string_view name, int32_t v) {
          auto it = in.workflow_versions.find({std::string(name), v});
          return it == in.workflow_versions.end() ? std::nullopt
                                                  : std::optional<int32_t>(it->second);
        });
    if (rewritten > 0) {
      item.set_rewritten_json(CanonicalJson(handler));
      item.set_planned_sha256(Sha256Hex(item.rewritten_json()));
      item.add_reasons(absl::StrCat(what,
                                    " starts workflows under the versions the target gives "
                                    "them (",
                                    rewritten, " rewritten)"));
    } else {
      item.set_planned_sha256(packaged.sha256());
    }
    absl::StatusOr<const std::optional<cp::EventHandler>*> existing =
        in.target->EventHandler(handler.name());
    if (absl::IsUnimplemented(existing.status())) {
      item.set_action(v1::ITEM_ACTION_BLOCKED);
      item.add_reasons(absl::StrCat(what,
                                    " cannot be written: the target has no event handler "
                                    "API (",
                                    existing.status().message(), ")"));
      continue;
    }
    RETURN_IF_ERROR(existing.status());
    CompareWithTarget(
        in.conflict, &item, what,
        (*existing)->has_value() ? std::optional<std::string>(CanonicalJson(***existing))
                                 : std::nullopt,
        item.rewritten_json().empty() ? packaged.canonical_json() : item.rewritten_json());
    const v1::ItemAction action = item.action();
    if (action != v1::ITEM_ACTION_CREATE && action != v1::ITEM_ACTION_UPDATE &&
        action != v1::ITEM_ACTION_CONFLICT) {
      continue;
    }
    ASSIGN_OR_RETURN(std::vector<std::string> problems,
                     MissingWorkflows(ScanEventHandler(handler).workflows, "starts",
                                      in.planned_keys, in.package_workflow_names, *in.target));
    if (problems.empty()) continue;
    if (action != v1::ITEM_ACTION_CONFLICT) {
      item.set_action(v1::ITEM_ACTION_BLOCKED);
      item.clear_reasons();
    }
    for (std::string& p : problems) item.add_reasons(std::move(p));
  }
  return out;
}

}  // namespace cmig::migration
