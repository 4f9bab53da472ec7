#include "tasks/migration_handlers.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "base/status_macros.h"
#include "cmig/v1/extensions.pb.h"
#include "definitions/canonical.h"
#include "definitions/json.h"
#include "definitions/message_value.h"
#include "migration/discovery.h"
#include "migration/package.h"
#include "migration/plan.h"
#include "migration/snapshot.h"
#include "migration/verify.h"

namespace cmig::tasks {

using migration::ApplyStep;
using migration::BuildPackage;
using migration::BuiltPackage;
using migration::ConfigEnvironmentResolver;
using migration::ConfigSecretResolver;
using migration::DefinitionSource;
using migration::DescribeItem;
using migration::Discover;
using migration::Discovery;
using migration::DiscoveryOptions;
using migration::EnsureSecretBackups;
using migration::EnvironmentResolver;
using migration::ExtensionEnvironmentResolver;
using migration::ExtensionSecretResolver;
using migration::FallbackEnvironmentResolver;
using migration::FallbackSecretResolver;
using migration::InMemoryDefinitionSource;
using migration::PackageContents;
using migration::PackageFromJson;
using migration::PackageHeader;
using migration::PackageToJson;
using migration::PlanMigration;
using migration::ReleaseSecretBackups;
using migration::ReportFromPlan;
using migration::RestoreSecrets;
using migration::RestoreStep;
using migration::SecretRestore;
using migration::SnapshotSecrets;
using migration::StepsToApply;
using migration::StepsToRestore;
using migration::TakeSnapshot;
using migration::ValidatePackage;
using migration::VerifyTarget;

namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

constexpr absl::string_view kStoredPrefix = "sha256:";
constexpr absl::string_view kInlinePrefix = "inline:";

// ---- JSON <-> messages -------------------------------------------------------------------

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

void Set(Struct& s, absl::string_view key, Value v) { (*s.mutable_fields())[std::string(key)] = v; }

// A message as task data. Messages written here never hold an Any, so printing them cannot fail;
// should it, the step fails rather than writing an empty value.
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

// First `n` problems, joined, so a status message stays readable.
std::string Summarise(const google::protobuf::RepeatedPtrField<std::string>& problems,
                      size_t n = 10) {
  std::vector<std::string> head(problems.begin(),
                                problems.begin() + std::min<size_t>(n, problems.size()));
  std::string out = absl::StrJoin(head, "; ");
  if (static_cast<size_t>(problems.size()) > n) {
    absl::StrAppend(&out, "; and ", problems.size() - n, " more");
  }
  return out;
}

// ---- definitions through an orchestrator client -------------------------------------------

// One RPC per definition.
class ClientSource final : public DefinitionSource {
 public:
  explicit ClientSource(client::MetadataClient& metadata) : metadata_(metadata) {}
  absl::StatusOr<conductor::proto::WorkflowDef> GetWorkflowDef(
      absl::string_view name, std::optional<int32_t> version) override {
    return metadata_.GetWorkflowDef(name, version.value_or(0));
  }
  absl::StatusOr<conductor::proto::TaskDef> GetTaskDef(absl::string_view name) override {
    return metadata_.GetTaskDef(name);
  }
  absl::StatusOr<std::vector<conductor::proto::WorkflowDef>> ListWorkflowVersions(
      absl::string_view name) override {
    absl::StatusOr<std::vector<conductor::proto::WorkflowDef>> all =
        metadata_.ListWorkflowDefs(name, /*all_versions=*/true);
    if (absl::IsFailedPrecondition(all.status())) {
      return absl::UnimplementedError(all.status().message());
    }
    return all;
  }

 private:
  client::MetadataClient& metadata_;
};

// Everything the environment holds, read in two listing calls, when the server offers the
// DefinitionCatalog; otherwise the one-RPC-per-definition source. Bulk steps (plan, snapshot,
// verify) read thousands of definitions; listing once turns that into two round trips.
absl::StatusOr<std::unique_ptr<DefinitionSource>> ReadAll(client::MetadataClient& metadata) {
  absl::StatusOr<std::vector<conductor::proto::WorkflowDef>> workflows =
      metadata.ListWorkflowDefs("", /*all_versions=*/true);
  if (absl::IsFailedPrecondition(workflows.status())) {
    return std::unique_ptr<DefinitionSource>(std::make_unique<ClientSource>(metadata));
  }
  RETURN_IF_ERROR(workflows.status());
  ASSIGN_OR_RETURN(std::vector<conductor::proto::TaskDef> task_defs, metadata.ListTaskDefs());
  auto source = std::make_unique<InMemoryDefinitionSource>();
  for (auto& w : *workflows) source->AddWorkflowDef(std::move(w));
  for (auto& t : task_defs) source->AddTaskDef(std::move(t));
  return std::unique_ptr<DefinitionSource>(std::move(source));
}

// Per-step durations of workflow `id` (completed attempts, in order), for the report. Best
// effort: a report without durations is still a report.
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

// ---- shared state ---------------------------------------------------------------------------

// A connection to another environment, cached per environment id.
struct Remote {
  std::unique_ptr<client::GrpcOrchestratorClient> orchestrator;
  std::unique_ptr<client::GrpcExtensionsClient> extensions;
  std::string fingerprint;  // address, TLS and token hash: reconnect when any changes
};

// A package as the incoming steps use it: the message and the definitions its validation parsed.
struct ParsedPackage {
  v1::MigrationPackage package;
  PackageContents contents;
};

class Shared {
 public:
  explicit Shared(MigrationDeps deps) : deps_(std::move(deps)) {}
  const MigrationDeps& deps() const { return deps_; }

