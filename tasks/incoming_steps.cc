// The incoming steps, in the target environment: validate the package, plan it against the
// target, snapshot what the apply overwrites, apply in dependency order and verify what was applied
// (workflows/incoming_migration_request.json).
#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "definitions/canonical.h"
#include "definitions/conductor_json.h"
#include "definitions/json.h"
#include "definitions/json_overlay.h"
#include "migration/apply_order.h"
#include "migration/approval.h"
#include "migration/package.h"
#include "migration/plan.h"
#include "migration/plan_secrets.h"
#include "migration/snapshot.h"
#include "migration/verify.h"
#include "tasks/step_io.h"
#include "tasks/steps.h"

namespace cmig::tasks {

using migration::ApplyApproval;
using migration::ApplyStep;
using migration::DefinitionSource;
using migration::EnsureSecretBackups;
using migration::PackageContents;
using migration::PackageFromJson;
using migration::PlanMigration;
using migration::PlanSecrets;
using migration::ReleaseSecretBackups;
using migration::ReportFromPlan;
using migration::SecretsToWrite;
using migration::SecretWrittenName;
using migration::SnapshotSecrets;
using migration::StepsToApply;
using migration::TakeSnapshot;
using migration::ValidatePackage;
using migration::VerifySecrets;
using migration::VerifyTarget;

namespace {

using google::protobuf::Value;

// The package behind `ref`, parsed and validated. A package that does not parse or validate is
// InvalidArgument (terminal), saying that nothing was changed.
absl::StatusOr<std::shared_ptr<const ParsedPackage>> LoadPackage(StepState& state,
                                                                 absl::string_view ref) {
  const bool stored = absl::StartsWith(ref, kStoredPrefix);
  if (stored) {
    if (std::shared_ptr<const ParsedPackage> cached = state.CachedPackage(ref)) return cached;
  }
  ASSIGN_OR_RETURN(std::string json, state.Load(ref, "package"));
  auto parsed = std::make_shared<ParsedPackage>();
  absl::StatusOr<v1::MigrationPackage> p = PackageFromJson(json);
  if (!p.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the package is malformed: ", p.status().message()));
  }
  parsed->package = *std::move(p);
  absl::StatusOr<PackageContents> contents = ValidatePackage(parsed->package);
  if (!contents.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("the package is rejected, nothing was changed: ",
                                                   contents.status().message()));
  }
  parsed->contents = *std::move(contents);
  if (stored) state.CachePackage(ref, parsed);
  return std::shared_ptr<const ParsedPackage>(std::move(parsed));
}

// Whether an input is present with a value (absent and JSON null are both "not given").
bool IsGiven(const Value* v) {
  return v != nullptr && v->kind_case() != Value::KIND_NOT_SET &&
         v->kind_case() != Value::kNullValue;
}

// The JSON name of a value's kind, for messages about inputs of the wrong type.
absl::string_view KindName(const Value& v) {
  switch (v.kind_case()) {
    case Value::kStringValue:
      return "a string";
    case Value::kNumberValue:
      return "a number";
    case Value::kBoolValue:
      return "a boolean";
    case Value::kListValue:
      return "a list";
    case Value::kStructValue:
      return "an object";
    default:
      return "null";
  }
}

// The environment the step writes: input "remoteTarget" (a REST environment this incoming
// workflow runs here for), else this one.
absl::StatusOr<std::shared_ptr<client::ConductorEnvironment>> WrittenEnvironment(StepState& state,
                                                                                 TaskContext& ctx) {
  ASSIGN_OR_RETURN(std::string remote, OptionalStringInput(ctx, kRemoteTargetInput));
  return state.Written(remote);
}

class ValidatePackageStep final : public Step {
 public:
  using Step::Step;
  absl::StatusOr<TaskOutcome> Run(TaskContext& ctx) override {
    std::string ref;
    const Value* inline_package = ctx.Input("package");
    const Value* package_ref = ctx.Input("packageRef");
    if (IsGiven(package_ref) && package_ref->kind_case() != Value::kStringValue) {
      return absl::InvalidArgumentError(
          absl::StrCat("input 'packageRef' must be a string, not ", KindName(*package_ref)));
    }
    if (IsGiven(inline_package) && !inline_package->has_struct_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("input 'package' must be a JSON object (the package itself), not ",
                       KindName(*inline_package)));
    }
    if (IsGiven(package_ref) && !package_ref->string_value().empty()) {
      ref = package_ref->string_value();
    } else if (IsGiven(inline_package)) {
      // A package given inline (offline import against a server without a blob store).
      ASSIGN_OR_RETURN(ref, state().Store(WriteJson(*inline_package), "package"));
    } else {
      return absl::InvalidArgumentError("neither input 'packageRef' nor 'package' is given");
    }
    ASSIGN_OR_RETURN(std::shared_ptr<const ParsedPackage> parsed, LoadPackage(state(), ref));
    const v1::MigrationPackage& package = parsed->package;
    const PackageContents* contents = &parsed->contents;
    ctx.AddLog(absl::StrCat("package ", package.digest(), " from '", package.source_environment(),
                            "' is valid: ", contents->task_defs.size(), " task and ",
                            contents->workflows.size(), " workflow definitions and ",
                            contents->event_handlers.size(), " event handlers"));
    TaskOutcome out;
    SetString(out.output, "packageRef", ref);
    SetString(out.output, "packageDigest", package.digest());
    SetString(out.output, "sourceEnvironment", package.source_environment());
    SetNumber(out.output, "taskDefs", static_cast<double>(contents->task_defs.size()));
    SetNumber(out.output, "workflowDefs", static_cast<double>(contents->workflows.size()));
    SetNumber(out.output, "eventHandlers", static_cast<double>(contents->event_handlers.size()));
    SetNumber(out.output, "schedules", static_cast<double>(contents->schedules.size()));
    SetBool(out.output, "dryRun", package.options().dry_run());
    return out;
  }
};

