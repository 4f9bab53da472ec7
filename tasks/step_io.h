// What every migration step shares: reading its inputs, writing its outputs and reports, keeping
// large intermediate results in this environment by reference, and reading an environment's
// definitions. The step handlers (outgoing_steps.cc, incoming_steps.cc, rollback_step.cc) derive
// from Step and hold one StepState between them.
//
//   class Example final : public Step {
//    public:
//     using Step::Step;
//     absl::StatusOr<TaskOutcome> Execute(TaskContext& ctx) override {
//       ASSIGN_OR_RETURN(std::string ref, StringInput(ctx, "planRef"));
//       ASSIGN_OR_RETURN(auto plan, state().LoadMessage<v1::MigrationPlan>(ref, "plan"));
//       TaskOutcome out;
//       SetNumber(out.output, "items", plan.items_size());
//       return out;
//     }
//   };
//
// References: a result stored in the blob store travels as "sha256:<hex>"; without a blob store
// it travels inline as "inline:<base64>", up to MigrationDeps::inline_limit_bytes.
//
// Thread-safety: StepState is safe for concurrent use by every step handler.
#ifndef CMIG_TASKS_STEP_IO_H_
#define CMIG_TASKS_STEP_IO_H_

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "base/status_macros.h"
#include "client/conductor_environment.h"
#include "client/extensions_client.h"
#include "client/metadata_client.h"
#include "client/workflow_client.h"
#include "cmig/v1/extensions.pb.h"
#include "cmig/v1/package.pb.h"
#include "cmig/v1/report.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "google/protobuf/struct.pb.h"
#include "migration/apply_order.h"
#include "migration/definition_source.h"
#include "tasks/migration_handlers.h"
#include "tasks/remote.h"
#include "tasks/task_handler.h"

namespace cmig::tasks {

inline constexpr absl::string_view kStoredPrefix = "sha256:";
inline constexpr absl::string_view kInlinePrefix = "inline:";
// The incoming workflow's input (and its steps') naming the REST environment it writes, when it
// runs here on that environment's behalf; absent or empty = it writes this environment.
inline constexpr absl::string_view kRemoteTargetInput = "remoteTarget";

// ---- inputs and outputs ---------------------------------------------------------------------

// Input `what` parsed into `m`; absent or null leaves `m` as it is. InvalidArgument naming the
// input and the message type when it does not parse.
absl::Status FromValue(const google::protobuf::Value* v, absl::string_view what,
                       google::protobuf::Message* m);
// A string input; InvalidArgument when missing or empty.
absl::StatusOr<std::string> StringInput(TaskContext& ctx, absl::string_view name);
// A string input that may be absent or null (then empty); InvalidArgument when of another type.
absl::StatusOr<std::string> OptionalStringInput(TaskContext& ctx, absl::string_view name);
// Input "options" (cmig.v1.MigrationOptions); defaults when absent.
absl::StatusOr<v1::MigrationOptions> OptionsInput(TaskContext& ctx);

void Set(google::protobuf::Struct& s, absl::string_view key, google::protobuf::Value v);
// A message as task data. Messages written here never hold an Any, so printing them cannot fail;
// should it, the step fails rather than writing an empty value.
absl::Status SetMessage(google::protobuf::Struct& s, absl::string_view key,
                        const google::protobuf::Message& m);
void SetString(google::protobuf::Struct& s, absl::string_view key, absl::string_view v);
void SetNumber(google::protobuf::Struct& s, absl::string_view key, double v);
void SetBool(google::protobuf::Struct& s, absl::string_view key, bool v);

// First `n` problems, joined, so a status message stays readable.
std::string Summarise(const google::protobuf::RepeatedPtrField<std::string>& problems,
                      size_t n = 10);

// ---- an environment's definitions and history -----------------------------------------------

// Every event handler `events` holds; Unimplemented when `events` is null (an environment without
// an event handler API).
absl::StatusOr<std::vector<conductor::proto::EventHandler>> ListEventHandlersOf(
    client::EventHandlerClient* events);

// Every schedule `schedules` holds; Unimplemented when it is null (no scheduler).
absl::StatusOr<std::vector<v1::WorkflowSchedule>> ListSchedulesOf(
    client::ScheduleClient* schedules);

// One RPC per definition.
class ClientSource final : public migration::DefinitionSource {
 public:
  // Borrows `metadata`, `events` and `schedules` (null: no event handler API, no scheduler).
  explicit ClientSource(client::MetadataClient& metadata,
                        client::EventHandlerClient* events = nullptr,
                        client::ScheduleClient* schedules = nullptr)
      : metadata_(metadata), events_(events), schedules_(schedules) {}
  absl::StatusOr<conductor::proto::WorkflowDef> GetWorkflowDef(
      absl::string_view name, std::optional<int32_t> version) override;
  absl::StatusOr<conductor::proto::TaskDef> GetTaskDef(absl::string_view name) override;
  absl::StatusOr<std::vector<conductor::proto::WorkflowDef>> ListWorkflowVersions(
      absl::string_view name) override;
  absl::StatusOr<std::vector<conductor::proto::EventHandler>> ListEventHandlers() override;
  absl::StatusOr<std::vector<v1::WorkflowSchedule>> ListSchedules() override;