  // Stores `bytes` in this environment; returns the reference. `may_inline` false: the bytes
  // carry secret values, which must never become task data, so no blob store is an error.
  absl::StatusOr<std::string> Store(absl::string_view bytes, absl::string_view what,
                                    bool may_inline = true) {
    return StoreIn(deps_.blobs, bytes, what, "this environment", may_inline);
  }
  absl::StatusOr<std::string> StoreIn(client::BlobClient* blobs, absl::string_view bytes,
                                      absl::string_view what, absl::string_view where,
                                      bool may_inline = true) {
    if (blobs != nullptr) {
      std::string digest = Sha256Hex(bytes);
      absl::Status s = blobs->PutBlob(digest, bytes);
      if (s.ok()) return absl::StrCat(kStoredPrefix, digest);
      if (!absl::IsUnimplemented(s)) return s;
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

  // The bytes behind a reference made by Store. A reference that does not resolve is
  // InvalidArgument (terminal): retrying cannot bring it back.
  absl::StatusOr<std::string> Load(absl::string_view ref, absl::string_view what) {
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
      return absl::InvalidArgumentError(
          absl::StrCat("the ", what, " ", ref, " is not in this environment's blob store"));
    }
    RETURN_IF_ERROR(bytes.status());
    if (Sha256Hex(*bytes) != digest) {
      return absl::InvalidArgumentError(
          absl::StrCat("the stored ", what, " does not match its digest ", digest));
    }
    return bytes;
  }

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

  // The connection to environment `id`, with its token read from the secret store.
  absl::StatusOr<std::shared_ptr<Remote>> Connect(absl::string_view id) {
    ASSIGN_OR_RETURN(v1::Environment env, deps_.environments->Resolve(id));
    client::ClientOptions options;
    options.address = env.address();
    options.use_tls = env.use_tls();
    options.root_ca_file = env.tls_root_ca_file();
    options.call_timeout = deps_.remote_call_timeout;
    if (!env.token_secret().empty()) {
      absl::StatusOr<std::string> token = deps_.secrets->Resolve(env.token_secret());
      if (!token.ok()) {
        return absl::Status(token.status().code(), absl::StrCat("the token of environment '", id,
                                                                "': ", token.status().message()));
      }
      options.token = *std::move(token);
    }
    std::string fingerprint = absl::StrCat(options.address, "|", options.use_tls, "|",
                                           options.root_ca_file, "|", Sha256Hex(options.token));
    absl::MutexLock lock(&mu_);
    auto it = remotes_.find(std::string(id));
    if (it != remotes_.end() && it->second->fingerprint == fingerprint) return it->second;
    auto remote = std::make_shared<Remote>();
    ASSIGN_OR_RETURN(remote->orchestrator, client::GrpcOrchestratorClient::Create(options));
    ASSIGN_OR_RETURN(remote->extensions, client::GrpcExtensionsClient::Create(options));
    remote->fingerprint = std::move(fingerprint);
    remotes_[std::string(id)] = remote;
    return remote;
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

 private:
  const MigrationDeps deps_;
  absl::Mutex mu_;
  std::string cached_ref_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const ParsedPackage> cached_package_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::shared_ptr<Remote>> remotes_ ABSL_GUARDED_BY(mu_);
};

class Step : public TaskHandler {
 public:
  explicit Step(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}

 protected:
  Shared& shared() { return *shared_; }
  const MigrationDeps& deps() { return shared_->deps(); }

 private:
  const std::shared_ptr<Shared> shared_;
};

absl::StatusOr<v1::MigrationOptions> OptionsInput(TaskContext& ctx) {
  v1::MigrationOptions options;
  RETURN_IF_ERROR(FromValue(ctx.Input("options"), "options", &options));
  return options;
}

// Reports of more items than this travel as a summary (items left out) plus "reportRef", the full
// report as protobuf JSON in the blob store: thousands of items in every task's output would
// make each workflow read, and the orchestrator's memory, grow with the migration.
constexpr int kInlineReportItems = 1000;

// Keeps the mappings that change a version; under the preserve strategy every mapping is the
// identity and there would be one per workflow.
void KeepChangedMappings(google::protobuf::RepeatedPtrField<v1::VersionMapping>* mapping) {
  auto kept = std::remove_if(mapping->begin(), mapping->end(), [](const v1::VersionMapping& m) {
    return m.source_version() == m.target_version();
  });
  mapping->erase(kept, mapping->end());
}

v1::MigrationReport Trimmed(const v1::MigrationReport& full) {
  v1::MigrationReport r;
  r.CopyFrom(full);
  r.clear_items();
  KeepChangedMappings(r.mutable_version_mapping());
  if (r.has_incoming()) {
    r.mutable_incoming()->clear_items();
    KeepChangedMappings(r.mutable_incoming()->mutable_version_mapping());
  }
  return r;
}

absl::Status SetReport(Shared& shared, Struct& out, const v1::MigrationReport& report) {
  if (report.items_size() <= kInlineReportItems) {
    RETURN_IF_ERROR(SetMessage(out, "report", report));
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(std::string json, MessageToJson(report));
  ASSIGN_OR_RETURN(std::string ref, shared.Store(json, "report"));
  SetString(out, "reportRef", ref);
  RETURN_IF_ERROR(SetMessage(out, "report", Trimmed(report)));
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

// ---- outgoing -------------------------------------------------------------------------------

// Selections naming at least this many definitions are fetched by listing the source.
constexpr int kListWhenSelectingAtLeast = 64;

class FetchDefinitions final : public Step {
 public:
  using Step::Step;
  absl::StatusOr<TaskOutcome> Execute(TaskContext& ctx) override {
    v1::Selection selection;
    RETURN_IF_ERROR(FromValue(ctx.Input("selection"), "selection", &selection));
    if (selection.workflows().empty() && selection.task_defs().empty()) {
      return absl::InvalidArgumentError(
          "input 'selection' selects nothing: give workflows ([{name, version}]) or taskDefs");
    }
    bool wants_all_workflows = false, wants_all_tasks = false;
    for (const auto& w : selection.workflows()) wants_all_workflows |= w.name() == "*";
    for (const auto& t : selection.task_defs()) wants_all_tasks |= t == "*";

    v1::FetchedDefinitions fetched;
    // A few names are read one by one (discovery then reads what they reference the same way);
    // "*" or many names list the source once, which is fewer round trips.
    const bool list =
        wants_all_workflows || wants_all_tasks ||
        selection.workflows_size() + selection.task_defs_size() >= kListWhenSelectingAtLeast;
    absl::StatusOr<std::vector<conductor::proto::WorkflowDef>> workflows =
        list ? deps().metadata->ListWorkflowDefs("", /*all_versions=*/true)
             : absl::FailedPreconditionError("not listed: the selection names a few definitions");
    if (workflows.ok()) {
      ASSIGN_OR_RETURN(std::vector<conductor::proto::TaskDef> task_defs,
                       deps().metadata->ListTaskDefs());
      fetched.set_complete(true);
      for (auto& w : *workflows) *fetched.add_workflows() = std::move(w);
      for (auto& t : task_defs) *fetched.add_task_defs() = std::move(t);
    } else if (absl::IsFailedPrecondition(workflows.status())) {
      if (wants_all_workflows || wants_all_tasks) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the selection '*' needs definition listing, which this server does not offer: ",
            workflows.status().message()));
      }
      ctx.AddLog(list ? "the server cannot list definitions; reading the selection one by one"
                      : "reading the selection one by one");
    } else {
      return workflows.status();
    }

    // Expand "*" and record the resolved selection.
    v1::Selection resolved;
    std::set<std::string> names;
    for (const auto& w : selection.workflows()) {
      if (w.name() != "*") {
        *resolved.add_workflows() = w;
        continue;
      }
      for (const auto& d : fetched.workflows()) {
        if (names.insert(d.name()).second) resolved.add_workflows()->set_name(d.name());
      }
    }
    for (const auto& t : selection.task_defs()) {
      if (t != "*") {
        resolved.add_task_defs(t);
        continue;
      }
      for (const auto& d : fetched.task_defs()) resolved.add_task_defs(d.name());
    }
    if (!fetched.complete()) {
      // Read what was selected now, so a missing selection fails here, named.
      std::vector<std::string> missing;
      for (const auto& w : resolved.workflows()) {
        absl::StatusOr<conductor::proto::WorkflowDef> d =
            deps().metadata->GetWorkflowDef(w.name(), w.version());
        if (absl::IsNotFound(d.status())) {
          missing.push_back(DescribeItem(v1::ITEM_KIND_WORKFLOW_DEF, w.name(), w.version()));
          continue;
        }
        RETURN_IF_ERROR(d.status());
        *fetched.add_workflows() = *std::move(d);
      }
      for (const auto& t : resolved.task_defs()) {
        absl::StatusOr<conductor::proto::TaskDef> d = deps().metadata->GetTaskDef(t);
        if (absl::IsNotFound(d.status())) {
          missing.push_back(DescribeItem(v1::ITEM_KIND_TASK_DEF, t, 0));
          continue;
        }
        RETURN_IF_ERROR(d.status());
        *fetched.add_task_defs() = *std::move(d);
      }
      if (!missing.empty()) {
        return absl::NotFoundError(
            absl::StrCat("selected definitions not in the source: ", absl::StrJoin(missing, ", ")));
      }
    }
    *fetched.mutable_selection() = resolved;
    ASSIGN_OR_RETURN(std::string ref, shared().StoreMessage(fetched, "fetched definitions"));
    ctx.AddLog(absl::StrCat("fetched ", fetched.workflows_size(), " workflow and ",
                            fetched.task_defs_size(), " task definitions",
                            fetched.complete() ? " (every definition of the source)" : ""));
    TaskOutcome out;
    SetString(out.output, "definitionsRef", ref);
    SetNumber(out.output, "workflowDefs", fetched.workflows_size());
    SetNumber(out.output, "taskDefs", fetched.task_defs_size());
    SetBool(out.output, "complete", fetched.complete());
    RETURN_IF_ERROR(SetMessage(out.output, "selection", resolved));
    return out;
  }
};

class DiscoverReferences final : public Step {
 public:
  using Step::Step;
  absl::StatusOr<TaskOutcome> Execute(TaskContext& ctx) override {
    ASSIGN_OR_RETURN(std::string ref, StringInput(ctx, "definitionsRef"));
    ASSIGN_OR_RETURN(v1::MigrationOptions options, OptionsInput(ctx));
    ASSIGN_OR_RETURN(auto fetched,
                     shared().LoadMessage<v1::FetchedDefinitions>(ref, "fetched definitions"));
    std::unique_ptr<DefinitionSource> source;
    if (fetched.complete()) {
      auto memory = std::make_unique<InMemoryDefinitionSource>();
      for (auto& w : *fetched.mutable_workflows()) memory->AddWorkflowDef(std::move(w));
      for (auto& t : *fetched.mutable_task_defs()) memory->AddTaskDef(std::move(t));
      fetched.clear_workflows();
      fetched.clear_task_defs();
      source = std::move(memory);
    } else {
      source = std::make_unique<ClientSource>(*deps().metadata);
    }
    DiscoveryOptions discovery_options;
    discovery_options.follow_references = !options.skip_discovery();
    ASSIGN_OR_RETURN(Discovery d, Discover(fetched.selection(), *source, discovery_options));

    v1::StoredDiscovery stored;
    *stored.mutable_selection() = fetched.selection();
    source.reset();
    for (auto& w : d.workflows) {
      auto* e = stored.add_workflows();
      *e->mutable_def() = std::move(w.def);
      e->set_requested(w.requested);
      e->set_discovered_from(w.discovered_from);
    }
    for (auto& t : d.task_defs) {
      auto* e = stored.add_task_defs();
      *e->mutable_def() = std::move(t.def);
      e->set_requested(t.requested);
      e->set_discovered_from(t.discovered_from);
    }
    *stored.mutable_report() = d.report;
    ASSIGN_OR_RETURN(std::string out_ref, shared().StoreMessage(stored, "discovery"));
    ctx.AddLog(absl::StrCat("discovered ", d.workflows.size(), " workflow and ", d.task_defs.size(),
                            " task definitions; ", d.report.dependencies_size(), " dependencies, ",
                            d.report.unresolved_size(), " unresolved references"));
    TaskOutcome out;
    SetString(out.output, "discoveryRef", out_ref);
    SetNumber(out.output, "workflowDefs", d.workflows.size());
    SetNumber(out.output, "taskDefs", d.task_defs.size());
    SetNumber(out.output, "dependencies", d.report.dependencies_size());
    SetNumber(out.output, "unresolved", d.report.unresolved_size());
    return out;
  }
};

class BuildPackageStep final : public Step {
 public:
  using Step::Step;
  absl::StatusOr<TaskOutcome> Execute(TaskContext& ctx) override {
    ASSIGN_OR_RETURN(std::string source_env, StringInput(ctx, "sourceEnvironment"));
    ASSIGN_OR_RETURN(std::string ref, StringInput(ctx, "discoveryRef"));
    ASSIGN_OR_RETURN(v1::MigrationOptions options, OptionsInput(ctx));
    ASSIGN_OR_RETURN(auto stored, shared().LoadMessage<v1::StoredDiscovery>(ref, "discovery"));
    // Moved, not copied: at ten thousand definitions the copies are the step's peak memory.
    Discovery d;
    d.workflows.reserve(stored.workflows_size());
    for (auto& w : *stored.mutable_workflows()) {
      d.workflows.push_back(
          {std::move(*w.mutable_def()), w.requested(), std::move(*w.mutable_discovered_from())});
    }
    d.task_defs.reserve(stored.task_defs_size());
    for (auto& t : *stored.mutable_task_defs()) {
      d.task_defs.push_back(
          {std::move(*t.mutable_def()), t.requested(), std::move(*t.mutable_discovered_from())});
    }
    stored.clear_workflows();
    stored.clear_task_defs();
    d.report = std::move(*stored.mutable_report());
    PackageHeader header;
    header.source_environment = source_env;
    header.created_at = absl::Now();
    header.options = options;
    header.selection = stored.selection();
    if (options.include_secrets()) {
      for (const auto& dep : d.report.dependencies()) {
        if (dep.kind() != v1::DEPENDENCY_KIND_SECRET) continue;
        absl::StatusOr<std::string> value = deps().secrets->Resolve(dep.name());
        if (value.ok()) {
          header.secret_values[dep.name()] = *std::move(value);
        } else if (!absl::IsNotFound(value.status())) {
          return value.status();
        }
      }
    }
    ASSIGN_OR_RETURN(BuiltPackage built, BuildPackage(d, header));
    ASSIGN_OR_RETURN(std::string json, PackageToJson(built.package));
    ASSIGN_OR_RETURN(std::string package_ref,
                     shared().Store(json, "package", !built.package.contains_secret_values()));
    for (const std::string& w : built.warnings) ctx.AddLog(absl::StrCat("warning: ", w));
    ctx.AddLog(
        absl::StrCat("package ", built.package.digest(), ": ", built.package.items_size(),
                     " items, ", json.size(), " bytes",
                     built.package.contains_secret_values() ? ", carries secret values" : ""));
    TaskOutcome out;
    SetString(out.output, "packageRef", package_ref);
    SetString(out.output, "packageDigest", built.package.digest());
    SetNumber(out.output, "items", built.package.items_size());
    SetNumber(out.output, "workflowDefs", built.package.manifest().workflow_def_count());
    SetNumber(out.output, "taskDefs", built.package.manifest().task_def_count());
    SetNumber(out.output, "bytes", json.size());
    SetBool(out.output, "containsSecretValues", built.package.contains_secret_values());
    Value warnings;
    for (const std::string& w : built.warnings) {
      warnings.mutable_list_value()->add_values()->set_string_value(w);
    }
    if (!warnings.has_list_value()) warnings.mutable_list_value();
    Set(out.output, "warnings", warnings);
    return out;
  }
};

class PushPackage final : public Step {
 public:
  using Step::Step;
  absl::StatusOr<TaskOutcome> Execute(TaskContext& ctx) override {
    ASSIGN_OR_RETURN(std::string source_env, StringInput(ctx, "sourceEnvironment"));
    ASSIGN_OR_RETURN(std::string target_env, StringInput(ctx, "targetEnvironment"));
    ASSIGN_OR_RETURN(std::string package_ref, StringInput(ctx, "packageRef"));
    ASSIGN_OR_RETURN(std::string outgoing_id, StringInput(ctx, "outgoingWorkflowId"));
    ASSIGN_OR_RETURN(std::shared_ptr<Remote> target, shared().Connect(target_env));
    const std::string correlation = IncomingCorrelationId(outgoing_id);

    ASSIGN_OR_RETURN(std::vector<conductor::proto::Workflow> existing,
                     target->orchestrator->GetWorkflowsByCorrelationId(
                         kIncomingWorkflowName, correlation, /*include_closed=*/true,
                         /*include_tasks=*/false));
    TaskOutcome out;
    if (!existing.empty()) {
      const std::string& id = existing.front().workflow_id();
      ctx.AddLog(absl::StrCat("the incoming workflow ", id, " in '", target_env,
                              "' was started by an earlier attempt; not starting another"));
      SetString(out.output, "incomingWorkflowId", id);
      SetBool(out.output, "alreadyStarted", true);
      return out;
    }
    ASSIGN_OR_RETURN(std::string bytes, shared().Load(package_ref, "package"));
    ASSIGN_OR_RETURN(std::string target_ref,
                     shared().StoreIn(target->extensions.get(), bytes, "package",
                                      absl::StrCat("environment '", target_env, "'")));
    if (absl::StartsWith(target_ref, kInlinePrefix)) {
      // Inline, the package becomes part of the incoming workflow's task data.
      absl::StatusOr<v1::MigrationPackage> package = PackageFromJson(bytes);
      if (package.ok() && package->contains_secret_values()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the package carries secret values and environment '", target_env,
            "' has no blob store (cmig.v1.BlobStore) to keep them out of task data; migrate "
            "without includeSecrets and set the secrets in the target by hand"));
      }
    }
    conductor::proto::StartWorkflowRequest start;
    start.set_name(std::string(kIncomingWorkflowName));
    start.set_correlation_id(correlation);
    auto& input = *start.mutable_input();
    input["packageRef"].set_string_value(target_ref);
    input["sourceEnvironment"].set_string_value(source_env);
    input["targetEnvironment"].set_string_value(target_env);
    input["outgoingWorkflowId"].set_string_value(outgoing_id);
    ASSIGN_OR_RETURN(std::string id, target->orchestrator->StartWorkflow(start));
    ctx.AddLog(absl::StrCat("started ", kIncomingWorkflowName, " ", id, " in '", target_env,
                            "' with a ", bytes.size(), "-byte package",
                            absl::StartsWith(target_ref, kInlinePrefix) ? " (inline)" : ""));
    SetString(out.output, "incomingWorkflowId", id);
    SetString(out.output, "targetPackageRef",
              absl::StartsWith(target_ref, kInlinePrefix) ? "inline" : target_ref);
    SetBool(out.output, "alreadyStarted", false);
    return out;
  }
};

