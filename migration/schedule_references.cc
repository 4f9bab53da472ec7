// What a workflow schedule refers to (migration/references.h): the workflow it starts and the
// task domains that workflow's runs are given.
#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "migration/references.h"

namespace cmig::migration {

WorkflowReferences ScanSchedule(const v1::WorkflowSchedule& schedule) {
  WorkflowReferences out;
  v1::Referrer base;
  base.set_schedule(schedule.name());
  const conductor::proto::StartWorkflowRequest& start = schedule.start_workflow_request();
  v1::Referrer r = base;
  r.set_field("startWorkflowRequest.name");
  if (start.name().empty() || absl::StrContains(start.name(), "${")) {
    v1::UnresolvedReference u;
    u.set_kind(v1::UNRESOLVED_KIND_EXPRESSION);
    u.set_target_kind(v1::ITEM_KIND_WORKFLOW_DEF);
    u.set_name(start.name());
    u.set_version(start.version());
    *u.mutable_referenced_by() = r;
    u.set_detail(start.name().empty() ? "the schedule names no workflow to start"
                                      : "the schedule's workflow name is an expression, which "
                                        "Conductor does not evaluate there");
    out.unresolved.push_back(std::move(u));
  } else {
    out.workflows.push_back({start.name(), start.version(), r});
  }
  std::vector<std::pair<std::string, std::string>> domains(start.task_to_domain().begin(),
                                                           start.task_to_domain().end());
  std::sort(domains.begin(), domains.end());
  for (const auto& [task, domain] : domains) {
    v1::Referrer dr = base;
    dr.set_field("startWorkflowRequest.taskToDomain");
    out.dependencies.push_back(
        {v1::DEPENDENCY_KIND_TASK_TO_DOMAIN, absl::StrCat(task, "=", domain), dr});
  }
  return out;
}

int RewriteScheduleReferences(v1::WorkflowSchedule* schedule, const VersionRewrite& rewrite) {
  conductor::proto::StartWorkflowRequest* start = schedule->mutable_start_workflow_request();
  if (start->version() == 0 || start->name().empty() || absl::StrContains(start->name(), "${")) {
    return 0;
  }
  std::optional<int32_t> to = rewrite(start->name(), start->version());
  if (!to.has_value() || *to == start->version()) return 0;
  start->set_version(*to);
  return 1;
}

}  // namespace cmig::migration