// Preflight of the secrets the definitions read and the package does not carry: each one the
// target's secret store lacks becomes a warning (added to `warnings`, for the plan) (the workflows
// that read it fail at run time until it is set), and a target without a secret API one warning
// saying so. Only names are asked, never values. Answers the secrets found missing. Errors other
// than Unimplemented come back (a retry may pass).
absl::StatusOr<std::set<std::string>> CheckReferencedSecrets(const v1::MigrationPackage& package,
                                                             client::SecretClient* store,
                                                             std::vector<std::string>& warnings) {
  std::set<std::string> missing;
  std::set<std::string> carried;
  for (const v1::SecretValue& s : package.secrets()) carried.insert(s.name());
  for (const v1::Dependency& d : package.dependencies().dependencies()) {
    if (d.kind() != v1::DEPENDENCY_KIND_SECRET || carried.count(d.name()) > 0) continue;
    absl::StatusOr<bool> exists = store == nullptr ? absl::UnimplementedError("no secret store")
                                                   : store->SecretExists(d.name());
    if (absl::IsUnimplemented(exists.status())) {
      warnings.push_back(
          "the target has no secret API to check referenced secrets against; set them there by "
          "hand (listed under the dependencies to provide)");
      return std::set<std::string>();
    }
    RETURN_IF_ERROR(exists.status());
    if (!*exists) {
      warnings.push_back(absl::StrCat("secret '", d.name(),
                                      "' is not in the target; the workflows that read it fail "
                                      "until it is set there"));
      missing.insert(d.name());
    }
  }
  return missing;
}

// For a target that cannot keep keys beyond the proto (gRPC): one warning per definition the
// plan writes that carries such keys, naming each, before anything is applied.
void WarnOfDroppedKeys(const PackageContents& contents, v1::MigrationPlan& plan) {
  // The extra keys validation parsed, and where each definition's proto JSON stands.
  struct WithExtras {
    const Value* extra;
    Value converted;
  };
  std::map<std::tuple<int, std::string, int32_t>, WithExtras> with_extras;
  for (size_t k = 0; k < contents.task_defs.size(); ++k) {
    if (!contents.task_def_extras[k].has_struct_value()) continue;
    const conductor::proto::TaskDef& d = contents.task_defs[k];
    with_extras[{v1::ITEM_KIND_TASK_DEF, d.name(), 0}] = {&contents.task_def_extras[k],
                                                          TaskDefToValue(d)};
  }
  for (size_t k = 0; k < contents.workflows.size(); ++k) {
    if (!contents.workflow_extras[k].has_struct_value()) continue;
    const conductor::proto::WorkflowDef& d = contents.workflows[k];
    with_extras[{v1::ITEM_KIND_WORKFLOW_DEF, d.name(), d.version()}] = {
        &contents.workflow_extras[k], WorkflowDefToValue(d)};
  }
  if (with_extras.empty()) return;
  for (const v1::PlannedItem& p : plan.items()) {
    if (p.action() != v1::ITEM_ACTION_CREATE && p.action() != v1::ITEM_ACTION_UPDATE) continue;
    auto it = with_extras.find({p.kind(), p.name(), p.source_version()});
    if (it == with_extras.end()) continue;
    plan.add_warnings(absl::StrCat(
        migration::DescribeItem(p.kind(), p.name(), p.source_version()),
        " has keys the target's gRPC API cannot carry; they are dropped: ",
        absl::StrJoin(MissingKeyPaths(*it->second.extra, it->second.converted), ", ")));
  }
}