class AwaitIncoming final : public Step {
 public:
  using Step::Step;
  absl::StatusOr<TaskOutcome> Execute(TaskContext& ctx) override {
    ASSIGN_OR_RETURN(std::string target_env, StringInput(ctx, "targetEnvironment"));
    ASSIGN_OR_RETURN(std::string id, StringInput(ctx, "incomingWorkflowId"));
    ASSIGN_OR_RETURN(std::shared_ptr<Remote> target, shared().Connect(target_env));
    ASSIGN_OR_RETURN(conductor::proto::Workflow wf,
                     target->orchestrator->GetWorkflowStatus(id, /*include_tasks=*/false));
    TaskOutcome out;
    SetString(out.output, "incomingStatus",
              conductor::proto::Workflow::WorkflowStatus_Name(wf.status()));
    switch (wf.status()) {
      case conductor::proto::Workflow::RUNNING:
      case conductor::proto::Workflow::PAUSED:
        out.callback_after = deps().await_poll;
        return out;
      case conductor::proto::Workflow::COMPLETED:
        for (const char* key : {"report", "plan", "verification", "dryRun", "applied"}) {
          auto it = wf.output().find(key);
          if (it != wf.output().end()) Set(out.output, key, it->second);
        }
        if (auto it = wf.output().find("reportRef"); it != wf.output().end() &&
                                                     it->second.has_string_value() &&
                                                     !it->second.string_value().empty()) {
          // The full report stays in the target's blob store; keep a copy here for the
          // verify step and the operator.
          const std::string& ref = it->second.string_value();
          if (absl::StartsWith(ref, kInlinePrefix)) {
            // A target without a blob store sent the report inline: it is usable as it is.
            SetString(out.output, "reportRef", ref);
            ctx.AddLog(absl::StrCat("the incoming workflow ", id, " completed"));
            return out;
          }
          if (!absl::StartsWith(ref, kStoredPrefix)) {
            return absl::InvalidArgumentError("the incoming report reference is malformed");
          }
          ASSIGN_OR_RETURN(std::string bytes,
                           target->extensions->GetBlob(ref.substr(kStoredPrefix.size())));
          ASSIGN_OR_RETURN(std::string local, shared().Store(bytes, "incoming report"));
          SetString(out.output, "reportRef", local);
        }
        ctx.AddLog(absl::StrCat("the incoming workflow ", id, " completed"));
        return out;
      default:
        break;
    }
    std::string detail;
    auto report = wf.output().find("report");
    if (report != wf.output().end()) {
      v1::MigrationReport r;
      if (FromValue(&report->second, "report", &r).ok() && r.blocking_problems_size() > 0) {
        detail = absl::StrCat("; blocking problems: ", Summarise(r.blocking_problems()));
      }
    }
    return absl::FailedPreconditionError(
        absl::StrCat("the incoming workflow ", id, " in '", target_env, "' ended ",
                     conductor::proto::Workflow::WorkflowStatus_Name(wf.status()), ": ",
                     wf.reason_for_incompletion(), detail));
  }
};

