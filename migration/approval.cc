#include "migration/approval.h"

#include <map>
#include <string>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "definitions/canonical.h"
#include "migration/package.h"

namespace cmig::migration {
namespace {

using Key = std::tuple<int, std::string, int32_t>;

void AppendString(std::string* out, const std::string& s) {
  absl::StrAppend(out, s.size(), ":", s);
}

std::string ActionText(v1::ItemAction a) {
  return std::string(absl::StripPrefix(v1::ItemAction_Name(a), "ITEM_ACTION_"));
}

std::string DryRunName(const v1::ApprovedPlan& approved) {
  return approved.dry_run_workflow_id().empty()
             ? std::string("the approved dry run")
             : absl::StrCat("dry run ", approved.dry_run_workflow_id());
}

}  // namespace

std::string PlanFingerprint(const v1::MigrationPlan& plan) {
  std::string text = "cmig-plan-fingerprint\n";
  absl::StrAppend(&text, "blocked ", plan.blocked() ? 1 : 0, "\n");
  for (const v1::PlannedItem& i : plan.items()) {
    const bool secret = i.kind() == v1::ITEM_KIND_SECRET;
    absl::StrAppend(&text, "item ", static_cast<int>(i.kind()), " ");
    AppendString(&text, i.name());
    absl::StrAppend(&text, " ", i.source_version(), " ", i.target_version(), " ",
                    static_cast<int>(i.action()), " ", secret ? "" : i.target_sha256(), " ",
                    secret ? "" : i.planned_sha256(), "\n");
  }
  return Sha256Hex(text);
}

void ApplyApproval(const v1::MigrationPackage& package, v1::MigrationPlan& plan) {
  plan.set_fingerprint(PlanFingerprint(plan));
  if (!package.options().has_approved_plan()) return;
  const v1::ApprovedPlan& approved = package.options().approved_plan();
  std::string problem;
  if (approved.package_digest() != package.digest()) {
    problem = absl::StrCat("the package is not the one ", DryRunName(approved),
                           " planned (package digest ", approved.package_digest(), ", now ",
                           package.digest(), ")");
  } else if (approved.plan_fingerprint() != plan.fingerprint()) {
    problem = absl::StrCat("the target changed since ", DryRunName(approved),
                           ": this plan is not the approved one (fingerprint ",
                           approved.plan_fingerprint(), ", now ", plan.fingerprint(), ")");
  } else {
    return;
  }
  plan.set_blocked(true);
  plan.add_blocking_problems(absl::StrCat(
      problem, "; nothing is applied: review this plan and approve it with a new dry run"));
}

absl::Status CheckApprovedPackage(const v1::MigrationPackage& package,
                                  const v1::MigrationPackage* approved_package) {
  if (!package.options().has_approved_plan()) return absl::OkStatus();
  const v1::ApprovedPlan& approved = package.options().approved_plan();
  if (approved.package_digest() == package.digest()) return absl::OkStatus();
  std::vector<std::string> changes;
  if (approved_package != nullptr) {
    std::map<Key, std::string> before;
    for (const v1::PackageItem& i : approved_package->items()) {
      before[{i.kind(), i.name(), i.version()}] = i.sha256();
    }
    for (const v1::PackageItem& i : package.items()) {
      auto it = before.find({i.kind(), i.name(), i.version()});
      const std::string what = DescribeItem(i.kind(), i.name(), i.version());
      if (it == before.end()) {
        changes.push_back(absl::StrCat(what, " is new"));
        continue;
      }
      if (it->second != i.sha256()) changes.push_back(absl::StrCat(what, " changed"));
      before.erase(it);
    }
    for (const auto& [key, sha] : before) {
      changes.push_back(absl::StrCat(DescribeItem(static_cast<v1::ItemKind>(std::get<0>(key)),
                                                  std::get<1>(key), std::get<2>(key)),
                                     " is gone"));
    }
    std::vector<std::string> secrets_before;
    for (const v1::SecretValue& s : approved_package->secrets()) {
      secrets_before.push_back(s.name());
    }
    std::vector<std::string> secrets_now;
    for (const v1::SecretValue& s : package.secrets()) secrets_now.push_back(s.name());
    if (changes.empty() && secrets_before != secrets_now) {
      changes.push_back("the secrets it carries changed");
    }
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "the source changed since ", DryRunName(approved), " was approved (package digest ",
      approved.package_digest(), ", now ", package.digest(), ")",
      changes.empty() ? "" : absl::StrCat(": ", absl::StrJoin(changes, "; ")),
      "; nothing was pushed: run a new dry run to review the change"));
}

std::vector<std::string> ChangedSinceApproval(const v1::MigrationReport& approved,
                                              const v1::MigrationReport& now) {
  std::map<Key, const v1::ItemReport*> before;
  for (const v1::ItemReport& i : approved.items()) {
    before[{i.kind(), i.name(), i.source_version()}] = &i;
  }
  std::vector<std::string> out;
  for (const v1::ItemReport& i : now.items()) {
    const std::string what = DescribeItem(i.kind(), i.name(), i.source_version());
    auto it = before.find({i.kind(), i.name(), i.source_version()});
    if (it == before.end()) {
      out.push_back(absl::StrCat(what, ": not in the dry run's plan"));
      continue;
    }
    const v1::ItemReport& was = *it->second;
    before.erase(it);
    if (was.status() != i.status()) {
      out.push_back(absl::StrCat(what, ": the dry run planned ", ActionText(was.status()), ", now ",
                                 ActionText(i.status())));
    } else if (was.target_version() != i.target_version()) {
      out.push_back(absl::StrCat(what, ": the dry run planned target version ",
                                 was.target_version(), ", now ", i.target_version()));
    } else if (i.kind() != v1::ITEM_KIND_SECRET && was.target_sha256() != i.target_sha256()) {
      out.push_back(absl::StrCat(what, ": the target's definition changed since the dry run"));
    } else if (i.kind() != v1::ITEM_KIND_SECRET && was.sha256() != i.sha256()) {
      out.push_back(absl::StrCat(what, ": what would be written changed since the dry run"));
    }
  }
  for (const auto& [key, item] : before) {
    out.push_back(absl::StrCat(DescribeItem(item->kind(), item->name(), item->source_version()),
                               ": in the dry run's plan, not in this one"));
  }
  return out;
}

}  // namespace cmig::migration