 private:
  client::MetadataClient& metadata_;
  client::EventHandlerClient* const events_;
  client::ScheduleClient* const schedules_;
};

// Everything the environment holds, read in two listing calls, when the server offers the
// DefinitionCatalog; otherwise the one-RPC-per-definition source (borrowing `metadata`). Bulk
// steps (plan, snapshot, verify) read thousands of definitions; listing once turns that into two
// round trips.
// When `extras` is not null and the server keeps keys beyond the proto (REST), each listed
// definition's extra keys are put there under ExtrasKey. `events` (null: the environment has no
// event handler API) is listed once, on first use of an event handler read, and `schedules` (null:
// no scheduler) on first use of a schedule read.
absl::StatusOr<std::unique_ptr<migration::DefinitionSource>> ReadAll(
    client::MetadataClient& metadata, client::EventHandlerClient* events,
    client::ScheduleClient* schedules,
    std::map<std::string, google::protobuf::Value>* extras = nullptr);
// The same for everything `environment` offers.
absl::StatusOr<std::unique_ptr<migration::DefinitionSource>> ReadAll(
    client::ConductorEnvironment& environment,
    std::map<std::string, google::protobuf::Value>* extras = nullptr);

// Where a definition's extra keys are kept by key: "workflow:NAME:VERSION" or "task:NAME".
std::string ExtrasKey(const conductor::proto::WorkflowDef& d);
std::string ExtrasKey(const conductor::proto::TaskDef& d);
std::string ExtrasKey(v1::ItemKind kind, absl::string_view name, int32_t version);

// Writes `handler` to `events` whether or not a handler of its name exists there (Conductor adds
// and updates handlers with different calls, and a retried apply or a rollback cannot know which
// one an earlier attempt left behind). `exists` is the guess tried first. Errors of `events` pass
// through, naming the handler.
absl::Status PutEventHandler(client::EventHandlerClient& events,
                             const conductor::proto::EventHandler& handler, bool exists);

// Per-step durations of workflow `id` (completed attempts, in order), for the report. Best
// effort: a report without durations is still a report.
void AddDurations(client::WorkflowClient& workflows, const std::string& id,
                  v1::MigrationReport& report);

// ---- shared state ---------------------------------------------------------------------------

// A package as the incoming steps use it: the message and the definitions its validation parsed.
struct ParsedPackage {
  v1::MigrationPackage package;
  migration::PackageContents contents;
};

class StepState;

// The end of an incoming migration, whatever its outcome: its package leaves this environment's
// blob store when it was pushed here (`remote_target` empty: this environment is the target and
// keeps no other environment's package), and wherever it is when it carries secret values (a
// REST target's migration runs in the source, whose store then holds it). A retry of the
// migration pushes it again. `carries_secrets`, when the caller knows, saves reading the
// package again to learn whether it carries secret values.
absl::Status ReleaseIncomingPackage(StepState& state, absl::string_view remote_target,
                                    absl::string_view package_ref,
                                    std::optional<bool> carries_secrets = std::nullopt);

class StepState {
 public:
  explicit StepState(MigrationDeps deps)
      : deps_(std::move(deps)),
        remotes_(*deps_.environments, *deps_.secrets, deps_.remote_call_timeout),
        here_(*deps_.metadata, deps_.admin, deps_.secret_store, deps_.event_handlers,
              deps_.schedules) {}
  StepState(const StepState&) = delete;
  StepState& operator=(const StepState&) = delete;

  const MigrationDeps& deps() const { return deps_; }
  RemoteEnvironments& remotes() { return remotes_; }

  // The environment an outgoing step reads: `source_env` when it names a REST environment, else
  // this one (a migration from a gRPC environment runs there, and a source name nobody registered
  // is a label). Errors: resolution other than NotFound, and connecting.
  absl::StatusOr<std::shared_ptr<client::ConductorEnvironment>> Source(
      absl::string_view source_env);
  // The environment an incoming step writes: the REST environment `remote_target` names when it
  // is not empty (the incoming workflow runs here on its behalf), else this one.
  absl::StatusOr<std::shared_ptr<client::ConductorEnvironment>> Written(
      absl::string_view remote_target);

  // Stores `bytes` in this environment; returns the reference. `may_inline` false: the bytes
  // carry secret values, which must never become task data, so no blob store is an error.
  absl::StatusOr<std::string> Store(absl::string_view bytes, absl::string_view what,
                                    bool may_inline = true) {
    return StoreIn(deps_.blobs, bytes, what, "this environment", may_inline);
  }
  // As Store, in the blob store `blobs` of the environment `where` names (null: none).
  absl::StatusOr<std::string> StoreIn(client::BlobClient* blobs, absl::string_view bytes,
                                      absl::string_view what, absl::string_view where,
                                      bool may_inline = true);