class VerifyTargetStep final : public Step {
 public:
  using Step::Step;
  absl::StatusOr<TaskOutcome> Execute(TaskContext& ctx) override {
    ASSIGN_OR_RETURN(std::string target_env, StringInput(ctx, "targetEnvironment"));
    v1::MigrationReport incoming;
    if (const Value* r = ctx.Input("incomingReportRef");
        r != nullptr && r->has_string_value() && !r->string_value().empty()) {
      ASSIGN_OR_RETURN(std::string json, shared().Load(r->string_value(), "incoming report"));
      ASSIGN_OR_RETURN(incoming, ParseReport(json));
    } else {
      RETURN_IF_ERROR(FromValue(ctx.Input("incomingReport"), "incomingReport", &incoming));
    }
    if (incoming.items().empty() && incoming.package_digest().empty()) {
      return absl::InvalidArgumentError("input 'incomingReport' is missing");
    }
    ASSIGN_OR_RETURN(std::shared_ptr<Remote> target, shared().Connect(target_env));
    ASSIGN_OR_RETURN(std::unique_ptr<DefinitionSource> source, ReadAll(*target->orchestrator));
    ASSIGN_OR_RETURN(v1::Verification verification, VerifyTarget(incoming, *source));
    if (!verification.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the target '", target_env,
                       "' does not hold what was migrated: ", Summarise(verification.problems())));
    }
    v1::MigrationReport report;
    report.set_source_environment(incoming.source_environment());
    report.set_target_environment(target_env);
    report.set_package_digest(incoming.package_digest());
    *report.mutable_items() = incoming.items();
    *report.mutable_counts() = incoming.counts();
    *report.mutable_version_mapping() = incoming.version_mapping();
    *report.mutable_manual_dependencies() = incoming.manual_dependencies();
    *report.mutable_unresolved() = incoming.unresolved();
    *report.mutable_warnings() = incoming.warnings();
    *report.mutable_verification() = verification;
    *report.mutable_incoming() = incoming;
    AddDurations(*deps().workflows, ctx.task().workflow_instance_id(), report);
    ctx.AddLog(absl::StrCat("verified ", verification.checked(), " items in '", target_env, "'"));
    TaskOutcome out;
    RETURN_IF_ERROR(SetMessage(out.output, "verification", verification));
    RETURN_IF_ERROR(SetReport(shared(), out.output, report));
    return out;
  }
};

