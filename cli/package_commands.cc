// template, export, inspect, import: the offline flow. The package is the one the online push
// sends (migration/package.h), built by the same discovery and packaging code.
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/options.h"
#include "cli/output.h"
#include "cli/workflow_view.h"
#include "client/extensions_client.h"
#include "definitions/canonical.h"
#include "definitions/json.h"
#include "google/protobuf/util/time_util.h"
#include "migration/definition_source.h"
#include "migration/discovery.h"
#include "migration/package.h"

namespace cmig::cli {

using migration::BuildPackage;
using migration::BuiltPackage;
using migration::ComputePackageDigest;
using migration::DefinitionSource;
using migration::Discover;
using migration::Discovery;
using migration::DiscoveryOptions;
using migration::PackageContents;
using migration::PackageFromJson;
using migration::PackageHeader;
using migration::PackageToJson;
using migration::ValidatePackage;

namespace {

// One MetadataService call per definition; what discovery needs from the source.
class MetadataSource final : public DefinitionSource {
 public:
  // Borrows `metadata`, `events` and `schedules`.
  MetadataSource(client::MetadataClient& metadata, client::EventHandlerClient& events,
                 client::ScheduleClient& schedules)
      : metadata_(metadata), events_(events), schedules_(schedules) {}
  absl::StatusOr<conductor::proto::WorkflowDef> GetWorkflowDef(
      absl::string_view name, std::optional<int32_t> version) override {
    return metadata_.GetWorkflowDef(name, version.value_or(0));
  }
  absl::StatusOr<conductor::proto::TaskDef> GetTaskDef(absl::string_view name) override {
    return metadata_.GetTaskDef(name);
  }
  absl::StatusOr<std::vector<conductor::proto::EventHandler>> ListEventHandlers() override {
    return events_.ListEventHandlers();
  }
  absl::StatusOr<std::vector<v1::WorkflowSchedule>> ListSchedules() override {
    return schedules_.ListSchedules();
  }

