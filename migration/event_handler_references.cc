// What an event handler refers to (migration/references.h): the workflows its actions start and
// the queue it listens on.
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "migration/references.h"

namespace cmig::migration {
namespace {

namespace cp = conductor::proto;

// A name Conductor computes when the action runs: "${...}" or "$path".
bool IsComputedName(absl::string_view name) {
  return absl::StartsWith(name, "$") || absl::StrContains(name, "${");
}

}  // namespace

WorkflowReferences ScanEventHandler(const cp::EventHandler& handler) {
  WorkflowReferences out;
  v1::Referrer base;
  base.set_event_handler(handler.name());
  if (!handler.event().empty() && !absl::StartsWith(handler.event(), "conductor:")) {
    v1::Referrer r = base;
    r.set_field("event");
    out.dependencies.push_back({v1::DEPENDENCY_KIND_EVENT_SINK, handler.event(), r});
  }
  for (int i = 0; i < handler.actions_size(); ++i) {
    const cp::EventHandler::Action& action = handler.actions(i);
    if (action.action() != cp::EventHandler::Action::START_WORKFLOW) continue;
    const cp::EventHandler::StartWorkflow& start = action.start_workflow();
    v1::Referrer r = base;
    r.set_field(absl::StrCat("actions[", i, "].start_workflow.name"));
    if (start.name().empty() || IsComputedName(start.name())) {
      v1::UnresolvedReference u;
      u.set_kind(v1::UNRESOLVED_KIND_EXPRESSION);
      u.set_target_kind(v1::ITEM_KIND_WORKFLOW_DEF);
      u.set_name(start.name());
      u.set_version(start.version());
      *u.mutable_referenced_by() = r;
      u.set_detail(start.name().empty()
                       ? "no workflow name is given"
                       : "the started workflow is named from the event's payload at run time; "
                         "migrate the workflows it may name explicitly");
      out.unresolved.push_back(std::move(u));
      continue;
    }
    out.workflows.push_back({start.name(), start.version(), r});
  }
  return out;
}

int RewriteEventHandlerReferences(cp::EventHandler* handler, const VersionRewrite& rewrite) {
  int changed = 0;
  for (cp::EventHandler::Action& action : *handler->mutable_actions()) {
    if (action.action() != cp::EventHandler::Action::START_WORKFLOW) continue;
    cp::EventHandler::StartWorkflow* start = action.mutable_start_workflow();
    if (start->version() == 0 || IsComputedName(start->name())) continue;
    std::optional<int32_t> to = rewrite(start->name(), start->version());
    if (to.has_value() && *to != start->version()) {
      start->set_version(*to);
      ++changed;
    }
  }
  return changed;
}

}  // namespace cmig::migration
