// Snapshot of what an apply will change in the target, and how to restore it.
//
//   ASSIGN_OR_RETURN(v1::TargetSnapshot snap, TakeSnapshot(plan, target));   // before apply
//   ...apply fails...
//   ASSIGN_OR_RETURN(auto steps, StepsToRestore(snap));
//   for (const RestoreStep& s : steps) ...  // kPut: register the definition; kRemove: unregister
//
// The snapshot covers exactly the keys the plan writes (CREATE and UPDATE items at their target
// versions). Restoring walks them in reverse apply order, so parents are put back or removed
// before the sub-workflows they reference. Restoring twice is harmless: the same puts and removes.
//
// Secrets a package carries (includeSecrets) are snapshotted apart from definitions, because their
// values must never travel through task data: SnapshotSecrets copies each prior value, inside the
// target's secret store, to a backup name derived from the incoming workflow's id, and the
// snapshot records only names. RestoreSecrets puts the prior values back (or deletes what did not
// exist) and ReleaseSecretBackups removes the backups once the migration succeeded or was rolled
// back.
//
//   ASSIGN_OR_RETURN(auto secrets, SnapshotSecrets(names, workflow_id, store));   // before apply
//   ...apply fails...
//   ASSIGN_OR_RETURN(SecretRestore r, RestoreSecrets(snapshot, workflow_id, store));
#ifndef CMIG_MIGRATION_SNAPSHOT_H_
#define CMIG_MIGRATION_SNAPSHOT_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/extensions_client.h"
#include "cmig/v1/report.pb.h"
#include "conductor/model/eventhandler.pb.h"
#include "conductor/model/taskdef.pb.h"
#include "conductor/model/workflowdef.pb.h"
#include "google/protobuf/struct.pb.h"
#include "migration/definition_source.h"

namespace cmig::migration {

// Reads the target's current definition under every key `plan` writes. Blocks on `target`.
// FailedPrecondition for a blocked plan; other errors of `target` than NotFound pass through.
absl::StatusOr<v1::TargetSnapshot> TakeSnapshot(const v1::MigrationPlan& plan,
                                                DefinitionSource& target);

struct RestoreStep {
  enum class Action { kPut, kRemove };
  Action action = Action::kPut;
  v1::ItemKind kind = v1::ITEM_KIND_UNSPECIFIED;
  std::string name;
  int32_t version = 0;                           // workflows only
  conductor::proto::TaskDef task_def;            // kPut of a task definition
  conductor::proto::WorkflowDef workflow_def;    // kPut of a workflow
  conductor::proto::EventHandler event_handler;  // kPut of an event handler
  v1::WorkflowSchedule schedule;                 // kPut of a schedule
  google::protobuf::Value extra;                 // kPut: keys beyond the proto; unset if none
  std::string before_sha256;                     // what the target held (kPut)
  std::string written_sha256;                    // what the apply writes; empty if unrecorded

  enum class Decision {
    kRestore,       // the target holds what the apply wrote: put back or remove
    kAsBefore,      // the apply never got to this key: nothing to do
    kChangedSince,  // changed by hand since the apply wrote it: left as it is
  };
  // What a rollback does given the target's current definition under the key (its canonical
  // hash; nullopt when absent).
  Decision Decide(const std::optional<std::string>& current_sha256) const;
};

// The writes that return the target to `snapshot`, in reverse apply order. InvalidArgument when
// an entry's JSON does not match its hash or does not parse.
absl::StatusOr<std::vector<RestoreStep>> StepsToRestore(const v1::TargetSnapshot& snapshot);

// The name under which the snapshot of incoming workflow `workflow_id` keeps the prior value of
// secret `name` in the target's secret store: "cmig-backup.<workflow_id>.<name>".
std::string SecretBackupName(absl::string_view workflow_id, absl::string_view name);

// For every name in `names`: whether `store` holds it now and, when it does, a copy of its value
// under SecretBackupName. Blocks on `store`; its errors pass through (Unimplemented when the
// server has no secret store). Repeating it before the apply writes anything is harmless.
absl::StatusOr<std::vector<v1::SecretSnapshot>> SnapshotSecrets(
    const std::vector<std::string>& names, absl::string_view workflow_id,
    client::SecretClient& store);

// The name under which the apply of incoming workflow `workflow_id` keeps a copy of the value it
// wrote to secret `name`, so that a rollback can tell a value changed by hand since:
// "cmig-backup.<workflow_id>.written.<name>". ReleaseSecretBackups removes it with the backups.
std::string SecretWrittenName(absl::string_view workflow_id, absl::string_view name);

struct SecretRestore {
  int restored = 0;  // prior values put back
  int removed = 0;   // secrets the apply created, deleted
  // Secrets whose value changed in the target since the apply wrote it (or that were deleted
  // since): left as they are.
  std::vector<std::string> changed_since;
};

// Puts back every prior value recorded in `snapshot` from its backup and deletes every secret that
// did not exist, then removes the backups of `workflow_id`. A secret whose value is no longer the
// one the apply wrote (its SecretWrittenName copy; compared in constant time) was changed by hand
// since: it is left as it is and listed in changed_since. A backup already gone means an earlier
// attempt restored that secret (backups are removed only after every value was put back), so it
// is skipped: running it twice is harmless. Errors of `store` pass through.
absl::StatusOr<SecretRestore> RestoreSecrets(const v1::TargetSnapshot& snapshot,
                                             absl::string_view workflow_id,
                                             client::SecretClient& store);

// Makes sure every prior value `snapshot` recorded has its backup before an apply overwrites it
// again: a workflow retried after its rollback (which restored the values and released the
// backups) re-applies, and a second failure must still find them. A missing backup is taken from
// the secret's current value, which the rollback put back. Errors of `store` pass through.
absl::Status EnsureSecretBackups(const v1::TargetSnapshot& snapshot, client::SecretClient& store);

// Deletes every backup SnapshotSecrets made for `workflow_id` (after a successful migration).
// Returns how many it deleted. Errors of `store` pass through.
absl::StatusOr<int> ReleaseSecretBackups(absl::string_view workflow_id,
                                         client::SecretClient& store);

}  // namespace cmig::migration

#endif  // CMIG_MIGRATION_SNAPSHOT_H_