// ---- incoming -------------------------------------------------------------------------------

// The package behind `ref`, parsed and validated. A package that does not parse or validate is
// InvalidArgument (terminal), saying that nothing was changed.
absl::StatusOr<std::shared_ptr<const ParsedPackage>> LoadPackage(Shared& shared,
                                                                 absl::string_view ref) {
  const bool stored = absl::StartsWith(ref, kStoredPrefix);
  if (stored) {
    if (std::shared_ptr<const ParsedPackage> cached = shared.CachedPackage(ref)) return cached;
  }
  ASSIGN_OR_RETURN(std::string json, shared.Load(ref, "package"));
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
  if (stored) shared.CachePackage(ref, parsed);
  return std::shared_ptr<const ParsedPackage>(std::move(parsed));
}

class ValidatePackageStep final : public Step {
 public:
  using Step::Step;
  absl::StatusOr<TaskOutcome> Execute(TaskContext& ctx) override {
    std::string ref;
    const Value* inline_package = ctx.Input("package");
    if (const Value* r = ctx.Input("packageRef");
        r != nullptr && r->kind_case() == Value::kStringValue && !r->string_value().empty()) {
      ref = r->string_value();
    } else if (inline_package != nullptr && inline_package->has_struct_value()) {
      // A package given inline (offline import against a server without a blob store).
      ASSIGN_OR_RETURN(ref, shared().Store(WriteJson(*inline_package), "package"));
    } else {
      return absl::InvalidArgumentError("neither input 'packageRef' nor 'package' is given");
    }
    ASSIGN_OR_RETURN(std::shared_ptr<const ParsedPackage> parsed, LoadPackage(shared(), ref));
    const v1::MigrationPackage& package = parsed->package;
    const PackageContents* contents = &parsed->contents;
    ctx.AddLog(absl::StrCat("package ", package.digest(), " from '", package.source_environment(),
                            "' is valid: ", contents->task_defs.size(), " task and ",
                            contents->workflows.size(), " workflow definitions"));
    TaskOutcome out;
    SetString(out.output, "packageRef", ref);
    SetString(out.output, "packageDigest", package.digest());
    SetString(out.output, "sourceEnvironment", package.source_environment());
    SetNumber(out.output, "taskDefs", contents->task_defs.size());
    SetNumber(out.output, "workflowDefs", contents->workflows.size());
    SetBool(out.output, "dryRun", package.options().dry_run());
    return out;
  }
};

