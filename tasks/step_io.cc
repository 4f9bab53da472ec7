#include "tasks/step_io.h"

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "definitions/canonical.h"
#include "definitions/json.h"
#include "definitions/message_value.h"
#include "migration/package.h"

namespace cmig::tasks {
namespace {

// Keeps the mappings that change a version; under the preserve strategy every mapping is the
// identity and there would be one per workflow.
void KeepChangedMappings(google::protobuf::RepeatedPtrField<v1::VersionMapping>* mapping) {
  auto kept = std::remove_if(mapping->begin(), mapping->end(), [](const v1::VersionMapping& m) {
    return m.source_version() == m.target_version();
  });
  mapping->erase(kept, mapping->end());
}

// Keeps the first kInlineReportEntries entries of `list`, noting in `notes` how many more the
// full report holds.
template <typename T>
void Cap(google::protobuf::RepeatedPtrField<T>* list, absl::string_view what,
         google::protobuf::RepeatedPtrField<std::string>* notes) {
  if (list->size() <= kInlineReportEntries) return;
  const int more = list->size() - kInlineReportEntries;
  list->DeleteSubrange(kInlineReportEntries, more);
  notes->Add(absl::StrCat(more, " more ", what, " are in the full report"));
}

// The summary of a report: no items, and every other list that grows with the migration (one
// manual dependency per SIMPLE task type, the workflows that use SUB_WORKFLOW) cut to its
// first entries.
void Trim(v1::MigrationReport& r) {
  r.clear_items();
  KeepChangedMappings(r.mutable_version_mapping());
  google::protobuf::RepeatedPtrField<std::string> notes;
  Cap(r.mutable_version_mapping(), "version mappings", &notes);
  Cap(r.mutable_manual_dependencies(), "manual dependencies", &notes);
  int places = 0;  // a system task type may be used by every workflow
  for (v1::Dependency& d : *r.mutable_manual_dependencies()) {
    if (d.referenced_by_size() <= kInlineReferrers) continue;
    places += d.referenced_by_size() - kInlineReferrers;
    d.mutable_referenced_by()->DeleteSubrange(kInlineReferrers,
                                              d.referenced_by_size() - kInlineReferrers);
  }
  if (places > 0) {
    notes.Add(absl::StrCat(places,
                           " more places that use manual dependencies are in the full "
                           "report"));
  }
  Cap(r.mutable_unresolved(), "unresolved references", &notes);
  Cap(r.mutable_blocking_problems(), "blocking problems", &notes);
  Cap(r.mutable_warnings(), "warnings", &notes);
  Cap(r.mutable_verification()->mutable_problems(), "verification problems", &notes);
  for (std::string& note : notes) r.add_warnings(std::move(note));
}

}  // namespace

using google::protobuf::Struct;
using google::protobuf::Value;

absl::Status FromValue(const Value* v, absl::string_view what, google::protobuf::Message* m) {
  if (v == nullptr || v->kind_case() == Value::kNullValue ||
      v->kind_case() == Value::KIND_NOT_SET) {
    return absl::OkStatus();
  }
  if (absl::Status s = MessageFromValue(*v, m); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("input '", what, "' is not a valid ",
                                                   m->GetDescriptor()->name(), ": ", s.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> StringInput(TaskContext& ctx, absl::string_view name) {
  const Value* v = ctx.Input(name);
  if (v == nullptr || v->kind_case() != Value::kStringValue || v->string_value().empty()) {
    return absl::InvalidArgumentError(absl::StrCat("input '", name, "' is missing or empty"));
  }
  return v->string_value();
}

absl::StatusOr<std::string> OptionalStringInput(TaskContext& ctx, absl::string_view name) {
  const Value* v = ctx.Input(name);
  if (v == nullptr || v->kind_case() == Value::KIND_NOT_SET ||
      v->kind_case() == Value::kNullValue) {
    return std::string();
  }
  if (v->kind_case() != Value::kStringValue) {
    return absl::InvalidArgumentError(absl::StrCat("input '", name, "' must be a string"));
  }
  return v->string_value();
}

void Set(Struct& s, absl::string_view key, Value v) {
  (*s.mutable_fields())[std::string(key)] = std::move(v);
}

absl::Status SetMessage(Struct& s, absl::string_view key, const google::protobuf::Message& m) {
  ASSIGN_OR_RETURN(Value v, MessageToValue(m));
  Set(s, key, std::move(v));
  return absl::OkStatus();
}
void SetString(Struct& s, absl::string_view key, absl::string_view v) {
  (*s.mutable_fields())[std::string(key)].set_string_value(std::string(v));
}
void SetNumber(Struct& s, absl::string_view key, double v) {
  (*s.mutable_fields())[std::string(key)].set_number_value(v);
}
void SetBool(Struct& s, absl::string_view key, bool v) {
  (*s.mutable_fields())[std::string(key)].set_bool_value(v);
}

std::string Summarise(const google::protobuf::RepeatedPtrField<std::string>& problems, size_t n) {
  std::vector<std::string> head(
      problems.begin(),
      problems.begin() + static_cast<std::ptrdiff_t>(std::min<size_t>(n, problems.size())));
  std::string out = absl::StrJoin(head, "; ");
  if (static_cast<size_t>(problems.size()) > n) {
    absl::StrAppend(&out, "; and ", problems.size() - n, " more");
  }
  return out;
}

absl::StatusOr<v1::MigrationOptions> OptionsInput(TaskContext& ctx) {
  v1::MigrationOptions options;
  RETURN_IF_ERROR(FromValue(ctx.Input("options"), "options", &options));
  return options;
}

v1::MigrationReport ReportSummary(const v1::MigrationReport& full) {
  v1::MigrationReport r;
  r.CopyFrom(full);
  Trim(r);
  if (r.has_incoming()) Trim(*r.mutable_incoming());
  return r;
}

absl::Status SetReport(StepState& state, Struct& out, const v1::MigrationReport& report) {
  if (report.items_size() <= kInlineReportItems) {
    RETURN_IF_ERROR(SetMessage(out, "report", report));
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(std::string json, MessageToJson(report));
  ASSIGN_OR_RETURN(std::string ref, state.Store(json, "report"));
  SetString(out, "reportRef", ref);
  RETURN_IF_ERROR(SetMessage(out, "report", ReportSummary(report)));
  return absl::OkStatus();
}

absl::StatusOr<v1::MigrationReport> ParseReport(absl::string_view json) {
  v1::MigrationReport r;
  if (absl::Status s = MessageFromJson(json, &r); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the stored report does not parse: ", s.message()));
  }
  return r;
}

absl::StatusOr<conductor::proto::WorkflowDef> ClientSource::GetWorkflowDef(
    absl::string_view name, std::optional<int32_t> version) {
  return metadata_.GetWorkflowDef(name, version.value_or(0));
}

absl::StatusOr<conductor::proto::TaskDef> ClientSource::GetTaskDef(absl::string_view name) {
  return metadata_.GetTaskDef(name);
}

absl::StatusOr<std::vector<conductor::proto::WorkflowDef>> ClientSource::ListWorkflowVersions(
    absl::string_view name) {
  return metadata_.ListWorkflowDefs(name, /*all_versions=*/true);
}

absl::StatusOr<std::vector<conductor::proto::EventHandler>> ClientSource::ListEventHandlers() {
  return ListEventHandlersOf(events_);
}

absl::StatusOr<std::vector<v1::WorkflowSchedule>> ClientSource::ListSchedules() {
  return ListSchedulesOf(schedules_);
}

absl::StatusOr<std::vector<v1::WorkflowSchedule>> ListSchedulesOf(
    client::ScheduleClient* schedules) {
  if (schedules == nullptr) {
    return absl::UnimplementedError("the environment offers no scheduler");
  }
  return schedules->ListSchedules();
}

absl::StatusOr<std::vector<conductor::proto::EventHandler>> ListEventHandlersOf(
    client::EventHandlerClient* events) {
  if (events == nullptr) {
    return absl::UnimplementedError("the environment offers no event handler API");
  }
  return events->ListEventHandlers();
}

std::string ExtrasKey(const conductor::proto::WorkflowDef& d) {
  return ExtrasKey(v1::ITEM_KIND_WORKFLOW_DEF, d.name(), d.version());
}
std::string ExtrasKey(const conductor::proto::TaskDef& d) {
  return ExtrasKey(v1::ITEM_KIND_TASK_DEF, d.name(), 0);
}
std::string ExtrasKey(v1::ItemKind kind, absl::string_view name, int32_t version) {
  return kind == v1::ITEM_KIND_TASK_DEF ? absl::StrCat("task:", name)
                                        : absl::StrCat("workflow:", name, ":", version);
}

namespace {

// Definitions listed up front, event handlers and schedules read through `events` and
// `schedules` when first asked for.
class ListedSource final : public migration::InMemoryDefinitionSource {
 public:
  ListedSource(client::EventHandlerClient* events, client::ScheduleClient* schedules)
      : events_(events), schedules_(schedules) {}
  absl::StatusOr<std::vector<conductor::proto::EventHandler>> ListEventHandlers() override {
    RETURN_IF_ERROR(Load());
    return InMemoryDefinitionSource::ListEventHandlers();
  }
  absl::StatusOr<conductor::proto::EventHandler> GetEventHandler(absl::string_view name) override {
    RETURN_IF_ERROR(Load());
    return InMemoryDefinitionSource::GetEventHandler(name);
  }
  absl::StatusOr<std::vector<v1::WorkflowSchedule>> ListSchedules() override {
    RETURN_IF_ERROR(LoadSchedules());
    return InMemoryDefinitionSource::ListSchedules();
  }
  absl::StatusOr<v1::WorkflowSchedule> GetSchedule(absl::string_view name) override {
    RETURN_IF_ERROR(LoadSchedules());
    return InMemoryDefinitionSource::GetSchedule(name);
  }

 private:
  absl::Status LoadSchedules() {
    if (schedules_loaded_) return absl::OkStatus();
    absl::StatusOr<std::vector<v1::WorkflowSchedule>> all = ListSchedulesOf(schedules_);
    if (absl::IsUnimplemented(all.status())) {
      MarkSchedulesUnavailable(all.status());
    } else {
      RETURN_IF_ERROR(all.status());
      for (auto& s : *all) AddSchedule(std::move(s));
    }
    schedules_loaded_ = true;
    return absl::OkStatus();
  }
  absl::Status Load() {
    if (loaded_) return absl::OkStatus();
    absl::StatusOr<std::vector<conductor::proto::EventHandler>> all = ListEventHandlersOf(events_);
    if (absl::IsUnimplemented(all.status())) {
      MarkEventHandlersUnavailable(all.status());
    } else {
      RETURN_IF_ERROR(all.status());
      for (auto& h : *all) AddEventHandler(std::move(h));
    }
    loaded_ = true;
    return absl::OkStatus();
  }
  client::EventHandlerClient* const events_;
  client::ScheduleClient* const schedules_;
  bool loaded_ = false;
  bool schedules_loaded_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<migration::DefinitionSource>> ReadAll(
    client::ConductorEnvironment& environment,
    std::map<std::string, google::protobuf::Value>* extras) {
  return ReadAll(environment.metadata(), environment.event_handlers(), environment.schedules(),
                 extras);
}

absl::StatusOr<std::unique_ptr<migration::DefinitionSource>> ReadAll(
    client::MetadataClient& metadata, client::EventHandlerClient* events,
    client::ScheduleClient* schedules, std::map<std::string, google::protobuf::Value>* extras) {
  const bool with_extras = extras != nullptr && metadata.KeepsExtraKeys();
  std::vector<Value> workflow_extras, task_extras;
  absl::StatusOr<std::vector<conductor::proto::WorkflowDef>> workflows =
      with_extras ? metadata.ListWorkflowDefsWithExtras(&workflow_extras)
                  : metadata.ListWorkflowDefs("", /*all_versions=*/true);
  if (absl::IsUnimplemented(workflows.status())) {
    return std::unique_ptr<migration::DefinitionSource>(
        std::make_unique<ClientSource>(metadata, events, schedules));
  }
  RETURN_IF_ERROR(workflows.status());
  ASSIGN_OR_RETURN(
      std::vector<conductor::proto::TaskDef> task_defs,
      with_extras ? metadata.ListTaskDefsWithExtras(&task_extras) : metadata.ListTaskDefs());
  if (with_extras) {
    for (size_t i = 0; i < workflows->size() && i < workflow_extras.size(); ++i) {
      if (workflow_extras[i].has_struct_value()) {
        (*extras)[ExtrasKey((*workflows)[i])] = std::move(workflow_extras[i]);
      }
    }
    for (size_t i = 0; i < task_defs.size() && i < task_extras.size(); ++i) {
      if (task_extras[i].has_struct_value()) {
        (*extras)[ExtrasKey(task_defs[i])] = std::move(task_extras[i]);
      }
    }
  }
  auto source = std::make_unique<ListedSource>(events, schedules);
  for (auto& w : *workflows) source->AddWorkflowDef(std::move(w));
  for (auto& t : task_defs) source->AddTaskDef(std::move(t));
  return std::unique_ptr<migration::DefinitionSource>(std::move(source));
}

absl::Status PutEventHandler(client::EventHandlerClient& events,
                             const conductor::proto::EventHandler& handler, bool exists) {
  absl::Status first =
      exists ? events.UpdateEventHandler(handler) : events.AddEventHandler(handler);
  if (first.ok()) return first;
  // The guess was wrong, or the call failed: see which it was.
  ASSIGN_OR_RETURN(std::vector<conductor::proto::EventHandler> all, events.ListEventHandlers());
  const bool there = std::any_of(all.begin(), all.end(),
                                 [&](const auto& h) { return h.name() == handler.name(); });
  if (there == exists) return first;
  absl::Status second =
      there ? events.UpdateEventHandler(handler) : events.AddEventHandler(handler);
  if (second.ok()) return second;
  return absl::Status(second.code(), absl::StrCat("writing event handler '", handler.name(),
                                                  "': ", second.message()));
}

void AddDurations(client::WorkflowClient& workflows, const std::string& id,
                  v1::MigrationReport& report) {
  absl::StatusOr<conductor::proto::Workflow> wf = workflows.GetWorkflowStatus(id, true);
  if (!wf.ok()) return;
  for (const auto& t : wf->tasks()) {
    if (t.status() != conductor::proto::Task::COMPLETED || t.task_type() == "SWITCH") continue;
    v1::StepDuration* d = report.add_durations();
    d->set_step(t.reference_task_name());
    d->set_duration_ms(t.end_time() > t.start_time() ? t.end_time() - t.start_time() : 0);
  }
}

absl::StatusOr<std::string> StepState::StoreIn(client::BlobClient* blobs, absl::string_view bytes,
                                               absl::string_view what, absl::string_view where,
                                               bool may_inline) {
  if (blobs != nullptr) {
    std::string digest = Sha256Hex(bytes);
    absl::Status s = blobs->PutBlob(digest, bytes);
    if (s.ok()) return absl::StrCat(kStoredPrefix, digest);
    if (!absl::IsUnimplemented(s)) {
      return absl::Status(s.code(),
                          absl::StrCat("storing the ", what, " in ", where, ": ", s.message()));
    }
  }
  if (!may_inline) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the ", what, " carries secret values and ", where,
        " has no blob store (cmig.v1.BlobStore) to keep them out of task data; migrate without "
        "includeSecrets and set the secrets in the target by hand"));
  }
  // The limit is on what travels: the reference text, base64 being 4/3 of the bytes.
  const size_t encoded = kInlinePrefix.size() + 4 * ((bytes.size() + 2) / 3);
  if (encoded > deps_.inline_limit_bytes) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot pass the ", what, " inline: ", bytes.size(), " bytes (", encoded,
        " once encoded), over the ", deps_.inline_limit_bytes, "-byte limit, and ", where,
        " has no blob store (cmig.v1.BlobStore, offered by the embedded orchestrator)"));
  }
  return absl::StrCat(kInlinePrefix, absl::Base64Escape(bytes));
}

absl::Status ReleaseIncomingPackage(StepState& state, absl::string_view remote_target,
                                    absl::string_view package_ref,
                                    std::optional<bool> carries_secrets) {
  if (!remote_target.empty()) {
    bool secrets = false;
    if (carries_secrets.has_value()) {
      secrets = *carries_secrets;
    } else if (std::shared_ptr<const ParsedPackage> cached = state.CachedPackage(package_ref)) {
      secrets = cached->package.contains_secret_values();
    } else {
      absl::StatusOr<std::string> bytes = state.Load(package_ref, "package");
      if (!bytes.ok()) return absl::OkStatus();  // already gone, or inline
      absl::StatusOr<v1::MigrationPackage> package = migration::PackageFromJson(*bytes);
      secrets = package.ok() && package->contains_secret_values();
    }
    if (!secrets) return absl::OkStatus();
  }
  return state.Release(package_ref);
}

absl::Status StepState::Release(absl::string_view ref, client::BlobClient* blobs) {
  ForgetPackage(ref);
  if (blobs == nullptr) blobs = deps_.blobs;
  if (blobs == nullptr || !absl::StartsWith(ref, kStoredPrefix)) return absl::OkStatus();
  absl::Status s = blobs->DeleteBlob(ref.substr(kStoredPrefix.size()));
  if (absl::IsNotFound(s) || absl::IsUnimplemented(s)) return absl::OkStatus();
  return s;
}

absl::StatusOr<std::string> StepState::Load(absl::string_view ref, absl::string_view what) {
  if (absl::StartsWith(ref, kInlinePrefix)) {
    std::string out;
    if (!absl::Base64Unescape(ref.substr(kInlinePrefix.size()), &out)) {
      return absl::InvalidArgumentError(absl::StrCat("the inline ", what, " is not base64"));
    }
    return out;
  }
  if (!absl::StartsWith(ref, kStoredPrefix)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", ref.substr(0, 80), "' is not a reference to a stored ", what));
  }
  if (deps_.blobs == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("the ", what, " is in a blob store and this environment has none"));
  }
  absl::string_view digest = ref.substr(kStoredPrefix.size());
  absl::StatusOr<std::string> bytes = deps_.blobs->GetBlob(digest);
  if (absl::IsNotFound(bytes.status())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the ", what, " ", ref, " is not in this environment's blob store",
        what == "package" ? " (a migration's package leaves the target when the migration ends: "
                            "retry the outgoing migration, which pushes it again)"
                          : ""));
  }
  RETURN_IF_ERROR(bytes.status());
  if (Sha256Hex(*bytes) != digest) {
    return absl::InvalidArgumentError(
        absl::StrCat("the stored ", what, " does not match its digest ", digest));
  }
  return bytes;
}