class PlanMigrationStep final : public Step {
 public:
  using Step::Step;
  absl::StatusOr<TaskOutcome> Run(TaskContext& ctx) override {
    ASSIGN_OR_RETURN(std::string ref, StringInput(ctx, "packageRef"));
    std::string target_env;
    if (const Value* t = ctx.Input("targetEnvironment"); t && t->has_string_value()) {
      target_env = t->string_value();
    }
    ASSIGN_OR_RETURN(std::shared_ptr<const ParsedPackage> parsed, LoadPackage(state(), ref));
    const v1::MigrationPackage& package = parsed->package;
    ASSIGN_OR_RETURN(std::shared_ptr<client::ConductorEnvironment> written,
                     WrittenEnvironment(state(), ctx));
    ASSIGN_OR_RETURN(std::unique_ptr<DefinitionSource> target, ReadAll(*written));
    std::vector<std::string> secret_warnings;
    ASSIGN_OR_RETURN(std::set<std::string> missing_secrets,
                     CheckReferencedSecrets(package, written->secrets(), secret_warnings));
    ASSIGN_OR_RETURN(v1::MigrationPlan plan,
                     PlanMigration(package, parsed->contents, *target, missing_secrets));
    RETURN_IF_ERROR(PlanSecrets(package, written->secrets(), plan));
    for (std::string& w : secret_warnings) plan.add_warnings(std::move(w));
    // Last: the fingerprint covers every item, secrets included.
    ApplyApproval(package, plan);
    if (!written->metadata().KeepsExtraKeys()) WarnOfDroppedKeys(parsed->contents, plan);
    ASSIGN_OR_RETURN(std::string plan_ref, state().StoreMessage(plan, "plan"));
    v1::MigrationReport report = ReportFromPlan(package, plan, target_env);
    report.set_dry_run(package.options().dry_run());
    for (const std::string& p : plan.blocking_problems()) ctx.AddLog(absl::StrCat("blocked: ", p));
    std::vector<std::string> counts;
    for (const auto& c : plan.counts()) {
      counts.push_back(absl::StrCat(v1::ItemKind_Name(c.kind()), " ",
                                    v1::ItemAction_Name(c.action()), " ", c.count()));
    }
    ctx.AddLog(
        absl::StrCat("plan: ", absl::StrJoin(counts, ", "), plan.blocked() ? " (blocked)" : ""));
    TaskOutcome out;
    SetString(out.output, "planRef", plan_ref);
    SetBool(out.output, "dryRun", package.options().dry_run());
    SetBool(out.output, "blocked", plan.blocked());
    RETURN_IF_ERROR(SetReport(state(), out.output, report));
    if (package.options().dry_run()) {
      // A dry run ends with its plan: the package is no longer needed here.
      ASSIGN_OR_RETURN(std::string remote, OptionalStringInput(ctx, kRemoteTargetInput));
      RETURN_IF_ERROR(ReleaseIncomingPackage(state(), remote, ref));
      v1::MigrationPlan shown = plan;
      if (shown.items_size() > kInlineReportItems) shown.clear_items();  // in planRef
      RETURN_IF_ERROR(SetMessage(out.output, "plan", shown));
    }
    return out;
  }
};

