// The rollback step, in the target environment: after a failed incoming workflow, put back the
// snapshot its apply overwrote and remove what it created
// (workflows/incoming_migration_rollback.json).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "definitions/canonical.h"
#include "definitions/conductor_json.h"
#include "migration/package.h"
#include "migration/snapshot.h"
#include "tasks/step_io.h"
#include "tasks/steps.h"

namespace cmig::tasks {

using migration::DescribeItem;
using migration::ReleaseSecretBackups;
using migration::RestoreSecrets;
using migration::RestoreStep;
using migration::SecretRestore;
using migration::StepsToRestore;

namespace {

// The canonical hash of the target's definition under the key `s` restores; nullopt when absent.
absl::StatusOr<std::optional<std::string>> CurrentHash(migration::DefinitionSource& target,
                                                       const RestoreStep& s) {
  absl::StatusOr<std::string> json;
  if (s.kind == v1::ITEM_KIND_TASK_DEF) {
    absl::StatusOr<conductor::proto::TaskDef> d = target.GetTaskDef(s.name);
    json = d.ok() ? absl::StatusOr<std::string>(CanonicalJson(*d)) : d.status();
  } else if (s.kind == v1::ITEM_KIND_EVENT_HANDLER) {
    absl::StatusOr<conductor::proto::EventHandler> h = target.GetEventHandler(s.name);
    json = h.ok() ? absl::StatusOr<std::string>(CanonicalJson(*h)) : h.status();
  } else if (s.kind == v1::ITEM_KIND_SCHEDULE) {
    absl::StatusOr<v1::WorkflowSchedule> sc = target.GetSchedule(s.name);
    json = sc.ok() ? absl::StatusOr<std::string>(CanonicalJson(*sc)) : sc.status();
  } else {
    absl::StatusOr<conductor::proto::WorkflowDef> d = target.GetWorkflowDef(s.name, s.version);
    json = d.ok() ? absl::StatusOr<std::string>(CanonicalJson(*d)) : d.status();
  }
  if (absl::IsNotFound(json.status())) return std::nullopt;
  if (!json.ok()) {
    return absl::Status(json.status().code(),
                        absl::StrCat("reading ", DescribeItem(s.kind, s.name, s.version),
                                     " in the target: ", json.status().message()));
  }
  return Sha256Hex(*json);
}

class RestoreSnapshot final : public Step {
 public:
  using Step::Step;
  absl::StatusOr<TaskOutcome> Run(TaskContext& ctx) override {
    ASSIGN_OR_RETURN(std::string failed_id, StringInput(ctx, "failedWorkflowId"));
    ASSIGN_OR_RETURN(conductor::proto::Workflow failed,
                     deps().workflows->GetWorkflowStatus(failed_id, /*include_tasks=*/true));
    std::string snapshot_ref;
    bool apply_started = false;
    // The package the failed workflow read: stored by its validate step, else its input.
    std::string package_ref;
    if (auto it = failed.input().find("packageRef");
        it != failed.input().end() && it->second.has_string_value()) {
      package_ref = it->second.string_value();
    }
    for (const auto& t : failed.tasks()) {
      if (t.reference_task_name() == "validate" &&
          t.status() == conductor::proto::Task::COMPLETED) {
        auto it = t.output_data().find("packageRef");
        if (it != t.output_data().end()) package_ref = it->second.string_value();
      }
      if (t.reference_task_name() == "snapshot" &&
          t.status() == conductor::proto::Task::COMPLETED) {
        auto it = t.output_data().find("snapshotRef");
        if (it != t.output_data().end()) snapshot_ref = it->second.string_value();
      }
      if (t.reference_task_name() == "apply") apply_started = true;
    }
    // The environment the failed workflow wrote: a REST one it ran here for, or this one.
    std::string remote;
    if (auto it = failed.input().find(std::string(kRemoteTargetInput));
        it != failed.input().end() && it->second.has_string_value()) {
      remote = it->second.string_value();
    }
    ASSIGN_OR_RETURN(std::shared_ptr<client::ConductorEnvironment> written,
                     state().Written(remote));
    // The migration has ended: its package goes, whatever the rollback finds.
    RETURN_IF_ERROR(ReleaseIncomingPackage(state(), remote, package_ref));
    client::SecretClient* secret_store = written->secrets();
    TaskOutcome out;
    if (snapshot_ref.empty() || !apply_started) {
      // A snapshot step that failed part-way may still have kept prior secret values.
      if (secret_store != nullptr) {
        absl::StatusOr<int> released = ReleaseSecretBackups(failed_id, *secret_store);
        if (!released.ok() && !absl::IsUnimplemented(released.status())) {
          return released.status();
        }
      }
      ctx.AddLog(absl::StrCat("workflow ", failed_id,
                              " changed nothing before it failed; nothing to restore"));
      SetNumber(out.output, "restored", 0);
      SetNumber(out.output, "removed", 0);
      SetString(out.output, "report", "nothing to restore: no definition was written");
      return out;
    }
    ASSIGN_OR_RETURN(auto snapshot,
                     state().LoadMessage<v1::TargetSnapshot>(snapshot_ref, "snapshot"));
    ASSIGN_OR_RETURN(std::vector<RestoreStep> steps, StepsToRestore(snapshot));
    SecretRestore secrets;
    if (snapshot.secrets_size() > 0) {
      if (secret_store == nullptr) {
        return absl::FailedPreconditionError(
            "cannot restore the secrets the failed apply wrote: no secret store is configured");
      }
      // Secrets first: they are independent of the definitions, and a later definition failure
      // must not leave a new secret value behind.
      ASSIGN_OR_RETURN(secrets, RestoreSecrets(snapshot, failed_id, *secret_store));
      ctx.AddLog(absl::StrCat("secrets: put back ", secrets.restored, " prior values, deleted ",
                              secrets.removed, " the apply created"));
    }
    // Keys changed in the target since the apply wrote them: nothing is restored over them.
    std::vector<std::string> changed;
    for (const std::string& name : secrets.changed_since) {
      changed.push_back(DescribeItem(v1::ITEM_KIND_SECRET, name, 0));
      ctx.AddLog(absl::StrCat(changed.back(),
                              " was changed in the target after the migration wrote it; left as "
                              "it is"));
    }
    int restored = 0, removed = 0;
    // Definitions the server cannot remove (a Conductor server has no gRPC call that removes a
    // workflow definition). The rest of the snapshot is still restored before failing.
    std::vector<std::string> left;
    std::string why_left;
    ASSIGN_OR_RETURN(std::unique_ptr<migration::DefinitionSource> now, ReadAll(*written));
    for (const RestoreStep& s : steps) {
      ASSIGN_OR_RETURN(std::optional<std::string> current, CurrentHash(*now, s));
      const RestoreStep::Decision decision = s.Decide(current);
      if (decision == RestoreStep::Decision::kAsBefore) continue;
      if (decision == RestoreStep::Decision::kChangedSince) {
        changed.push_back(DescribeItem(s.kind, s.name, s.version));
        ctx.AddLog(absl::StrCat(changed.back(),
                                " was changed in the target after the migration wrote it; left "
                                "as it is"));
        continue;
      }
      if (s.kind == v1::ITEM_KIND_EVENT_HANDLER) {
        client::EventHandlerClient* events = written->event_handlers();
        if (events == nullptr) {
          return absl::FailedPreconditionError(
              "cannot restore the event handlers the failed apply wrote: this environment has no "
              "event handler API");
        }
        if (s.action == RestoreStep::Action::kPut) {
          RETURN_IF_ERROR(PutEventHandler(*events, s.event_handler, /*exists=*/true));
          ++restored;
        } else if (absl::Status st = events->RemoveEventHandler(s.name); st.ok()) {
          ++removed;
        } else if (!absl::IsNotFound(st)) {  // not found: the apply never got to write it
          return st;
        }
        continue;
      }
      if (s.kind == v1::ITEM_KIND_SCHEDULE) {
        client::ScheduleClient* schedules = written->schedules();
        if (schedules == nullptr) {
          return absl::FailedPreconditionError(
              "cannot restore the schedules the failed apply wrote: this environment has no "
              "scheduler");
        }
        if (s.action == RestoreStep::Action::kPut) {
          RETURN_IF_ERROR(schedules->SaveSchedule(s.schedule).status());
          ++restored;
        } else {
          RETURN_IF_ERROR(schedules->DeleteSchedule(s.name));
          ++removed;
        }
        continue;
      }
      if (s.action == RestoreStep::Action::kPut) {
        if (s.kind == v1::ITEM_KIND_TASK_DEF) {
          RETURN_IF_ERROR(written->metadata().CreateTaskDefsWithExtras({s.task_def}, {s.extra}));
        } else {
          RETURN_IF_ERROR(
              written->metadata().UpdateWorkflowDefsWithExtras({s.workflow_def}, {s.extra}));
        }
        ++restored;
        continue;
      }
      absl::Status st = absl::UnimplementedError("this server offers no definition removal");
      if (client::DefinitionAdminClient* admin = written->admin(); admin != nullptr) {
        st = s.kind == v1::ITEM_KIND_TASK_DEF ? admin->DeleteTaskDef(s.name)
                                              : admin->DeleteWorkflowDef(s.name, s.version);
      }
      if (absl::IsUnimplemented(st)) {
        // Only what the apply got to write before it failed is left behind.
        absl::Status exists = s.kind == v1::ITEM_KIND_TASK_DEF
                                  ? written->metadata().GetTaskDef(s.name).status()
                                  : written->metadata().GetWorkflowDef(s.name, s.version).status();
        if (absl::IsNotFound(exists)) continue;
        RETURN_IF_ERROR(exists);
        left.push_back(DescribeItem(s.kind, s.name, s.version));
        why_left = std::string(st.message());
        continue;
      }
      if (!st.ok() && !absl::IsNotFound(st)) return st;
      if (st.ok()) ++removed;
    }
    if (!left.empty()) {
      // Retrying cannot add the service: the operator must remove them by hand.
      return absl::FailedPreconditionError(absl::StrCat(
          "restored ", restored, " and removed ", removed, " definitions, but cannot remove ",
          absl::StrJoin(left, ", "), " created by the failed apply (", why_left,
          "): remove them by hand (conductor-oss: DELETE /api/metadata/workflow/NAME/VERSION)"));
    }
    const std::string kept =
        changed.empty() ? ""
                        : absl::StrCat(
                              "; left as they are, changed in the target since the migration wrote "
                              "them: ",
                              absl::StrJoin(changed, ", "));
    ctx.AddLog(absl::StrCat(
        "restored ", restored, " and removed ", removed, " definitions",
        changed.empty() ? absl::StrCat(": the target is as before workflow ", failed_id) : kept));
    google::protobuf::Value changed_list;
    for (const std::string& c : changed) {
      changed_list.mutable_list_value()->add_values()->set_string_value(c);
    }
    if (changed.empty()) changed_list.mutable_list_value();
    Set(out.output, "changedSinceApply", std::move(changed_list));
    SetNumber(out.output, "restored", restored);
    SetNumber(out.output, "removed", removed);
    SetNumber(out.output, "secretsRestored", secrets.restored);
    SetNumber(out.output, "secretsRemoved", secrets.removed);
    SetString(out.output, "report",
              absl::StrCat("restored ", restored, ", removed ", removed, " definitions",
                           snapshot.secrets_size() == 0
                               ? ""
                               : absl::StrCat("; restored ", secrets.restored, ", removed ",
                                              secrets.removed, " secrets"),
                           kept));
    return out;
  }
};

}  // namespace

absl::Status RegisterRollbackStep(HandlerRegistry& registry,
                                  const std::shared_ptr<StepState>& state) {
  RETURN_IF_ERROR(
      registry.Register("cmig_restore_snapshot", std::make_unique<RestoreSnapshot>(state)));
  return absl::OkStatus();
}

}  // namespace cmig::tasks
