#include "tasks/verify.h"

#include <map>
#include <optional>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "tasks/definition_codec.h"
#include "tasks/package.h"
#include "tasks/references.h"

namespace cmig {
namespace {

namespace cp = conductor::proto;

class Verifier {
 public:
  explicit Verifier(DefinitionSource& target) : target_(target) {}

  absl::StatusOr<v1::Verification> Run(const v1::MigrationReport& report) {
    v1::Verification out;
    if (report.blocked()) {
      out.add_problems("the migration was blocked; nothing was applied to verify");
      return out;
    }
    for (const v1::ItemReport& item : report.items()) {
      const v1::ItemAction s = item.status();
      const bool exact = s == v1::ITEM_ACTION_CREATE || s == v1::ITEM_ACTION_UPDATE ||
                         s == v1::ITEM_ACTION_UNCHANGED;
      if (!exact && s != v1::ITEM_ACTION_SKIP) {
        continue;
      }
      out.set_checked(out.checked() + 1);
      std::string what = DescribeItem(item.kind(), item.name(), item.target_version());
      std::optional<std::string> hash;
      std::optional<cp::WorkflowDef> workflow;
      if (item.kind() == v1::ITEM_KIND_TASK_DEF) {
        ASSIGN_OR_RETURN(auto def, TaskDef(item.name()));
        if (def.has_value()) {
          hash = migration_codec::Sha256Hex(migration_codec::CanonicalJson(*def));
        }
      } else {
        ASSIGN_OR_RETURN(workflow, Workflow(item.name(), item.target_version()));
        if (workflow.has_value()) {
          hash = migration_codec::Sha256Hex(migration_codec::CanonicalJson(*workflow));
        }
      }
      if (!hash.has_value()) {
        out.add_problems(absl::StrCat(what, " is missing from the target"));
        continue;
      }
      if (exact && *hash != item.sha256()) {
        out.add_problems(
            absl::StrCat(what, " in the target has sha256 ", *hash, ", expected ", item.sha256()));
      }
      if (workflow.has_value()) {
        RETURN_IF_ERROR(CheckReferences(*workflow, &out));
      }
    }
    out.set_ok(out.problems_size() == 0);
    return out;
  }

 private:
  absl::Status CheckReferences(const cp::WorkflowDef& def, v1::Verification* out) {
    WorkflowReferences refs = ScanWorkflow(def);
    std::set<std::string> seen;
    for (const TaskDefReference& t : refs.task_defs) {
      if (!t.required) {
        continue;
      }
      ASSIGN_OR_RETURN(auto found, TaskDef(t.name));
      if (found.has_value()) {
        continue;
      }
      std::string p = absl::StrCat(DescribeReferrer(t.referrer), ": task definition '", t.name,
                                   "' does not exist in the target");
      if (seen.insert(p).second) {
        out->add_problems(std::move(p));
      }
    }
    for (const WorkflowReference& r : refs.workflows) {
      ASSIGN_OR_RETURN(auto found, Workflow(r.name, r.version));
      if (found.has_value()) {
        continue;
      }
      std::string p =
          absl::StrCat(DescribeReferrer(r.referrer), ": ", DescribeWorkflow(r.name, r.version),
                       " does not exist in the target");
      if (seen.insert(p).second) {
        out->add_problems(std::move(p));
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::optional<cp::WorkflowDef>> Workflow(const std::string& name,
                                                          int32_t version) {
    auto key = std::make_pair(name, version);
    if (auto it = workflows_.find(key); it != workflows_.end()) {
      return it->second;
    }
    std::optional<int32_t> v;
    if (version != 0) {
      v = version;
    }
    auto def = target_.GetWorkflowDef(name, v);
    std::optional<cp::WorkflowDef> result;
    if (def.ok()) {
      result = *std::move(def);
    } else if (!absl::IsNotFound(def.status())) {
      return absl::Status(def.status().code(),
                          absl::StrCat("reading ", DescribeWorkflow(name, version),
                                       " from the target: ", def.status().message()));
    }
    workflows_[key] = result;
    return result;
  }

  absl::StatusOr<std::optional<cp::TaskDef>> TaskDef(const std::string& name) {
    if (auto it = task_defs_.find(name); it != task_defs_.end()) {
      return it->second;
    }
    auto def = target_.GetTaskDef(name);
    std::optional<cp::TaskDef> result;
    if (def.ok()) {
      result = *std::move(def);
    } else if (!absl::IsNotFound(def.status())) {
      return absl::Status(def.status().code(),
                          absl::StrCat("reading task definition '", name,
                                       "' from the target: ", def.status().message()));
    }
    task_defs_[name] = result;
    return result;
  }

  DefinitionSource& target_;
  std::map<std::pair<std::string, int32_t>, std::optional<cp::WorkflowDef>> workflows_;
  std::map<std::string, std::optional<cp::TaskDef>> task_defs_;
};

}  // namespace

absl::StatusOr<v1::Verification> VerifyTarget(const v1::MigrationReport& report,
                                              DefinitionSource& target) {
  return Verifier(target).Run(report);
}

}  // namespace cmig
