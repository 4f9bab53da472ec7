// Planning schedule items (migration/plan_internal.h, migration/plan_schedules.h).
#include "migration/plan_schedules.h"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "definitions/canonical.h"
#include "definitions/conductor_messages.h"
#include "migration/plan.h"
#include "migration/plan_internal.h"
#include "migration/references.h"

namespace cmig::migration {
namespace {

namespace cp = conductor::proto;

// Pauses `s` (written by the migration) and adds `why` to its pausedReason. A schedule paused in
// the source keeps its own reason first.
void PauseForMissing(v1::WorkflowSchedule& s, absl::string_view why) {
  const std::string note = absl::StrCat("paused by the migration: ", why);
  if (!s.paused()) {
    s.set_paused(true);
    s.set_paused_reason(note);
  } else if (s.paused_reason().empty()) {
    s.set_paused_reason(note);
  } else {
    s.set_paused_reason(absl::StrCat(s.paused_reason(), "; ", note));
  }
}

// Sets the item's action against the target's schedule `existing` (absent: CREATE).
void Compare(const std::optional<v1::WorkflowSchedule>& existing, v1::ConflictStrategy conflict,
             absl::string_view package_json, v1::PlannedItem& item) {
  if (!existing.has_value()) {
    item.set_action(v1::ITEM_ACTION_CREATE);
    return;
  }
  const std::string target_json = CanonicalJson(*existing);
  item.set_target_sha256(Sha256Hex(target_json));
  if (item.target_sha256() == item.planned_sha256()) {
    item.set_action(v1::ITEM_ACTION_UNCHANGED);
    return;
  }
  ResolveDifference(conflict, &item, DescribeItem(v1::ITEM_KIND_SCHEDULE, item.name(), 0),
                    target_json, package_json);
}

}  // namespace

absl::StatusOr<std::vector<v1::PlannedItem>> PlanSchedules(const HandlerPlanInput& in) {
  std::vector<v1::PlannedItem> out;
  for (size_t i = 0; i < in.contents->schedules.size(); ++i) {
    v1::WorkflowSchedule schedule = in.contents->schedules[i];
    const v1::PackageItem& packaged = in.package->items(in.contents->schedule_items[i]);
    const std::string what = DescribeItem(v1::ITEM_KIND_SCHEDULE, schedule.name(), 0);
    v1::PlannedItem& item = out.emplace_back();
    item.set_kind(v1::ITEM_KIND_SCHEDULE);
    item.set_name(schedule.name());
    item.set_source_sha256(packaged.sha256());
    std::vector<std::string> reasons;
    const int rewritten =
        RewriteScheduleReferences(&schedule, [&](absl::string_view name, int32_t v) {
          auto it = in.workflow_versions.find({std::string(name), v});
          return it == in.workflow_versions.end() ? std::nullopt
                                                  : std::optional<int32_t>(it->second);
        });
    if (rewritten > 0) {
      reasons.push_back(absl::StrCat(what, " starts ", schedule.start_workflow_request().name(),
                                     " under the version the target gives it (",
                                     schedule.start_workflow_request().version(), ")"));
    }
    ASSIGN_OR_RETURN(std::vector<std::string> missing,
                     MissingWorkflows(ScanSchedule(schedule).workflows, "starts", in.planned_keys,
                                      in.package_workflow_names, *in.target));
    for (const std::string& m : missing) PauseForMissing(schedule, m);
    if (!missing.empty()) {
      reasons.push_back(absl::StrCat(what, " is written paused: ", absl::StrJoin(missing, "; ")));
    }
    if (rewritten > 0 || !missing.empty()) {
      item.set_rewritten_json(CanonicalJson(schedule));
      item.set_planned_sha256(Sha256Hex(item.rewritten_json()));
    } else {
      item.set_planned_sha256(packaged.sha256());
    }
    absl::StatusOr<const std::optional<v1::WorkflowSchedule>*> existing =
        in.target->Schedule(schedule.name());
    if (absl::IsUnimplemented(existing.status())) {
      item.set_action(v1::ITEM_ACTION_BLOCKED);
      item.add_reasons(absl::StrCat(what, " cannot be written: the target has no scheduler (",
                                    existing.status().message(), ")"));
      continue;
    }
    RETURN_IF_ERROR(existing.status());
    Compare(**existing, in.conflict,
            item.rewritten_json().empty() ? packaged.canonical_json() : item.rewritten_json(),
            item);
    for (std::string& r : reasons) item.add_reasons(std::move(r));
  }
  return out;
}

absl::Status PauseSchedulesMissingSecrets(const v1::MigrationPackage& package,
                                          const PackageContents& contents,
                                          const std::set<std::string>& missing_secrets,
                                          v1::MigrationPlan& plan) {
  if (missing_secrets.empty() || contents.schedules.empty()) return absl::OkStatus();
  // Where each missing secret is read, by workflow.
  std::map<std::pair<std::string, int32_t>, std::set<std::string>> secrets_of;
  for (const v1::Dependency& d : package.dependencies().dependencies()) {
    if (d.kind() != v1::DEPENDENCY_KIND_SECRET || !missing_secrets.contains(d.name())) continue;
    for (const v1::Referrer& r : d.referenced_by()) {
      if (!r.workflow_name().empty()) {
        secrets_of[{r.workflow_name(), r.workflow_version()}].insert(d.name());
      }
    }
  }
  if (secrets_of.empty()) return absl::OkStatus();
  std::map<std::pair<std::string, int32_t>, size_t> workflow_index;
  std::map<std::string, int32_t> latest;
  for (size_t j = 0; j < contents.workflows.size(); ++j) {
    const cp::WorkflowDef& w = contents.workflows[j];
    workflow_index[{w.name(), w.version()}] = j;
    int32_t& l = latest[w.name()];
    l = std::max(l, w.version());
  }
  // The package workflows a run of the schedule's workflow may start, and the missing secrets
  // they read.
  auto needed_secrets = [&](const v1::WorkflowSchedule& s) {
    std::set<std::string> needed;
    std::set<std::pair<std::string, int32_t>> seen;
    std::vector<std::pair<std::string, int32_t>> stack;
    auto push = [&](const std::string& name, int32_t version) {
      if (version == 0) {
        auto l = latest.find(name);
        if (l == latest.end()) return;
        version = l->second;
      }
      if (workflow_index.contains({name, version}) && seen.insert({name, version}).second) {
        stack.emplace_back(name, version);
      }
    };
    push(s.start_workflow_request().name(), s.start_workflow_request().version());
    while (!stack.empty()) {
      const auto key = stack.back();
      stack.pop_back();
      if (auto it = secrets_of.find(key); it != secrets_of.end()) {
        needed.insert(it->second.begin(), it->second.end());
      }
      for (const WorkflowReference& r :
           ScanWorkflow(contents.workflows[workflow_index.at(key)]).workflows) {
        push(r.name, r.version);
      }
    }
    return needed;
  };
  std::map<std::string, size_t> schedule_index;
  for (size_t i = 0; i < contents.schedules.size(); ++i) {
    schedule_index[contents.schedules[i].name()] = i;
  }
  for (v1::PlannedItem& item : *plan.mutable_items()) {
    if (item.kind() != v1::ITEM_KIND_SCHEDULE ||
        (item.action() != v1::ITEM_ACTION_CREATE && item.action() != v1::ITEM_ACTION_UPDATE)) {
      continue;
    }
    auto at = schedule_index.find(item.name());
    if (at == schedule_index.end()) continue;
    const std::set<std::string> needed = needed_secrets(contents.schedules[at->second]);
    if (needed.empty()) continue;
    absl::StatusOr<v1::WorkflowSchedule> schedule = ParseScheduleDefinition(
        item.rewritten_json().empty()
            ? package.items(contents.schedule_items[at->second]).canonical_json()
            : item.rewritten_json());
    RETURN_IF_ERROR(schedule.status());
    std::vector<std::string> names;
    for (const std::string& n : needed) names.push_back(absl::StrCat("'", n, "'"));
    const std::string why = absl::StrCat("the workflow it starts reads secret(s) ",
                                         absl::StrJoin(names, ", "),
                                         ", which the target does not hold");
    PauseForMissing(*schedule, why);
    item.set_rewritten_json(CanonicalJson(*schedule));
    item.set_planned_sha256(Sha256Hex(item.rewritten_json()));
    item.add_reasons(absl::StrCat(DescribeItem(v1::ITEM_KIND_SCHEDULE, item.name(), 0),
                                  " is written paused: ", why));
    if (item.action() == v1::ITEM_ACTION_UPDATE && item.target_sha256() == item.planned_sha256()) {
      item.set_action(v1::ITEM_ACTION_UNCHANGED);
    }
  }
  *plan.mutable_counts() = CountItems(plan);
  return absl::OkStatus();
}

}  // namespace cmig::migration