  // Deletes what `ref` names from the blob store `blobs` (null: this environment's) and forgets
  // a package cached under it. An inline reference, a blob already gone and a store that keeps
  // blobs for good are all fine: the bytes are then no longer stored by anyone asked to.
  absl::Status Release(absl::string_view ref, client::BlobClient* blobs = nullptr);

  // The bytes behind a reference made by Store. A reference that does not resolve is
  // InvalidArgument (terminal): retrying cannot bring it back.
  absl::StatusOr<std::string> Load(absl::string_view ref, absl::string_view what);

  template <typename M>
  absl::StatusOr<std::string> StoreMessage(const M& m, absl::string_view what) {
    std::string bytes;
    m.SerializeToString(&bytes);
    return Store(bytes, what);
  }
  template <typename M>
  absl::StatusOr<M> LoadMessage(absl::string_view ref, absl::string_view what) {
    ASSIGN_OR_RETURN(std::string bytes, Load(ref, what));
    M m;
    if (!m.ParseFromString(bytes)) {
      return absl::InvalidArgumentError(absl::StrCat("the stored ", what, " does not parse"));
    }
    return m;
  }

  // The last package parsed and validated, by its stored reference. A stored reference names its
  // bytes (SHA-256), so validate, plan, snapshot, apply and verify of one migration, which read
  // the same package one after the other, parse and check it once.
  std::shared_ptr<const ParsedPackage> CachedPackage(absl::string_view ref) {
    absl::MutexLock lock(&mu_);
    return cached_ref_ == ref ? cached_package_ : nullptr;
  }
  void CachePackage(absl::string_view ref, std::shared_ptr<const ParsedPackage> parsed) {
    absl::MutexLock lock(&mu_);
    cached_ref_ = std::string(ref);
    cached_package_ = std::move(parsed);
  }
  // Lets go of the package cached under `ref`, if it is the one cached; the stored bytes stay.
  void ForgetPackage(absl::string_view ref) {
    absl::MutexLock lock(&mu_);
    if (cached_ref_ == ref) {
      cached_ref_.clear();
      cached_package_ = nullptr;
    }
  }

 private:
  // This environment, borrowed for the lifetime of the state.
  std::shared_ptr<client::ConductorEnvironment> Here() {
    return std::shared_ptr<client::ConductorEnvironment>(std::shared_ptr<void>(), &here_);
  }

  const MigrationDeps deps_;
  RemoteEnvironments remotes_;
  client::BorrowedEnvironment here_;
  absl::Mutex mu_;
  std::string cached_ref_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const ParsedPackage> cached_package_ ABSL_GUARDED_BY(mu_);
};

// The base of every migration step: the state all of them share.
class Step : public TaskHandler {
 public:
  explicit Step(std::shared_ptr<StepState> state) : state_(std::move(state)) {}

  // Runs the step. When the environment it reaches refuses the credentials this worker holds for
  // it (UNAUTHENTICATED) or the operation (PERMISSION_DENIED), the error names the environment
  // and what to fix (ExplainRefusal); retrying cannot help, so the task fails terminally.
  absl::StatusOr<TaskOutcome> Execute(TaskContext& ctx) final;

 protected:
  virtual absl::StatusOr<TaskOutcome> Run(TaskContext& ctx) = 0;
  // The input naming the other environment the step reaches: "remoteTarget" (an incoming step
  // writing a REST target on its behalf) unless a step says otherwise.
  virtual const char* RemoteEnvironmentInput() const { return "remoteTarget"; }

  StepState& state() { return *state_; }
  const MigrationDeps& deps() { return state_->deps(); }

 private:
  const std::shared_ptr<StepState> state_;
};

// ---- reports --------------------------------------------------------------------------------

// Reports of more items than this travel as a summary (items left out) plus "reportRef", the full
// report as protobuf JSON in the blob store: thousands of items in every task's output would
// make each workflow read, and the orchestrator's memory, grow with the migration.
inline constexpr int kInlineReportItems = 1000;
// The most entries of any other list (manual dependencies, warnings, ...) a summary keeps; a
// warning says how many more the full report holds.
inline constexpr int kInlineReportEntries = 100;
// The most places a summary lists for one manual dependency.
inline constexpr int kInlineReferrers = 10;

// `full` without its items, and every other list that grows with the migration (version
// mappings that change nothing, manual dependencies, warnings, ...) cut to kInlineReportEntries
// with a warning saying how many more the full report holds; the same for its incoming report.
v1::MigrationReport ReportSummary(const v1::MigrationReport& full);

// Writes `report` to `out` as "report", or, over kInlineReportItems, its summary as "report" and
// the full report stored as "reportRef".
absl::Status SetReport(StepState& state, google::protobuf::Struct& out,
                       const v1::MigrationReport& report);
// A report stored by SetReport; InvalidArgument when it does not parse.
absl::StatusOr<v1::MigrationReport> ParseReport(absl::string_view json);

}  // namespace cmig::tasks

#endif  // CMIG_TASKS_STEP_IO_H_