class SnapshotTarget final : public Step {
 public:
  using Step::Step;
  absl::StatusOr<TaskOutcome> Run(TaskContext& ctx) override {
    ASSIGN_OR_RETURN(std::string plan_ref, StringInput(ctx, "planRef"));
    ASSIGN_OR_RETURN(std::string package_ref, StringInput(ctx, "packageRef"));
    ASSIGN_OR_RETURN(auto plan, state().LoadMessage<v1::MigrationPlan>(plan_ref, "plan"));
    ASSIGN_OR_RETURN(std::shared_ptr<const ParsedPackage> parsed,
                     LoadPackage(state(), package_ref));
    const v1::MigrationPackage* package = &parsed->package;
    ASSIGN_OR_RETURN(std::shared_ptr<client::ConductorEnvironment> written,
                     WrittenEnvironment(state(), ctx));
    // A REST target's keys beyond the proto are kept too, so a rollback puts them back.
    std::map<std::string, Value> extras;
    ASSIGN_OR_RETURN(std::unique_ptr<DefinitionSource> target, ReadAll(*written, &extras));
    ASSIGN_OR_RETURN(v1::TargetSnapshot snapshot, TakeSnapshot(plan, *target));
    for (v1::SnapshotEntry& e : *snapshot.mutable_entries()) {
      auto it = extras.find(ExtrasKey(e.kind(), e.name(), e.version()));
      if (e.existed() && it != extras.end()) e.set_extra_json(CanonicalJson(it->second));
    }
    if (std::vector<std::string> names = SecretsToWrite(plan); !names.empty()) {
      // The apply will write these; their prior values stay in this environment's secret
      // store (under backup names), never in the snapshot or any task's data.
      absl::StatusOr<std::vector<v1::SecretSnapshot>> secrets =
          written->secrets() == nullptr
              ? absl::UnimplementedError("no secret store is configured")
              : SnapshotSecrets(names, ctx.task().workflow_instance_id(), *written->secrets());
      if (absl::IsUnimplemented(secrets.status())) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the package carries secret values and this environment has no secret store to "
            "write them to (cmig.v1.Secrets); migrate without includeSecrets and set the "
            "secrets by hand: ",
            secrets.status().message()));
      }
      RETURN_IF_ERROR(secrets.status());
      for (auto& s : *secrets) *snapshot.add_secrets() = std::move(s);
    }
    ASSIGN_OR_RETURN(std::string ref, state().StoreMessage(snapshot, "snapshot"));
    int existed = 0;
    for (const auto& e : snapshot.entries()) existed += e.existed() ? 1 : 0;
    int secrets_existed = 0;
    for (const auto& e : snapshot.secrets()) secrets_existed += e.existed() ? 1 : 0;
    ctx.AddLog(absl::StrCat(
        "snapshot of ", snapshot.entries_size(), " keys the apply writes (", existed, " exist now)",
        snapshot.secrets_size() == 0
            ? ""
            : absl::StrCat(" and of ", snapshot.secrets_size(), " secrets (", secrets_existed,
                           " exist now; prior values kept "
                           "in the secret store)")));
    TaskOutcome out;
    SetString(out.output, "snapshotRef", ref);
    SetNumber(out.output, "entries", snapshot.entries_size());
    SetNumber(out.output, "existing", existed);
    SetNumber(out.output, "secrets", snapshot.secrets_size());
    return out;
  }
};

