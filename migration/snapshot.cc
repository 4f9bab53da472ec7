#include "migration/snapshot.h"

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "definitions/canonical.h"
#include "definitions/conductor_json.h"
#include "definitions/conductor_messages.h"
#include "migration/package.h"
#include "migration/plan_secrets.h"

namespace cmig::migration {

absl::StatusOr<v1::TargetSnapshot> TakeSnapshot(const v1::MigrationPlan& plan,
                                                DefinitionSource& target) {
  if (plan.blocked()) {
    return absl::FailedPreconditionError("the plan is blocked; there is nothing to snapshot");
  }
  v1::TargetSnapshot snap;
  snap.set_package_digest(plan.package_digest());
  for (const v1::PlannedItem& p : plan.items()) {
    if ((p.action() != v1::ITEM_ACTION_CREATE && p.action() != v1::ITEM_ACTION_UPDATE) ||
        p.kind() == v1::ITEM_KIND_SECRET) {
      continue;  // secrets: SnapshotSecrets
    }
    v1::SnapshotEntry* e = snap.add_entries();
    e->set_kind(p.kind());
    e->set_name(p.name());
    e->set_version(p.kind() == v1::ITEM_KIND_WORKFLOW_DEF ? p.target_version() : 0);
    e->set_written_sha256(p.planned_sha256());
    std::string json;
    absl::Status st;
    if (p.kind() == v1::ITEM_KIND_TASK_DEF) {
      auto def = target.GetTaskDef(p.name());
      st = def.status();
      if (def.ok()) {
        json = CanonicalJson(*def);
      }
    } else if (p.kind() == v1::ITEM_KIND_EVENT_HANDLER) {
      auto handler = target.GetEventHandler(p.name());
      st = handler.status();
      if (handler.ok()) {
        json = CanonicalJson(*handler);
      }
    } else if (p.kind() == v1::ITEM_KIND_SCHEDULE) {
      auto schedule = target.GetSchedule(p.name());
      st = schedule.status();
      if (schedule.ok()) {
        json = CanonicalJson(*schedule);
      }
    } else {
      auto def = target.GetWorkflowDef(p.name(), p.target_version());
      st = def.status();
      if (def.ok()) {
        json = CanonicalJson(*def);
      }
    }
    if (absl::IsNotFound(st)) {
      continue;
    }
    if (!st.ok()) {
      return absl::Status(st.code(),
                          absl::StrCat("reading ", DescribeItem(p.kind(), p.name(), e->version()),
                                       " for the snapshot: ", st.message()));
    }
    e->set_existed(true);
    e->set_sha256(Sha256Hex(json));
    e->set_canonical_json(std::move(json));
  }
  return snap;
}

absl::StatusOr<std::vector<RestoreStep>> StepsToRestore(const v1::TargetSnapshot& snapshot) {
  std::vector<RestoreStep> steps;
  for (int i = snapshot.entries_size() - 1; i >= 0; --i) {
    const v1::SnapshotEntry& e = snapshot.entries(i);
    std::string what = DescribeItem(e.kind(), e.name(), e.version());
    RestoreStep s;
    s.kind = e.kind();
    s.name = e.name();
    s.version = e.version();
    s.before_sha256 = e.sha256();
    s.written_sha256 = e.written_sha256();
    if (!e.existed()) {
      s.action = RestoreStep::Action::kRemove;
      steps.push_back(std::move(s));
      continue;
    }
    if (Sha256Hex(e.canonical_json()) != e.sha256()) {
      return absl::InvalidArgumentError(
          absl::StrCat("snapshot entry for ", what, " does not match its sha256"));
    }
    s.action = RestoreStep::Action::kPut;
    if (!e.extra_json().empty()) {
      absl::StatusOr<google::protobuf::Value> extra = ParseJson(e.extra_json());
      if (!extra.ok() || !extra->has_struct_value()) {
        return absl::InvalidArgumentError(
            absl::StrCat("snapshot entry for ", what, ": its extra keys are not an object"));
      }
      s.extra = *std::move(extra);
    }
    if (e.kind() == v1::ITEM_KIND_TASK_DEF) {
      auto def = ParseTaskDef(e.canonical_json());
      if (!def.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("snapshot entry for ", what, ": ", def.status().message()));
      }
      s.task_def = *std::move(def);
    } else if (e.kind() == v1::ITEM_KIND_EVENT_HANDLER) {
      auto handler = ParseEventHandler(e.canonical_json());
      if (!handler.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("snapshot entry for ", what, ": ", handler.status().message()));
      }
      s.event_handler = *std::move(handler);
    } else if (e.kind() == v1::ITEM_KIND_SCHEDULE) {
      auto schedule = ParseScheduleDefinition(e.canonical_json());
      if (!schedule.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("snapshot entry for ", what, ": ", schedule.status().message()));
      }
      s.schedule = *std::move(schedule);
    } else if (e.kind() == v1::ITEM_KIND_WORKFLOW_DEF) {
      auto def = ParseWorkflowDef(e.canonical_json());
      if (!def.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("snapshot entry for ", what, ": ", def.status().message()));
      }
      s.workflow_def = *std::move(def);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("snapshot entry ", i, " has no known kind"));
    }
    steps.push_back(std::move(s));
  }
  return steps;
}

