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
  explicit Verifier(DefinitionSource& target) : reader_(target) {}

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
    ASSIGN_OR_RETURN(const std::optional<cp::WorkflowDef>* def, reader_.Workflow(name, version));
    return *def;
  }

  absl::StatusOr<std::optional<cp::TaskDef>> TaskDef(const std::string& name) {
    ASSIGN_OR_RETURN(const std::optional<cp::TaskDef>* def, reader_.TaskDef(name));
    return *def;
  }

  CachedDefinitionReader reader_;
};

}  // namespace

absl::StatusOr<v1::Verification> VerifyTarget(const v1::MigrationReport& report,
                                              DefinitionSource& target) {
  return Verifier(target).Run(report);
}

}  // namespace cmig