class PlanMigrationStep final : public Step {
 public:
  using Step::Step;
  absl::StatusOr<TaskOutcome> Execute(TaskContext& ctx) override {
    ASSIGN_OR_RETURN(std::string ref, StringInput(ctx, "packageRef"));
    std::string target_env;
    if (const Value* t = ctx.Input("targetEnvironment"); t && t->has_string_value()) {
      target_env = t->string_value();
    }
    ASSIGN_OR_RETURN(std::shared_ptr<const ParsedPackage> parsed, LoadPackage(shared(), ref));
    const v1::MigrationPackage& package = parsed->package;
    ASSIGN_OR_RETURN(std::unique_ptr<DefinitionSource> target, ReadAll(*deps().metadata));
    ASSIGN_OR_RETURN(v1::MigrationPlan plan, PlanMigration(package, parsed->contents, *target));
    ASSIGN_OR_RETURN(std::string plan_ref, shared().StoreMessage(plan, "plan"));
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
    RETURN_IF_ERROR(SetReport(shared(), out.output, report));
    if (package.options().dry_run()) {
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
  absl::StatusOr<TaskOutcome> Execute(TaskContext& ctx) override {
    ASSIGN_OR_RETURN(std::string plan_ref, StringInput(ctx, "planRef"));
    ASSIGN_OR_RETURN(std::string package_ref, StringInput(ctx, "packageRef"));
    ASSIGN_OR_RETURN(auto plan, shared().LoadMessage<v1::MigrationPlan>(plan_ref, "plan"));
    ASSIGN_OR_RETURN(std::shared_ptr<const ParsedPackage> parsed,
                     LoadPackage(shared(), package_ref));
    const v1::MigrationPackage* package = &parsed->package;
    ASSIGN_OR_RETURN(std::unique_ptr<DefinitionSource> target, ReadAll(*deps().metadata));
    ASSIGN_OR_RETURN(v1::TargetSnapshot snapshot, TakeSnapshot(plan, *target));
    if (package->secrets_size() > 0) {
      // The apply will overwrite these; their prior values stay in this environment's secret
      // store (under backup names), never in the snapshot or any task's data.
      std::vector<std::string> names;
      for (const v1::SecretValue& secret : package->secrets()) names.push_back(secret.name());
      absl::StatusOr<std::vector<v1::SecretSnapshot>> secrets =
          deps().secret_store == nullptr
              ? absl::UnimplementedError("no secret store is configured")
              : SnapshotSecrets(names, ctx.task().workflow_instance_id(), *deps().secret_store);
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
    ASSIGN_OR_RETURN(std::string ref, shared().StoreMessage(snapshot, "snapshot"));
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
  absl::StatusOr<TaskOutcome> Execute(TaskContext& ctx) override {
    ASSIGN_OR_RETURN(std::string package_ref, StringInput(ctx, "packageRef"));
    ASSIGN_OR_RETURN(std::string plan_ref, StringInput(ctx, "planRef"));
    ASSIGN_OR_RETURN(std::shared_ptr<const ParsedPackage> parsed,
                     LoadPackage(shared(), package_ref));
    const v1::MigrationPackage& package = parsed->package;
    ASSIGN_OR_RETURN(auto plan, shared().LoadMessage<v1::MigrationPlan>(plan_ref, "plan"));
    ASSIGN_OR_RETURN(std::vector<ApplyStep> steps, StepsToApply(package, parsed->contents, plan));
    if (package.secrets_size() > 0) {
      if (deps().secret_store == nullptr) {
        return absl::FailedPreconditionError(
            "the package carries secret values and this environment has no secret store to "
            "write them to (cmig.v1.Secrets)");
      }
      if (const Value* r = ctx.Input("snapshotRef");
          r != nullptr && r->has_string_value() && !r->string_value().empty()) {
        ASSIGN_OR_RETURN(auto snapshot,
                         shared().LoadMessage<v1::TargetSnapshot>(r->string_value(), "snapshot"));
        RETURN_IF_ERROR(EnsureSecretBackups(snapshot, *deps().secret_store));
      }
      for (const v1::SecretValue& secret : package.secrets()) {
        RETURN_IF_ERROR(deps().secret_store->PutSecret(secret.name(), secret.value()));
      }
      ctx.AddLog(absl::StrCat("wrote ", package.secrets_size(), " secret values"));
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
      if (steps[i].kind == v1::ITEM_KIND_TASK_DEF) {
        std::vector<conductor::proto::TaskDef> defs;
        for (size_t k = i; k < end; ++k) defs.push_back(std::move(steps[k].task_def));
        RETURN_IF_ERROR(deps().metadata->CreateTaskDefs(defs));
      } else {
        std::vector<conductor::proto::WorkflowDef> defs;
        for (size_t k = i; k < end; ++k) defs.push_back(std::move(steps[k].workflow_def));
        RETURN_IF_ERROR(deps().metadata->UpdateWorkflowDefs(defs));
      }
      i = end;
      if (steps.size() > static_cast<size_t>(batch)) {
        ctx.ReportProgress(absl::StrCat("applied ", i, " of ", steps.size()));
      }
    }
    ctx.AddLog(absl::StrCat("applied ", steps.size(), " definitions in dependency order"));
    TaskOutcome out;
    SetNumber(out.output, "applied", steps.size());
    SetNumber(out.output, "secretsWritten", package.secrets_size());
    return out;
  }
};

class VerifyApplied final : public Step {
 public:
  using Step::Step;
  absl::StatusOr<TaskOutcome> Execute(TaskContext& ctx) override {
    ASSIGN_OR_RETURN(std::string package_ref, StringInput(ctx, "packageRef"));
    ASSIGN_OR_RETURN(std::string plan_ref, StringInput(ctx, "planRef"));
    std::string target_env;
    if (const Value* t = ctx.Input("targetEnvironment"); t && t->has_string_value()) {
      target_env = t->string_value();
    }
    ASSIGN_OR_RETURN(std::shared_ptr<const ParsedPackage> parsed,
                     LoadPackage(shared(), package_ref));
    const v1::MigrationPackage& package = parsed->package;
    ASSIGN_OR_RETURN(auto plan, shared().LoadMessage<v1::MigrationPlan>(plan_ref, "plan"));
    v1::MigrationReport report = ReportFromPlan(package, plan, target_env);
    ASSIGN_OR_RETURN(std::unique_ptr<DefinitionSource> target, ReadAll(*deps().metadata));
    ASSIGN_OR_RETURN(v1::Verification verification, VerifyTarget(report, *target));
    if (!verification.ok()) {
      return absl::FailedPreconditionError(absl::StrCat("the applied definitions do not verify: ",
                                                        Summarise(verification.problems())));
    }
    *report.mutable_verification() = verification;
    if (package.secrets_size() > 0 && deps().secret_store != nullptr) {
      // The migration stands: the prior secret values the snapshot kept are no longer needed.
      RETURN_IF_ERROR(
          ReleaseSecretBackups(ctx.task().workflow_instance_id(), *deps().secret_store).status());
    }
    AddDurations(*deps().workflows, ctx.task().workflow_instance_id(), report);
    ctx.AddLog(absl::StrCat("verified ", verification.checked(), " items"));
    TaskOutcome out;
    RETURN_IF_ERROR(SetMessage(out.output, "verification", verification));
    RETURN_IF_ERROR(SetReport(shared(), out.output, report));
    return out;
  }
};

class RestoreSnapshot final : public Step {
 public:
  using Step::Step;
  absl::StatusOr<TaskOutcome> Execute(TaskContext& ctx) override {
    ASSIGN_OR_RETURN(std::string failed_id, StringInput(ctx, "failedWorkflowId"));
    ASSIGN_OR_RETURN(conductor::proto::Workflow failed,
                     deps().workflows->GetWorkflowStatus(failed_id, /*include_tasks=*/true));
    std::string snapshot_ref;
    bool apply_started = false;
    for (const auto& t : failed.tasks()) {
      if (t.reference_task_name() == "snapshot" &&
          t.status() == conductor::proto::Task::COMPLETED) {
        auto it = t.output_data().find("snapshotRef");
        if (it != t.output_data().end()) snapshot_ref = it->second.string_value();
      }
      if (t.reference_task_name() == "apply") apply_started = true;
    }
    TaskOutcome out;
    if (snapshot_ref.empty() || !apply_started) {
      // A snapshot step that failed part-way may still have kept prior secret values.
      if (deps().secret_store != nullptr) {
        absl::StatusOr<int> released = ReleaseSecretBackups(failed_id, *deps().secret_store);
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
                     shared().LoadMessage<v1::TargetSnapshot>(snapshot_ref, "snapshot"));
    ASSIGN_OR_RETURN(std::vector<RestoreStep> steps, StepsToRestore(snapshot));
    SecretRestore secrets;
    if (snapshot.secrets_size() > 0) {
      if (deps().secret_store == nullptr) {
        return absl::FailedPreconditionError(
            "cannot restore the secrets the failed apply wrote: no secret store is configured");
      }
      // Secrets first: they are independent of the definitions, and a later definition failure
      // must not leave a new secret value behind.
      ASSIGN_OR_RETURN(secrets, RestoreSecrets(snapshot, failed_id, *deps().secret_store));
      ctx.AddLog(absl::StrCat("secrets: put back ", secrets.restored, " prior values, deleted ",
                              secrets.removed, " the apply created"));
    }
    int restored = 0, removed = 0;
    // Definitions the server cannot remove (a Conductor server has no gRPC call that removes a
    // workflow definition). The rest of the snapshot is still restored before failing.
    std::vector<std::string> left;
    std::string why_left;
    for (const RestoreStep& s : steps) {
      if (s.action == RestoreStep::Action::kPut) {
        if (s.kind == v1::ITEM_KIND_TASK_DEF) {
          RETURN_IF_ERROR(deps().metadata->CreateTaskDefs({s.task_def}));
        } else {
          RETURN_IF_ERROR(deps().metadata->UpdateWorkflowDefs({s.workflow_def}));
        }
        ++restored;
        continue;
      }
      absl::Status st = absl::UnimplementedError("this server offers no definition removal");
      if (deps().admin != nullptr) {
        st = s.kind == v1::ITEM_KIND_TASK_DEF ? deps().admin->DeleteTaskDef(s.name)
                                              : deps().admin->DeleteWorkflowDef(s.name, s.version);
      }
      if (absl::IsUnimplemented(st)) {
        // Only what the apply got to write before it failed is left behind.
        absl::Status exists = s.kind == v1::ITEM_KIND_TASK_DEF
                                  ? deps().metadata->GetTaskDef(s.name).status()
                                  : deps().metadata->GetWorkflowDef(s.name, s.version).status();
        if (absl::IsNotFound(exists)) continue;
        RETURN_IF_ERROR(exists);
        left.push_back(DescribeItem(s.kind, s.name, s.version));
        why_left = std::string(st.message());
        continue;
      }
      if (!st.ok() && !absl::IsNotFound(st)) return st;
      ++removed;
    }
    if (!left.empty()) {
      // Retrying cannot add the service: the operator must remove them by hand.
      return absl::FailedPreconditionError(absl::StrCat(
          "restored ", restored, " and removed ", removed, " definitions, but cannot remove ",
          absl::StrJoin(left, ", "), " created by the failed apply (", why_left,
          "): remove them by hand (conductor-oss: DELETE /api/metadata/workflow/NAME/VERSION)"));
    }
    ctx.AddLog(absl::StrCat("restored ", restored, " and removed ", removed,
                            " definitions: the target is as before workflow ", failed_id));
    SetNumber(out.output, "restored", restored);
    SetNumber(out.output, "removed", removed);
    SetNumber(out.output, "secretsRestored", secrets.restored);
    SetNumber(out.output, "secretsRemoved", secrets.removed);
    SetString(out.output, "report",
              absl::StrCat("restored ", restored, ", removed ", removed, " definitions",
                           snapshot.secrets_size() == 0
                               ? ""
                               : absl::StrCat("; restored ", secrets.restored, ", removed ",
                                              secrets.removed, " secrets")));
    return out;
  }
};

}  // namespace

std::string IncomingCorrelationId(absl::string_view outgoing_workflow_id) {
  return absl::StrCat("cmig-outgoing-", outgoing_workflow_id);
}

std::vector<std::string> MigrationTaskTypes() {
  return {"cmig_fetch_definitions", "cmig_discover_references", "cmig_build_package",
          "cmig_push_package",      "cmig_await_incoming",      "cmig_verify_target",
          "cmig_validate_package",  "cmig_plan_migration",      "cmig_snapshot_target",
          "cmig_apply_migration",   "cmig_verify_applied",      "cmig_restore_snapshot"};
}

absl::Status RegisterMigrationHandlers(HandlerRegistry& registry, MigrationDeps deps) {
  if (deps.metadata == nullptr || deps.workflows == nullptr || deps.environments == nullptr ||
      deps.secrets == nullptr) {
    return absl::InvalidArgumentError(
        "migration handlers need a metadata client, a workflow client, an environment resolver "
        "and a secret resolver");
  }
  auto shared = std::make_shared<Shared>(std::move(deps));
  RETURN_IF_ERROR(
      registry.Register("cmig_fetch_definitions", std::make_unique<FetchDefinitions>(shared)));
  RETURN_IF_ERROR(
      registry.Register("cmig_discover_references", std::make_unique<DiscoverReferences>(shared)));
  RETURN_IF_ERROR(
      registry.Register("cmig_build_package", std::make_unique<BuildPackageStep>(shared)));
  RETURN_IF_ERROR(registry.Register("cmig_push_package", std::make_unique<PushPackage>(shared)));
  RETURN_IF_ERROR(
      registry.Register("cmig_await_incoming", std::make_unique<AwaitIncoming>(shared)));
  RETURN_IF_ERROR(
      registry.Register("cmig_verify_target", std::make_unique<VerifyTargetStep>(shared)));
  RETURN_IF_ERROR(
      registry.Register("cmig_validate_package", std::make_unique<ValidatePackageStep>(shared)));
  RETURN_IF_ERROR(
      registry.Register("cmig_plan_migration", std::make_unique<PlanMigrationStep>(shared)));
  RETURN_IF_ERROR(
      registry.Register("cmig_snapshot_target", std::make_unique<SnapshotTarget>(shared)));
  RETURN_IF_ERROR(
      registry.Register("cmig_apply_migration", std::make_unique<ApplyMigration>(shared)));
  RETURN_IF_ERROR(
      registry.Register("cmig_verify_applied", std::make_unique<VerifyApplied>(shared)));
  RETURN_IF_ERROR(
      registry.Register("cmig_restore_snapshot", std::make_unique<RestoreSnapshot>(shared)));
  return absl::OkStatus();
}

namespace {

// What the production registration creates and keeps for the life of the process.
struct ProcessResolvers {
  std::unique_ptr<client::GrpcExtensionsClient> extensions;
  std::unique_ptr<ExtensionEnvironmentResolver> extension_environments;
  std::unique_ptr<ExtensionSecretResolver> extension_secrets;
  std::unique_ptr<EnvironmentResolver> file_environments;
  std::unique_ptr<ConfigSecretResolver> file_secrets;
  std::unique_ptr<FallbackEnvironmentResolver> environments;
  std::unique_ptr<FallbackSecretResolver> secrets;
};

// An environment resolver with nothing configured, for a worker without a config file.
class NoEnvironments final : public EnvironmentResolver {
 public:
  absl::StatusOr<v1::Environment> Resolve(absl::string_view id) override {
    return absl::NotFoundError(absl::StrCat(
        "environment '", id,
        "' is unknown: register it in the orchestrator (cmig.v1.Environments) or list it in the "
        "file named by $CMIG_ENVIRONMENTS_FILE"));
  }
};

}  // namespace

absl::Status RegisterMigrationHandlers(HandlerRegistry& registry,
                                       client::GrpcOrchestratorClient& client) {
  // Lives as long as the process: the handlers borrow from it.
  static auto* owned = new std::vector<std::unique_ptr<ProcessResolvers>>();
  auto r = std::make_unique<ProcessResolvers>();
  ASSIGN_OR_RETURN(r->extensions, client::GrpcExtensionsClient::Create(client.options()));
  r->extension_environments = std::make_unique<ExtensionEnvironmentResolver>(*r->extensions);
  r->extension_secrets = std::make_unique<ExtensionSecretResolver>(*r->extensions);
  if (const char* file = std::getenv("CMIG_ENVIRONMENTS_FILE"); file != nullptr && *file) {
    ASSIGN_OR_RETURN(r->file_environments, ConfigEnvironmentResolver::FromFile(file));
  } else {
    r->file_environments = std::make_unique<NoEnvironments>();
  }
  const char* dir = std::getenv("CMIG_SECRETS_DIR");
  r->file_secrets =
      std::make_unique<ConfigSecretResolver>(dir ? dir : "", [](const std::string& name) {
        const char* v = std::getenv(name.c_str());
        return v ? std::optional<std::string>(v) : std::nullopt;
      });
  r->environments = std::make_unique<FallbackEnvironmentResolver>(*r->extension_environments,
                                                                  *r->file_environments);
  r->secrets = std::make_unique<FallbackSecretResolver>(*r->extension_secrets, *r->file_secrets);
  MigrationDeps deps;
  deps.metadata = &client;
  deps.workflows = &client;
  deps.blobs = r->extensions.get();
  deps.admin = r->extensions.get();
  deps.secret_store = r->extensions.get();
  deps.environments = r->environments.get();
  deps.secrets = r->secrets.get();
  RETURN_IF_ERROR(RegisterMigrationHandlers(registry, std::move(deps)));
  owned->push_back(std::move(r));
  return absl::OkStatus();
}

}  // namespace cmig::tasks