RestoreStep::Decision RestoreStep::Decide(const std::optional<std::string>& current_sha256) const {
  if (written_sha256.empty()) return Decision::kRestore;  // a snapshot that did not record it
  if (!current_sha256.has_value()) {
    // The apply removes nothing: a key it created is not there yet; one that existed was
    // deleted by hand.
    return action == Action::kRemove ? Decision::kAsBefore : Decision::kChangedSince;
  }
  if (*current_sha256 == written_sha256) return Decision::kRestore;
  if (action == Action::kPut && *current_sha256 == before_sha256) return Decision::kAsBefore;
  return Decision::kChangedSince;
}

namespace {

std::string SecretBackupPrefix(absl::string_view workflow_id) {
  return absl::StrCat("cmig-backup.", workflow_id, ".");
}

}  // namespace

std::string SecretBackupName(absl::string_view workflow_id, absl::string_view name) {
  return absl::StrCat(SecretBackupPrefix(workflow_id), name);
}

std::string SecretWrittenName(absl::string_view workflow_id, absl::string_view name) {
  return absl::StrCat(SecretBackupPrefix(workflow_id), "written.", name);
}

absl::StatusOr<std::vector<v1::SecretSnapshot>> SnapshotSecrets(
    const std::vector<std::string>& names, absl::string_view workflow_id,
    client::SecretClient& store) {
  std::vector<v1::SecretSnapshot> out;
  for (const std::string& name : names) {
    v1::SecretSnapshot s;
    s.set_name(name);
    absl::StatusOr<std::string> value = store.GetSecret(name);
    if (absl::IsNotFound(value.status())) {
      out.push_back(std::move(s));
      continue;
    }
    if (!value.ok()) {
      return absl::Status(
          value.status().code(),
          absl::StrCat("reading secret '", name, "' for the snapshot: ", value.status().message()));
    }
    s.set_existed(true);
    s.set_backup_secret(SecretBackupName(workflow_id, name));
    if (absl::Status put = store.PutSecret(s.backup_secret(), *value); !put.ok()) {
      return absl::Status(put.code(), absl::StrCat("keeping the prior value of secret '", name,
                                                   "': ", put.message()));
    }
    out.push_back(std::move(s));
  }
  return out;
}

absl::StatusOr<SecretRestore> RestoreSecrets(const v1::TargetSnapshot& snapshot,
                                             absl::string_view workflow_id,
                                             client::SecretClient& store) {
  SecretRestore r;
  for (const v1::SecretSnapshot& s : snapshot.secrets()) {
    // What the apply wrote, when it got to write this secret.
    absl::StatusOr<std::string> written = store.GetSecret(SecretWrittenName(workflow_id, s.name()));
    if (!written.ok() && !absl::IsNotFound(written.status())) return written.status();
    if (written.ok()) {
      absl::StatusOr<std::string> current = store.GetSecret(s.name());
      if (!current.ok() && !absl::IsNotFound(current.status())) return current.status();
      const bool same = current.ok() && SameSecretValue(*current, *written);
      if (!same) {
        // Deleted since a prior value existed, or holding another value: the operator's change.
        if (current.ok() || s.existed()) r.changed_since.push_back(s.name());
        continue;
      }
    }
    if (!s.existed()) {
      absl::Status st = store.DeleteSecret(s.name());
      if (!st.ok() && !absl::IsNotFound(st)) return st;
      if (st.ok()) ++r.removed;
      continue;
    }
    absl::StatusOr<std::string> prior = store.GetSecret(s.backup_secret());
    if (absl::IsNotFound(prior.status())) continue;  // restored by an earlier attempt
    RETURN_IF_ERROR(prior.status());
    RETURN_IF_ERROR(store.PutSecret(s.name(), *prior));
    ++r.restored;
  }
  RETURN_IF_ERROR(ReleaseSecretBackups(workflow_id, store).status());
  return r;
}

absl::Status EnsureSecretBackups(const v1::TargetSnapshot& snapshot, client::SecretClient& store) {
  for (const v1::SecretSnapshot& s : snapshot.secrets()) {
    if (!s.existed()) continue;
    absl::StatusOr<std::string> backup = store.GetSecret(s.backup_secret());
    if (backup.ok()) continue;
    if (!absl::IsNotFound(backup.status())) return backup.status();
    absl::StatusOr<std::string> current = store.GetSecret(s.name());
    if (absl::IsNotFound(current.status())) continue;  // removed by hand since: nothing to keep
    RETURN_IF_ERROR(current.status());
    RETURN_IF_ERROR(store.PutSecret(s.backup_secret(), *current));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> ReleaseSecretBackups(absl::string_view workflow_id,
                                         client::SecretClient& store) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, store.ListSecretNames());
  const std::string prefix = SecretBackupPrefix(workflow_id);
  int deleted = 0;
  for (const std::string& name : names) {
    if (!absl::StartsWith(name, prefix)) continue;
    absl::Status st = store.DeleteSecret(name);
    if (!st.ok() && !absl::IsNotFound(st)) return st;
    ++deleted;
  }
  return deleted;
}

}  // namespace cmig::migration
