// Planning schedule items (migration/plan_internal.h).
#include <algorithm>
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
#include "migration/plan_internal.h"
#include "migration/references.h"

namespace cmig::migration {
namespace {

namespace cp = conductor::proto;

// Pauses `s` and adds `why` to its pausedReason. A schedule paused in the source keeps its own
// reason first.
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

// Which of the missing secrets a run of a schedule may read: those read by the package workflow
// it starts, and by the package workflows that one starts, at any depth.
class SecretsReached {
 public:
  SecretsReached(const v1::MigrationPackage& package, const PackageContents& contents,
                 const std::set<std::string>& missing)
      : contents_(contents) {
    for (const v1::Dependency& d : package.dependencies().dependencies()) {
      if (d.kind() != v1::DEPENDENCY_KIND_SECRET || !missing.contains(d.name())) continue;
      for (const v1::Referrer& r : d.referenced_by()) {
        if (!r.workflow_name().empty()) {
          secrets_of_[{r.workflow_name(), r.workflow_version()}].insert(d.name());
        }
      }
    }
    if (secrets_of_.empty()) return;
    for (size_t j = 0; j < contents.workflows.size(); ++j) {
      const cp::WorkflowDef& w = contents.workflows[j];
      index_[{w.name(), w.version()}] = j;
      int32_t& latest = latest_[w.name()];
      latest = std::max(latest, w.version());
    }
  }

  std::set<std::string> From(const std::string& name, int32_t version) const {
    std::set<std::string> out;
    if (secrets_of_.empty()) return out;
    std::set<WorkflowKey> seen;
    std::vector<WorkflowKey> stack;
    auto push = [&](const std::string& n, int32_t v) {
      if (v == 0) {
        auto l = latest_.find(n);
        if (l == latest_.end()) return;
        v = l->second;
      }
      if (index_.contains({n, v}) && seen.insert({n, v}).second) stack.emplace_back(n, v);
    };
    push(name, version);
    while (!stack.empty()) {
      const WorkflowKey key = stack.back();
      stack.pop_back();
      if (auto it = secrets_of_.find(key); it != secrets_of_.end()) {
        out.insert(it->second.begin(), it->second.end());
      }
      for (const WorkflowReference& r :
           ScanWorkflow(contents_.workflows[index_.at(key)]).workflows) {
        push(r.name, r.version);
      }
    }
    return out;
  }

 private:
  const PackageContents& contents_;
  std::map<WorkflowKey, std::set<std::string>> secrets_of_;
  std::map<WorkflowKey, size_t> index_;
  std::map<std::string, int32_t> latest_;
};

}  // namespace

absl::StatusOr<std::vector<v1::PlannedItem>> PlanSchedules(const HandlerPlanInput& in) {
  std::vector<v1::PlannedItem> out;
  const std::set<std::string> no_secrets;
  const SecretsReached secrets(*in.package, *in.contents,
                               in.missing_secrets != nullptr ? *in.missing_secrets : no_secrets);
  for (size_t i = 0; i < in.contents->schedules.size(); ++i) {
    v1::WorkflowSchedule schedule = in.contents->schedules[i];
    const v1::PackageItem& packaged = in.package->items(in.contents->schedule_items[i]);
    const std::string what = DescribeItem(v1::ITEM_KIND_SCHEDULE, schedule.name(), 0);
    v1::PlannedItem& item = out.emplace_back();
    item.set_kind(v1::ITEM_KIND_SCHEDULE);
    item.set_name(schedule.name());
    item.set_source_sha256(packaged.sha256());
    std::vector<std::string> reasons;
    const std::set<std::string> secrets_read = secrets.From(
        schedule.start_workflow_request().name(), schedule.start_workflow_request().version());
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
    if (!secrets_read.empty()) {
      missing.push_back(absl::StrCat("the workflow it starts reads secret(s) ",
                                     absl::StrJoin(secrets_read, ", ",
                                                   [](std::string* out, const std::string& n) {
                                                     absl::StrAppend(out, "'", n, "'");
                                                   }),
                                     ", which the target does not hold"));
    }
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
    if (absl::IsUnimplemented(existing.status()) || absl::IsPermissionDenied(existing.status())) {
      item.set_action(v1::ITEM_ACTION_BLOCKED);
      item.add_reasons(absl::StrCat(what,
                                    absl::IsUnimplemented(existing.status())
                                        ? " cannot be written: the target has no scheduler ("
                                        : " cannot be written: the target's schedules may not be "
                                          "read with this key (",
                                    existing.status().message(), ")"));
      continue;
    }
    RETURN_IF_ERROR(existing.status());
    CompareWithTarget(
        in.conflict, &item, what,
        (*existing)->has_value() ? std::optional<std::string>(CanonicalJson(***existing))
                                 : std::nullopt,
        item.rewritten_json().empty() ? packaged.canonical_json() : item.rewritten_json());
    for (std::string& r : reasons) item.add_reasons(std::move(r));
  }
  return out;
}

}  // namespace cmig::migration
