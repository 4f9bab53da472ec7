#include "migration/verify.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/parallel_for.h"
#include "base/status_macros.h"
#include "definitions/canonical.h"
#include "definitions/conductor_json.h"
#include "migration/package.h"
#include "migration/references.h"

namespace cmig::migration {
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
    default_task_defs_ = DefaultTaskDefinitionNames(report.manual_dependencies());
    // Reading the target is serial (the reader caches); hashing what was read, most of the
    // work, runs in parallel; comparing and checking references is serial again, in item order.
    struct Check {
      const v1::ItemReport* item;
      bool exact;
      const cp::WorkflowDef* workflow = nullptr;
      const cp::TaskDef* task_def = nullptr;
      const cp::EventHandler* handler = nullptr;
      const v1::WorkflowSchedule* schedule = nullptr;
      std::string hash;
    };
    std::vector<Check> checks;
    for (const v1::ItemReport& item : report.items()) {
      const v1::ItemAction s = item.status();
      const bool exact = s == v1::ITEM_ACTION_CREATE || s == v1::ITEM_ACTION_UPDATE ||
                         s == v1::ITEM_ACTION_UNCHANGED;
      if ((!exact && s != v1::ITEM_ACTION_SKIP) || item.kind() == v1::ITEM_KIND_SECRET) {
        continue;  // secrets: VerifySecrets
      }
      Check c{&item, exact};
      if (item.kind() == v1::ITEM_KIND_TASK_DEF) {
        ASSIGN_OR_RETURN(c.task_def, TaskDef(item.name()));
      } else if (item.kind() == v1::ITEM_KIND_EVENT_HANDLER) {
        ASSIGN_OR_RETURN(c.handler, Handler(item.name()));
      } else if (item.kind() == v1::ITEM_KIND_SCHEDULE) {
        ASSIGN_OR_RETURN(c.schedule, Schedule(item.name()));
      } else {
        ASSIGN_OR_RETURN(c.workflow, Workflow(item.name(), item.target_version()));
      }
      checks.push_back(std::move(c));
    }
    ParallelFor(checks.size(), [&checks](size_t i) {
      Check& c = checks[i];
      if (c.task_def != nullptr) {
        c.hash = Sha256Hex(CanonicalJson(*c.task_def));
      } else if (c.workflow != nullptr) {
        c.hash = Sha256Hex(CanonicalJson(*c.workflow));
      } else if (c.handler != nullptr) {
        c.hash = Sha256Hex(CanonicalJson(*c.handler));
      } else if (c.schedule != nullptr) {
        c.hash = Sha256Hex(CanonicalJson(*c.schedule));
      }
    });
    for (const Check& c : checks) {
      const v1::ItemReport& item = *c.item;
      out.set_checked(out.checked() + 1);
      if (c.task_def == nullptr && c.workflow == nullptr && c.handler == nullptr &&
          c.schedule == nullptr) {
        out.add_problems(absl::StrCat(DescribeItem(item.kind(), item.name(), item.target_version()),
                                      " is missing from the target"));
        continue;
      }
      if (c.exact && c.hash != item.sha256()) {
        out.add_problems(absl::StrCat(DescribeItem(item.kind(), item.name(), item.target_version()),
                                      " in the target has sha256 ", c.hash, ", expected ",
                                      item.sha256()));
      }
      if (c.workflow != nullptr) {
        RETURN_IF_ERROR(CheckReferences(ScanWorkflow(*c.workflow), &out));
      } else if (c.handler != nullptr) {
        RETURN_IF_ERROR(CheckReferences(ScanEventHandler(*c.handler), &out));
      } else if (c.schedule != nullptr && !c.schedule->paused()) {
        // A paused schedule starts nothing: the migration pauses one whose workflow is missing.
        RETURN_IF_ERROR(CheckReferences(ScanSchedule(*c.schedule), &out));
      }
    }
    out.set_ok(out.problems_size() == 0);
    return out;
  }

 private:
  absl::Status CheckReferences(const WorkflowReferences& refs, v1::Verification* out) {
    std::set<std::string> seen;
    for (const TaskDefReference& t : refs.task_defs) {
      if (!t.required || default_task_defs_.contains(t.name)) {
        continue;
      }
      ASSIGN_OR_RETURN(const cp::TaskDef* found, TaskDef(t.name));
      if (found != nullptr) {
        continue;
      }
      std::string p = absl::StrCat(DescribeReferrer(t.referrer), ": task definition '", t.name,
                                   "' does not exist in the target");
      if (seen.insert(p).second) {
        out->add_problems(std::move(p));
      }
    }
    for (const WorkflowReference& r : refs.workflows) {
      ASSIGN_OR_RETURN(const cp::WorkflowDef* found, Workflow(r.name, r.version));
      if (found != nullptr) {
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

  // The target's definition, or nullptr when it has none. Pointers stay valid while the reader
  // lives.
  absl::StatusOr<const cp::WorkflowDef*> Workflow(const std::string& name, int32_t version) {
    ASSIGN_OR_RETURN(const std::optional<cp::WorkflowDef>* def, reader_.Workflow(name, version));
    return def->has_value() ? &**def : nullptr;
  }

  absl::StatusOr<const cp::TaskDef*> TaskDef(const std::string& name) {
    ASSIGN_OR_RETURN(const std::optional<cp::TaskDef>* def, reader_.TaskDef(name));
    return def->has_value() ? &**def : nullptr;
  }

  absl::StatusOr<const cp::EventHandler*> Handler(const std::string& name) {
    ASSIGN_OR_RETURN(const std::optional<cp::EventHandler>* h, reader_.EventHandler(name));
    return h->has_value() ? &**h : nullptr;
  }

  absl::StatusOr<const v1::WorkflowSchedule*> Schedule(const std::string& name) {
    ASSIGN_OR_RETURN(const std::optional<v1::WorkflowSchedule>* s, reader_.Schedule(name));
    return s->has_value() ? &**s : nullptr;
  }

  CachedDefinitionReader reader_;
  // Worker tasks that run with Conductor's default task definition, as in the source.
  std::set<std::string> default_task_defs_;
};

}  // namespace

absl::StatusOr<v1::Verification> VerifyTarget(const v1::MigrationReport& report,
                                              DefinitionSource& target) {
  return Verifier(target).Run(report);
}

}  // namespace cmig::migration