class ApplyMigration final : public Step {
 public:
  using Step::Step;
  absl::StatusOr<TaskOutcome> Run(TaskContext& ctx) override {
    ASSIGN_OR_RETURN(std::string package_ref, StringInput(ctx, "packageRef"));
    ASSIGN_OR_RETURN(std::string plan_ref, StringInput(ctx, "planRef"));
    ASSIGN_OR_RETURN(std::shared_ptr<const ParsedPackage> parsed,
                     LoadPackage(state(), package_ref));
    const v1::MigrationPackage& package = parsed->package;
    ASSIGN_OR_RETURN(auto plan, state().LoadMessage<v1::MigrationPlan>(plan_ref, "plan"));
    ASSIGN_OR_RETURN(std::vector<ApplyStep> steps, StepsToApply(package, parsed->contents, plan));
    ASSIGN_OR_RETURN(std::shared_ptr<client::ConductorEnvironment> written,
                     WrittenEnvironment(state(), ctx));
    client::SecretClient* secret_store = written->secrets();
    const std::vector<std::string> secrets = SecretsToWrite(plan);
    if (!secrets.empty()) {
      if (secret_store == nullptr) {
        return absl::FailedPreconditionError(
            "the package carries secret values and this environment has no secret store to "
            "write them to (cmig.v1.Secrets)");
      }
      if (const Value* r = ctx.Input("snapshotRef");
          r != nullptr && r->has_string_value() && !r->string_value().empty()) {
        ASSIGN_OR_RETURN(auto snapshot,
                         state().LoadMessage<v1::TargetSnapshot>(r->string_value(), "snapshot"));
        RETURN_IF_ERROR(EnsureSecretBackups(snapshot, *secret_store));
      }
      const std::set<std::string> to_write(secrets.begin(), secrets.end());
      for (const v1::SecretValue& secret : package.secrets()) {
        if (to_write.count(secret.name()) == 0) continue;
        RETURN_IF_ERROR(secret_store->PutSecret(secret.name(), secret.value()));
        // After the write: a copy without its secret means it was never written, and a
        // rollback then restores the secret as usual.
        RETURN_IF_ERROR(secret_store->PutSecret(
            SecretWrittenName(ctx.task().workflow_instance_id(), secret.name()), secret.value()));
      }
      ctx.AddLog(absl::StrCat("wrote ", secrets.size(), " secret values"));
    }
    const int batch = std::max(1, deps().apply_batch_size);
    size_t i = 0;
    while (i < steps.size()) {
      // A batch holds one kind only, so task definitions are all written before any workflow.
      size_t end = i;
      while (end < steps.size() && end - i < static_cast<size_t>(batch) &&
             steps[end].kind == steps[i].kind) {
        ++end;
      }
      if (deps().before_apply_write) {
        RETURN_IF_ERROR(deps().before_apply_write(steps[i], static_cast<int>(i)));
      }
      // A terminated migration writes no further batch (its rollback undoes what was written).
      ASSIGN_OR_RETURN(conductor::proto::Workflow self,
                       deps().workflows->GetWorkflowStatus(ctx.task().workflow_instance_id(),
                                                           /*include_tasks=*/false));
      if (self.status() != conductor::proto::Workflow::RUNNING) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the migration ended ", conductor::proto::Workflow::WorkflowStatus_Name(self.status()),
            " after ", i, " of ", steps.size(), " definitions were written; no more are written"));
      }
      // Extra keys go where the target keeps them (REST); the plan warned where it does not.
      std::vector<Value> extras;
      for (size_t k = i; k < end; ++k) extras.push_back(std::move(steps[k].extra));
      if (steps[i].kind == v1::ITEM_KIND_SCHEDULE) {
        client::ScheduleClient* schedules = written->schedules();
        if (schedules == nullptr) {
          return absl::FailedPreconditionError(
              "the plan writes schedules and this environment has no scheduler");
        }
        for (size_t k = i; k < end; ++k) {
          RETURN_IF_ERROR(schedules->SaveSchedule(steps[k].schedule).status());
        }
      } else if (steps[i].kind == v1::ITEM_KIND_EVENT_HANDLER) {
        client::EventHandlerClient* events = written->event_handlers();
        if (events == nullptr) {
          return absl::FailedPreconditionError(
              "the plan writes event handlers and this environment has no event handler API");
        }
        for (size_t k = i; k < end; ++k) {
          RETURN_IF_ERROR(PutEventHandler(*events, steps[k].event_handler,
                                          steps[k].action == v1::ITEM_ACTION_UPDATE));
        }
      } else if (steps[i].kind == v1::ITEM_KIND_TASK_DEF) {
        std::vector<conductor::proto::TaskDef> defs;
        for (size_t k = i; k < end; ++k) defs.push_back(std::move(steps[k].task_def));
        RETURN_IF_ERROR(written->metadata().CreateTaskDefsWithExtras(defs, extras));
      } else {
        std::vector<conductor::proto::WorkflowDef> defs;
        for (size_t k = i; k < end; ++k) defs.push_back(std::move(steps[k].workflow_def));
        RETURN_IF_ERROR(written->metadata().UpdateWorkflowDefsWithExtras(defs, extras));
      }
      i = end;
      if (steps.size() > static_cast<size_t>(batch)) {
        ctx.ReportProgress(absl::StrCat("applied ", i, " of ", steps.size()));
      }
    }
    ctx.AddLog(absl::StrCat("applied ", steps.size(), " definitions in dependency order"));
    TaskOutcome out;
    SetNumber(out.output, "applied", static_cast<double>(steps.size()));
    SetNumber(out.output, "secretsWritten", static_cast<double>(secrets.size()));
    return out;
  }
};