absl::StatusOr<TaskOutcome> Step::Execute(TaskContext& ctx) {
  absl::StatusOr<TaskOutcome> outcome = Run(ctx);
  if (outcome.ok()) return outcome;
  const Value* env = ctx.Input(RemoteEnvironmentInput());
  if (env == nullptr || !env->has_string_value()) return outcome;
  return ExplainRefusal(outcome.status(), *deps().environments, env->string_value());
}

absl::StatusOr<std::shared_ptr<client::ConductorEnvironment>> StepState::Source(
    absl::string_view source_env) {
  if (source_env.empty()) return Here();
  absl::StatusOr<v1::Environment> env = deps_.environments->Resolve(source_env);
  if (absl::IsNotFound(env.status())) return Here();
  RETURN_IF_ERROR(env.status());
  ASSIGN_OR_RETURN(client::EnvironmentAddress where, client::ParseEnvironmentAddress(*env));
  if (where.protocol != client::Protocol::kRest) return Here();
  ASSIGN_OR_RETURN(std::shared_ptr<Remote> remote, remotes_.Connect(*env));
  return std::shared_ptr<client::ConductorEnvironment>(remote, remote->environment.get());
}

absl::StatusOr<std::shared_ptr<client::ConductorEnvironment>> StepState::Written(
    absl::string_view remote_target) {
  if (remote_target.empty()) return Here();
  ASSIGN_OR_RETURN(std::shared_ptr<Remote> remote, remotes_.Connect(remote_target));
  if (remote->environment->protocol() != client::Protocol::kRest) {
    return absl::InvalidArgumentError(absl::StrCat(
        "input '", kRemoteTargetInput, "' names environment '", remote_target,
        "', which is not a REST environment: a gRPC environment runs its own migrations"));
  }
  return std::shared_ptr<client::ConductorEnvironment>(remote, remote->environment.get());
}

}  // namespace cmig::tasks