 private:
  client::MetadataClient& metadata_;
  client::EventHandlerClient& events_;
  client::ScheduleClient& schedules_;
};

// The source listed once: every version of every workflow and every task definition, with its
// event handlers and schedules, held in memory for discovery (as a migration's fetch step reads a
// large selection). A list call that fails is answered when discovery asks for what it lists, as
// MetadataSource would. Unimplemented when the server cannot list workflows.
absl::StatusOr<std::unique_ptr<DefinitionSource>> ListSource(client::MetadataClient& metadata,
                                                             client::EventHandlerClient& events,
                                                             client::ScheduleClient& schedules) {
  ASSIGN_OR_RETURN(std::vector<conductor::proto::WorkflowDef> workflows,
                   metadata.ListWorkflowDefs("", /*all_versions=*/true));
  ASSIGN_OR_RETURN(std::vector<conductor::proto::TaskDef> task_defs, metadata.ListTaskDefs());
  auto memory = std::make_unique<migration::InMemoryDefinitionSource>();
  for (auto& w : workflows) memory->AddWorkflowDef(std::move(w));
  for (auto& t : task_defs) memory->AddTaskDef(std::move(t));
  absl::StatusOr<std::vector<conductor::proto::EventHandler>> handlers = events.ListEventHandlers();
  if (handlers.ok()) {
    for (auto& h : *handlers) memory->AddEventHandler(std::move(h));
  } else {
    memory->MarkEventHandlersUnavailable(handlers.status());
  }
  absl::StatusOr<std::vector<v1::WorkflowSchedule>> all_schedules = schedules.ListSchedules();
  if (all_schedules.ok()) {
    for (auto& s : *all_schedules) memory->AddSchedule(std::move(s));
  } else {
    memory->MarkSchedulesUnavailable(all_schedules.status());
  }
  return memory;
}

std::string CreatedAt(const v1::MigrationPackage& p) {
  if (!p.has_created_at()) return "-";
  return FormatTimeMs(google::protobuf::util::TimeUtil::TimestampToMilliseconds(p.created_at()));
}

// The package summary shared by export and inspect: header, items, dependencies.
void PrintPackageSummary(const v1::MigrationPackage& p, std::ostream& out) {
  Table h({"", ""});
  h.AddRow({"Format", absl::StrCat(p.format_version())});
  h.AddRow({"Source", p.source_environment()});
  h.AddRow({"Created", CreatedAt(p)});
  h.AddRow({"Digest", p.digest()});
  std::string counts = absl::StrCat(p.manifest().workflow_def_count(), " workflows, ",
                                    p.manifest().task_def_count(), " task definitions");
  if (p.manifest().event_handler_count() > 0) {
    absl::StrAppend(&counts, ", ", p.manifest().event_handler_count(), " event handlers");
  }
  if (p.manifest().schedule_count() > 0) {
    absl::StrAppend(&counts, ", ", p.manifest().schedule_count(), " schedules");
  }
  h.AddRow({"Items", counts});
  h.AddRow(
      {"Options",
       absl::StrCat(
           "conflict ", ConflictStrategyText(p.options().conflict_strategy()), ", versions ",
           VersionStrategyText(p.options().version_strategy()),
           p.options().dry_run() ? ", dry run" : "",
           p.options().skip_discovery() ? ", without discovery" : "",
           p.options().require_task_definitions() ? ", task definitions required" : "",
           p.options().on_blocked() == v1::ON_BLOCKED_SKIP ? ", blocked items left out" : "")});
  if (p.contains_secret_values()) {
    std::vector<std::string> names;
    for (const auto& s : p.secrets()) names.push_back(s.name());
    h.AddRow({"SECRETS", absl::StrCat("this package carries secret values (",
                                      absl::StrJoin(names, ", "), "): keep it like a secret")});
  }
  std::ostringstream text;
  h.Print(text);
  std::string s = text.str();
  out << s.substr(s.find('\n') + 1) << "\n";
  Table t({"KIND", "NAME", "VERSION", "SHA256", "ORIGIN"});
  for (int i = 0; i < p.items_size(); ++i) {
    const v1::PackageItem& item = p.items(i);
    std::string origin;
    if (i < p.manifest().entries_size()) {
      const v1::ManifestEntry& e = p.manifest().entries(i);
      origin = e.requested() ? "requested" : absl::StrCat("via ", e.discovered_from());
    }
    t.AddRow({KindName(item.kind()), item.name(),
              item.kind() == v1::ITEM_KIND_WORKFLOW_DEF ? absl::StrCat(item.version()) : "-",
              item.sha256().substr(0, 12), origin});
  }
  t.Print(out);
  if (p.dependencies().dependencies_size() > 0) {
    out << "\nDependencies the target must provide:\n";
    for (const v1::Dependency& d : p.dependencies().dependencies()) {
      if (d.kind() == v1::DEPENDENCY_KIND_DEFAULT_TASK_DEFINITION) {
        out << "  - task " << TerminalSafe(d.name())
            << " runs with Conductor's default task definition, as in the source\n";
        continue;
      }
      out << "  - "
          << absl::AsciiStrToLower(
                 absl::StripPrefix(v1::DependencyKind_Name(d.kind()), "DEPENDENCY_KIND_"))
          << " " << TerminalSafe(d.name()) << "\n";
    }
  }
  if (p.dependencies().unresolved_size() > 0) {
    out << "\nUnresolved references:\n";
    for (const v1::UnresolvedReference& u : p.dependencies().unresolved()) {
      out << "  - '" << TerminalSafe(u.name()) << "' in "
          << TerminalSafe(u.referenced_by().workflow_name()) << " v"
          << u.referenced_by().workflow_version()
          << (u.detail().empty() ? "" : absl::StrCat(": ", TerminalSafe(u.detail()))) << "\n";
    }
  }
}

// The summary as JSON; secret values are never included, only their names.
JsonObject PackageJson(const v1::MigrationPackage& p) {
  JsonObject o;
  JsonArray items;
  for (int i = 0; i < p.items_size(); ++i) {
    const v1::PackageItem& item = p.items(i);
    JsonObject e;
    e.Set("kind", JsonString(KindName(item.kind())))
        .Set("name", JsonString(item.name()))
        .Set("version", JsonNumber(item.version()))
        .Set("sha256", JsonString(item.sha256()));
    if (i < p.manifest().entries_size()) {
      e.Set("requested", JsonBool(p.manifest().entries(i).requested()))
          .Set("discoveredFrom", JsonString(p.manifest().entries(i).discovered_from()));
    }
    items.Add(e.Take());
  }
  JsonArray secrets;
  for (const auto& s : p.secrets()) secrets.Add(JsonString(s.name()));
  JsonObject options;
  options.Set("conflictStrategy", JsonString(ConflictStrategyText(p.options().conflict_strategy())))
      .Set("versionStrategy", JsonString(VersionStrategyText(p.options().version_strategy())))
      .Set("dryRun", JsonBool(p.options().dry_run()))
      .Set("includeSecrets", JsonBool(p.options().include_secrets()))
      .Set("skipDiscovery", JsonBool(p.options().skip_discovery()))
      .Set("requireTaskDefinitions", JsonBool(p.options().require_task_definitions()))
      .Set("onBlocked", JsonString(OnBlockedText(p.options().on_blocked())));
  o.Set("formatVersion", JsonNumber(p.format_version()))
      .Set("sourceEnvironment", JsonString(p.source_environment()))
      .Set("createdAt", JsonString(CreatedAt(p)))
      .Set("digest", JsonString(p.digest()))
      .Set("workflowDefs", JsonNumber(p.manifest().workflow_def_count()))
      .Set("taskDefs", JsonNumber(p.manifest().task_def_count()))
      .Set("eventHandlers", JsonNumber(p.manifest().event_handler_count()))
      .Set("schedules", JsonNumber(p.manifest().schedule_count()))
      .Set("options", options.Take())
      .Set("items", items.Take())
      .Set("dependencies", MessageValue(p.dependencies()))
      .Set("containsSecretValues", JsonBool(p.contains_secret_values()))
      .Set("secretNames", secrets.Take());
  return o;
}

// Reads and parses a package file. InvalidArgument naming the file when it is no package.
absl::StatusOr<v1::MigrationPackage> LoadPackageFile(const std::string& path) {
  // Checked before a byte is read: a file past the limit costs no memory.
  const int64_t limit = absl::GetFlag(FLAGS_max_package_bytes);
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (!ec && size > static_cast<uintmax_t>(limit)) {
    return absl::ResourceExhaustedError(absl::StrCat("package ", path, " is ", size,
                                                     " bytes, more than the limit of ", limit,
                                                     " bytes (--max-package-bytes)"));
  }
  ASSIGN_OR_RETURN(std::string json, ReadInputFile(path, "package"));
  absl::StatusOr<v1::MigrationPackage> p = PackageFromJson(json);
  if (!p.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is not a migration package: ", p.status().message()));
  }
  return p;
}

absl::Status PackageRejected(const std::string& path, const absl::Status& s) {
  return absl::InvalidArgumentError(absl::StrCat(
      "package ", path, " failed its checks (digest mismatch or damage): ", s.message()));
}

}  // namespace

absl::Status TemplateCommand(Context& ctx) {
  std::string output = absl::GetFlag(FLAGS_output);
  std::string text = ExportConfigTemplate();
  if (output.empty() || output == "-") {
    if (ctx.json()) {
      JsonObject o;
      o.Set("config", JsonString(text));
      PrintJson(o.value(), ctx.out());
      return absl::OkStatus();
    }
    ctx.out() << text;
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(WriteOutputFile(output, text, absl::GetFlag(FLAGS_overwrite)));
  if (ctx.json()) {
    JsonObject o;
    o.Set("output", JsonString(output));
    PrintJson(o.value(), ctx.out());
  } else {
    ctx.out() << "wrote " << output
              << "; fill in the selection, then run: migrationctl export --config " << output
              << " --output PACKAGE\n";
  }
  return absl::OkStatus();
}

absl::Status ExportCommand(Context& ctx) {
  const std::string config_path = absl::GetFlag(FLAGS_config);
  const std::string output = absl::GetFlag(FLAGS_output);
  const bool overwrite = absl::GetFlag(FLAGS_overwrite);
  if (config_path.empty()) return UsageError("export needs --config FILE (see 'template')");
  if (output.empty()) return UsageError("export needs --output PACKAGE");
  // Fail before any network work when the output cannot be written.
  if (std::error_code ec; std::filesystem::exists(output, ec) && !overwrite) {
    return absl::FailedPreconditionError(absl::StrCat(
        output, " exists; pass --overwrite to replace it, or choose another --output"));
  }
  ASSIGN_OR_RETURN(std::string text, ReadInputFile(config_path, "config"));
  absl::StatusOr<v1::ExportConfig> parsed = ParseExportConfig(text, config_path);
  if (!parsed.ok()) return UsageError(parsed.status().message());
  const v1::ExportConfig& config = *parsed;

  // The config's source, unless the command line names the server or token.
  client::ClientOptions options = ctx.ServerOptions();
  if (!ctx.flag_given("server") && !config.source().address().empty()) {
    options.address = config.source().address();
    options.use_tls = config.source().use_tls();
    options.root_ca_file = config.source().tls_root_ca_file();
  }
  if (!ctx.flag_given("token_file") && !config.source().token_file().empty()) {
    absl::StatusOr<std::string> token = client::ReadTokenFile(config.source().token_file());
    if (!token.ok()) {
      return UsageError(
          absl::StrCat(config_path, ": source.token_file: ", token.status().message()));
    }
    options.token = *std::move(token);
  }
  ctx.set_address(options.address);
  ASSIGN_OR_RETURN(auto source, client::GrpcOrchestratorClient::Create(options));

  v1::Selection selection;
  const v1::ExportSelection& sel = config.selection();
  for (int i = 0; i < sel.workflows_size(); ++i) {
    ASSIGN_OR_RETURN(*selection.add_workflows(), ParseWorkflowSelector(sel.workflows(i), ""));
  }
  for (const std::string& t : sel.task_defs()) selection.add_task_defs(t);
  if (sel.all_workflows()) {
    ASSIGN_OR_RETURN(auto all, source->ListWorkflowDefs("", /*all_versions=*/false));
    for (const auto& w : all) selection.add_workflows()->set_name(w.name());
  }
  if (sel.all_task_defs()) {
    ASSIGN_OR_RETURN(auto all, source->ListTaskDefs());
    for (const auto& t : all) selection.add_task_defs(t.name());
  }
  for (const std::string& h : sel.event_handlers()) selection.add_event_handlers(h);
  if (sel.all_event_handlers()) {
    ASSIGN_OR_RETURN(auto all, source->ListEventHandlers());
    for (const auto& h : all) selection.add_event_handlers(h.name());
  }
  ASSIGN_OR_RETURN(auto extensions, client::GrpcExtensionsClient::Create(options));
  for (const std::string& s : sel.schedules()) selection.add_schedules(s);
  if (sel.all_schedules()) {
    ASSIGN_OR_RETURN(auto all, extensions->ListSchedules());
    for (const auto& s : all) selection.add_schedules(s.name());
  }
  if (selection.workflows().empty() && selection.task_defs().empty() &&
      selection.event_handlers().empty() && selection.schedules().empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the source at ", options.address, " holds nothing to export"));
  }

  // A few names are read one at a time; "all" or many names list the source once.
  std::unique_ptr<DefinitionSource> definitions;
  if (sel.all_workflows() || sel.all_task_defs() ||
      selection.workflows_size() + selection.task_defs_size() >=
          migration::kListSourceWhenSelectingAtLeast) {
    absl::StatusOr<std::unique_ptr<DefinitionSource>> listed =
        ListSource(*source, *source, *extensions);
    if (listed.ok()) {
      definitions = *std::move(listed);
    } else if (!absl::IsUnimplemented(listed.status())) {
      return listed.status();
    }
  }
  if (definitions == nullptr) {
    definitions = std::make_unique<MetadataSource>(*source, *source, *extensions);
  }
  DiscoveryOptions discovery_options;
  discovery_options.follow_references =
      !config.has_discover_references() || config.discover_references();
  discovery_options.require_task_definitions = config.require_task_definitions();
  ASSIGN_OR_RETURN(Discovery discovery, Discover(selection, *definitions, discovery_options));

  PackageHeader header;
  header.source_environment = config.source().environment();
  header.created_at = absl::Now();
  header.selection = selection;
  ASSIGN_OR_RETURN(v1::ConflictStrategy conflict,
                   ParseConflictStrategy(config.import_options().conflict_strategy(), ""));
  ASSIGN_OR_RETURN(v1::VersionStrategy versions,
                   ParseVersionStrategy(config.import_options().version_strategy(), ""));
  header.options.set_conflict_strategy(conflict);
  header.options.set_version_strategy(versions);
  header.options.set_dry_run(config.import_options().dry_run());
  header.options.set_include_secrets(config.include_secrets());
  header.options.set_skip_discovery(!discovery_options.follow_references);
  header.options.set_require_task_definitions(config.require_task_definitions());
  ASSIGN_OR_RETURN(v1::OnBlocked on_blocked,
                   ParseOnBlocked(config.import_options().on_blocked(), ""));
  header.options.set_on_blocked(on_blocked);
  if (config.include_secrets()) {
    ASSIGN_OR_RETURN(auto secrets, client::GrpcExtensionsClient::Create(options));
    for (const v1::Dependency& d : discovery.report.dependencies()) {
      if (d.kind() != v1::DEPENDENCY_KIND_SECRET) continue;
      absl::StatusOr<std::string> value = secrets->GetSecret(d.name());
      if (absl::IsNotFound(value.status())) continue;  // BuildPackage warns about it
      RETURN_IF_ERROR(value.status());
      header.secret_values[d.name()] = *std::move(value);
    }
  }
  ASSIGN_OR_RETURN(BuiltPackage built, BuildPackage(discovery, header));
  ASSIGN_OR_RETURN(std::string json, PackageToJson(built.package, /*pretty=*/true));
  // Secret values in it: readable by its owner alone.
  RETURN_IF_ERROR(WriteOutputFile(output, json, overwrite, built.package.contains_secret_values()));
  if (ctx.json()) {
    JsonObject o = PackageJson(built.package);
    JsonArray warnings;
    for (const std::string& w : built.warnings) warnings.Add(JsonString(w));
    o.Set("output", JsonString(output)).Set("warnings", warnings.Take());
    PrintJson(o.value(), ctx.out());
    return absl::OkStatus();
  }
  ctx.out() << "wrote " << output << " from " << options.address << "\n\n";
  PrintPackageSummary(built.package, ctx.out());
  for (const std::string& w : built.warnings) ctx.out() << "warning: " << w << "\n";
  return absl::OkStatus();
}

absl::Status InspectCommand(Context& ctx) {
  const std::string path = ctx.args()[0];
  ASSIGN_OR_RETURN(v1::MigrationPackage p, LoadPackageFile(path));
  absl::StatusOr<PackageContents> valid = ValidatePackage(p);
  if (ctx.json()) {
    JsonObject o = PackageJson(p);
    o.Set("file", JsonString(path))
        .Set("valid", JsonBool(valid.ok()))
        .Set("digestOk", JsonBool(ComputePackageDigest(p) == p.digest()))
        .Set("problems", valid.ok() ? JsonArray().Take()
                                    : JsonArray().Add(JsonString(valid.status().message())).Take());
    PrintJson(o.value(), ctx.out());
    ctx.MarkJsonPrinted();
  } else {
    PrintPackageSummary(p, ctx.out());
    if (valid.ok()) {
      ctx.out()
          << "\nChecks: ok (format, every item's SHA-256, the package digest, the manifest)\n";
    }
  }
  if (!valid.ok()) return PackageRejected(path, valid.status());
  return absl::OkStatus();
}

absl::Status ImportCommand(Context& ctx) {
  const std::string input = absl::GetFlag(FLAGS_input);
  if (input.empty()) return UsageError("import needs --input PACKAGE");
  ASSIGN_OR_RETURN(v1::MigrationPackage package, LoadPackageFile(input));
  // Check what crossed the gap before anything reaches the target.
  if (absl::StatusOr<PackageContents> valid = ValidatePackage(package); !valid.ok()) {
    return PackageRejected(input, valid.status());
  }
  // Options given here replace the recorded ones; the digest is recomputed over the checked
  // content so the target's validation still proves the items are what was exported.
  v1::MigrationOptions options = package.options();
  std::string conflict = absl::GetFlag(FLAGS_conflict_strategy);
  std::string versions = absl::GetFlag(FLAGS_version_strategy);
  if (ctx.flag_given("conflict_strategy")) {
    absl::StatusOr<v1::ConflictStrategy> c = ParseConflictStrategy(conflict, "--conflict-strategy");
    if (!c.ok()) return UsageError(c.status().message());
    options.set_conflict_strategy(*c);
  }
  if (ctx.flag_given("version_strategy")) {
    absl::StatusOr<v1::VersionStrategy> v = ParseVersionStrategy(versions, "--version-strategy");
    if (!v.ok()) return UsageError(v.status().message());
    options.set_version_strategy(*v);
  }
  if (ctx.flag_given("on_blocked")) {
    absl::StatusOr<v1::OnBlocked> o =
        ParseOnBlocked(absl::GetFlag(FLAGS_on_blocked), "--on-blocked");
    if (!o.ok()) return UsageError(o.status().message());
    options.set_on_blocked(*o);
  }
  if (ctx.flag_given("dry_run")) options.set_dry_run(absl::GetFlag(FLAGS_dry_run));
  if (options.SerializeAsString() != package.options().SerializeAsString()) {
    *package.mutable_options() = options;
    package.set_digest(ComputePackageDigest(package));
  }
  ASSIGN_OR_RETURN(const std::string bytes, PackageToJson(package));

  ASSIGN_OR_RETURN(client::GrpcOrchestratorClient * target, ctx.Orchestrator());
  ASSIGN_OR_RETURN(auto blobs, client::GrpcExtensionsClient::Create(ctx.ServerOptions()));
  conductor::proto::StartWorkflowRequest start;
  start.set_name(kIncomingWorkflow);
  start.set_correlation_id(absl::StrCat("cmig-import-", package.digest()));
  auto& in = *start.mutable_input();
  std::string how;
  absl::Status put = blobs->PutBlob(Sha256Hex(bytes), bytes);
  if (put.ok()) {
    in["packageRef"].set_string_value(absl::StrCat("sha256:", Sha256Hex(bytes)));
    how = "through the server's package store";
  } else if (absl::IsUnimplemented(put)) {
    if (package.contains_secret_values()) {
      // Inline, the values would become workflow input and stay in the server's history.
      return absl::FailedPreconditionError(absl::StrCat(
          "package ", input, " carries secret values and the server at ", ctx.global().server,
          " has no package store (cmig.v1.BlobStore) to keep them out of workflow data; export "
          "it without include_secrets and set the secrets in the target by hand"));
    }
    ASSIGN_OR_RETURN(in["package"], ParseJson(bytes));
    how = "inline (the server has no package store)";
  } else {
    return put;
  }
  in["sourceEnvironment"].set_string_value(package.source_environment());
  std::string target_env = absl::GetFlag(FLAGS_target);
  in["targetEnvironment"].set_string_value(target_env.empty() ? ctx.global().server : target_env);
  ASSIGN_OR_RETURN(std::string id, target->StartWorkflow(start));

  if (!absl::GetFlag(FLAGS_wait)) {
    if (ctx.json()) {
      JsonObject o;
      o.Set("workflowId", JsonString(id))
          .Set("packageDigest", JsonString(package.digest()))
          .Set("status", JsonString("RUNNING"));
      PrintJson(o.value(), ctx.out());
    } else {
      ctx.out() << "started " << kIncomingWorkflow << " " << id << " on " << ctx.global().server
                << " with package " << package.digest() << " " << how
                << "\nfollow it with: migrationctl status " << id << "\n";
    }
    return absl::OkStatus();
  }
  return WaitAndReport(ctx, *target, id);
}

}  // namespace cmig::cli