class VerifyApplied final : public Step {
 public:
  using Step::Step;
  absl::StatusOr<TaskOutcome> Run(TaskContext& ctx) override {
    ASSIGN_OR_RETURN(std::string package_ref, StringInput(ctx, "packageRef"));
    ASSIGN_OR_RETURN(std::string plan_ref, StringInput(ctx, "planRef"));
    std::string target_env;
    if (const Value* t = ctx.Input("targetEnvironment"); t && t->has_string_value()) {
      target_env = t->string_value();
    }
    ASSIGN_OR_RETURN(std::shared_ptr<const ParsedPackage> parsed,
                     LoadPackage(state(), package_ref));
    ASSIGN_OR_RETURN(auto plan, state().LoadMessage<v1::MigrationPlan>(plan_ref, "plan"));
    v1::MigrationReport report = ReportFromPlan(parsed->package, plan, target_env);
    // Of the package, verification needs only the secret values: the rest (every item, also
    // parsed) is let go before the target's definitions are read back, so that the two are never
    // in memory together. A retried verification reads the package again.
    v1::MigrationPackage package;
    *package.mutable_secrets() = parsed->package.secrets();
    const bool carries_secrets = parsed->package.contains_secret_values();
    parsed.reset();
    state().ForgetPackage(package_ref);
    ASSIGN_OR_RETURN(std::shared_ptr<client::ConductorEnvironment> written,
                     WrittenEnvironment(state(), ctx));
    ASSIGN_OR_RETURN(std::unique_ptr<DefinitionSource> target, ReadAll(*written));
    ASSIGN_OR_RETURN(v1::Verification verification, VerifyTarget(report, *target));
    if (package.secrets_size() > 0 && written->secrets() != nullptr) {
      RETURN_IF_ERROR(VerifySecrets(package, report, *written->secrets(), verification));
    }
    if (!verification.ok()) {
      return absl::FailedPreconditionError(absl::StrCat("the applied definitions do not verify: ",
                                                        Summarise(verification.problems())));
    }
    *report.mutable_verification() = verification;
    if (package.secrets_size() > 0 && written->secrets() != nullptr) {
      // The migration stands: the prior secret values the snapshot kept are no longer needed.
      RETURN_IF_ERROR(
          ReleaseSecretBackups(ctx.task().workflow_instance_id(), *written->secrets()).status());
    }
    ASSIGN_OR_RETURN(std::string remote, OptionalStringInput(ctx, kRemoteTargetInput));
    RETURN_IF_ERROR(ReleaseIncomingPackage(state(), remote, package_ref, carries_secrets));
    AddDurations(*deps().workflows, ctx.task().workflow_instance_id(), report);
    ctx.AddLog(absl::StrCat("verified ", verification.checked(), " items"));
    TaskOutcome out;
    RETURN_IF_ERROR(SetMessage(out.output, "verification", verification));
    RETURN_IF_ERROR(SetReport(state(), out.output, report));
    return out;
  }
};

}  // namespace

absl::Status RegisterIncomingSteps(HandlerRegistry& registry,
                                   const std::shared_ptr<StepState>& state) {
  RETURN_IF_ERROR(
      registry.Register("cmig_validate_package", std::make_unique<ValidatePackageStep>(state)));
  RETURN_IF_ERROR(
      registry.Register("cmig_plan_migration", std::make_unique<PlanMigrationStep>(state)));
  RETURN_IF_ERROR(
      registry.Register("cmig_snapshot_target", std::make_unique<SnapshotTarget>(state)));
  RETURN_IF_ERROR(
      registry.Register("cmig_apply_migration", std::make_unique<ApplyMigration>(state)));
  RETURN_IF_ERROR(registry.Register("cmig_verify_applied", std::make_unique<VerifyApplied>(state)));
  return absl::OkStatus();
}

}  // namespace cmig::tasks
