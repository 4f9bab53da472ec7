// `definitions load DIR`: registers Conductor JSON definitions with --server, the way the worker
// registers its own workflows at startup (same loader, same "unchanged stays untouched" rule).
// It is how a team seeds an environment from definitions kept in version control.
// `definitions get` and `definitions diff` read one definition from --server or an environment
// and compare it across two, field by field, as a migration's plan would.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/options.h"
#include "cli/output.h"
#include "cli/workflow_view.h"
#include "definitions/canonical.h"
#include "definitions/conductor_json.h"
#include "definitions/json.h"
#include "migration/definition_diff.h"
#include "workflows/registration.h"

namespace cmig::cli {
namespace {

google::protobuf::Value NameList(const std::vector<std::string>& names) {
  JsonArray a;
  for (const auto& n : names) a.Add(JsonString(n));
  return a.Take();
}

enum class DefinitionKind { kWorkflow, kTask, kEventHandler };

struct DefinitionKey {
  DefinitionKind kind;
  std::string name;
  int32_t version = 0;  // workflows: 0 is the latest
};

absl::StatusOr<DefinitionKey> ParseKey(const std::vector<std::string>& args) {
  DefinitionKey key;
  const std::string& kind = args[0];
  if (kind == "workflow") {
    absl::StatusOr<v1::WorkflowSelector> sel = ParseWorkflowSelector(args[1], "NAME");
    if (!sel.ok()) return UsageError(sel.status().message());
    return DefinitionKey{DefinitionKind::kWorkflow, sel->name(), sel->version()};
  }
  if (args[1].empty()) return UsageError("NAME is empty");
  if (kind == "task") return DefinitionKey{DefinitionKind::kTask, args[1]};
  if (kind == "event-handler") return DefinitionKey{DefinitionKind::kEventHandler, args[1]};
  return UsageError(absl::StrCat("unknown definition kind '", TerminalSafe(kind),
                                 "': say workflow, task or event-handler"));
}

std::string Describe(const DefinitionKey& key, int32_t found_version) {
  switch (key.kind) {
    case DefinitionKind::kWorkflow:
      return absl::StrCat("workflow ", key.name,
                          found_version > 0 ? absl::StrCat(" v", found_version) : "");
    case DefinitionKind::kTask:
      return absl::StrCat("task ", key.name);
    case DefinitionKind::kEventHandler:
      return absl::StrCat("event handler ", key.name);
  }
  return key.name;
}

// Where definitions are read: --server, or an environment --server knows.
class DefinitionPlace {
 public:
  static absl::StatusOr<DefinitionPlace> Open(Context& ctx, const std::string& environment) {
    DefinitionPlace place;
    if (environment.empty()) {
      ASSIGN_OR_RETURN(client::GrpcOrchestratorClient * server, ctx.Orchestrator());
      place.metadata_ = server;
      place.events_ = server;
      place.label_ = ctx.address();
      return place;
    }
    ASSIGN_OR_RETURN(place.owned_, ConnectNamedEnvironment(ctx, environment));
    place.metadata_ = &place.owned_->metadata();
    place.events_ = place.owned_->event_handlers();
    place.label_ = environment;
    return place;
  }

  const std::string& label() const { return label_; }

  // The definition under `key` as Conductor JSON (the canonical form a plan compares); nullopt
  // when there is none. `version` is set to the workflow version found.
  absl::StatusOr<std::optional<google::protobuf::Value>> Read(const DefinitionKey& key,
                                                              int32_t* version) {
    std::string json;
    switch (key.kind) {
      case DefinitionKind::kWorkflow: {
        absl::StatusOr<conductor::proto::WorkflowDef> d =
            metadata_->GetWorkflowDef(key.name, key.version);
        if (absl::IsNotFound(d.status())) return std::nullopt;
        RETURN_IF_ERROR(Named(d.status()));
        *version = d->version();
        json = CanonicalJson(*d);
        break;
      }
      case DefinitionKind::kTask: {
        absl::StatusOr<conductor::proto::TaskDef> d = metadata_->GetTaskDef(key.name);
        if (absl::IsNotFound(d.status())) return std::nullopt;
        RETURN_IF_ERROR(Named(d.status()));
        json = CanonicalJson(*d);
        break;
      }
      case DefinitionKind::kEventHandler: {
        if (events_ == nullptr) {
          return absl::UnimplementedError(
              absl::StrCat(label_, " has no event handler API to read from"));
        }
        absl::StatusOr<std::vector<conductor::proto::EventHandler>> all =
            events_->ListEventHandlers();
        RETURN_IF_ERROR(Named(all.status()));
        for (const conductor::proto::EventHandler& h : *all) {
          if (h.name() == key.name) json = CanonicalJson(h);
        }
        if (json.empty()) return std::nullopt;
        break;
      }
    }
    return ParseJson(json);
  }

 private:
  absl::Status Named(const absl::Status& s) const {
    if (s.ok()) return s;
    return absl::Status(s.code(), absl::StrCat(label_, ": ", s.message()));
  }

  client::MetadataClient* metadata_ = nullptr;
  client::EventHandlerClient* events_ = nullptr;
  std::unique_ptr<client::ConductorEnvironment> owned_;
  std::string label_;
};

}  // namespace

absl::Status DefinitionsGetCommand(Context& ctx) {
  ASSIGN_OR_RETURN(DefinitionKey key, ParseKey(ctx.args()));
  ASSIGN_OR_RETURN(DefinitionPlace place,
                   DefinitionPlace::Open(ctx, absl::GetFlag(FLAGS_environment)));
  int32_t version = key.version;
  ASSIGN_OR_RETURN(std::optional<google::protobuf::Value> def, place.Read(key, &version));
  if (!def.has_value()) {
    return absl::NotFoundError(absl::StrCat(TerminalSafe(place.label()), " has no ",
                                            TerminalSafe(Describe(key, key.version))));
  }
  // The same JSON with or without --json: it is a definition `definitions load` reads back.
  PrintJson(*def, ctx.out());
  return absl::OkStatus();
}

absl::Status DefinitionsDiffCommand(Context& ctx) {
  ASSIGN_OR_RETURN(DefinitionKey key, ParseKey(ctx.args()));
  const std::string target_env = absl::GetFlag(FLAGS_target);
  if (target_env.empty()) {
    return UsageError("definitions diff needs --target ENV, the environment to compare with");
  }
  ASSIGN_OR_RETURN(DefinitionPlace source,
                   DefinitionPlace::Open(ctx, absl::GetFlag(FLAGS_environment)));
  ASSIGN_OR_RETURN(DefinitionPlace target, DefinitionPlace::Open(ctx, target_env));
  int32_t source_version = key.version;
  ASSIGN_OR_RETURN(std::optional<google::protobuf::Value> from, source.Read(key, &source_version));
  if (!from.has_value()) {
    return absl::NotFoundError(absl::StrCat(TerminalSafe(source.label()), " has no ",
                                            TerminalSafe(Describe(key, key.version))));
  }
  // A migration under the default version strategy writes the source's version: compare that.
  DefinitionKey target_key = key;
  target_key.version = source_version;
  int32_t target_version = source_version;
  ASSIGN_OR_RETURN(std::optional<google::protobuf::Value> to,
                   target.Read(target_key, &target_version));
  migration::DefinitionDiff diff;
  if (to.has_value()) diff = migration::DiffDefinitions(*to, *from);
  const std::string what = Describe(key, source_version);
  if (ctx.json()) {
    JsonArray differences;
    for (const v1::FieldDifference& d : diff.differences) {
      JsonObject o;
      o.Set("path", JsonString(d.path()))
          .Set("target", JsonString(d.target()))
          .Set("source", JsonString(d.package()));
      differences.Add(o.Take());
    }
    JsonObject o;
    o.Set("definition", JsonString(what))
        .Set("source", JsonString(source.label()))
        .Set("target", JsonString(target.label()))
        .Set("inTarget", JsonBool(to.has_value()))
        .Set("identical", JsonBool(to.has_value() && diff.empty()))
        .Set("differences", differences.Take())
        .Set("moreDifferences", JsonNumber(diff.more));
    PrintJson(o.value(), ctx.out());
    return absl::OkStatus();
  }
  const std::string names = absl::StrCat(TerminalSafe(what), ": ", TerminalSafe(source.label()),
                                         " -> ", TerminalSafe(target.label()));
  if (!to.has_value()) {
    ctx.out() << names << ": absent from the target (a migration creates it)\n";
  } else if (diff.empty()) {
    ctx.out() << names << ": identical\n";
  } else {
    ctx.out() << names << ": " << diff.differences.size() + diff.more
              << " difference(s) (target -> source)\n";
    google::protobuf::RepeatedPtrField<v1::FieldDifference> listed(diff.differences.begin(),
                                                                   diff.differences.end());
    PrintFieldDifferences(listed, diff.more, "  ", ctx.out());
  }
  return absl::OkStatus();
}

absl::Status DefinitionsLoadCommand(Context& ctx) {
  const std::string& dir = ctx.args()[0];
  // Parse everything before the first write: a bad file changes nothing on the server.
  ASSIGN_OR_RETURN(workflows::DefinitionSet defs, workflows::LoadDefinitionsDir(dir));
  ASSIGN_OR_RETURN(client::GrpcOrchestratorClient * orchestrator, ctx.Orchestrator());
  ASSIGN_OR_RETURN(workflows::RegistrationReport report,
                   workflows::RegisterDefinitions(*orchestrator, defs, orchestrator));
  if (ctx.json()) {
    JsonArray dropped;
    for (const workflows::DroppedKey& d : defs.dropped) {
      JsonObject k;
      k.Set("file", JsonString(d.file))
          .Set("path", JsonString(d.path))
          .Set("kind", JsonString(d.kind));
      dropped.Add(k.Take());
    }
    JsonObject o;
    o.Set("created", NameList(report.created));
    o.Set("updated", NameList(report.updated));
    o.Set("unchanged", NameList(report.unchanged));
    o.Set("dropped", dropped.Take());
    PrintJson(o.value(), ctx.out());
    return absl::OkStatus();
  }
  auto line = [&](absl::string_view what, const std::vector<std::string>& names) {
    if (names.empty()) return;
    ctx.out() << what << " (" << names.size() << "): " << absl::StrJoin(names, ", ") << "\n";
  };
  line("created", report.created);
  line("updated", report.updated);
  line("unchanged", report.unchanged);
  if (!defs.dropped.empty()) {
    ctx.out() << "dropped (" << defs.dropped.size()
              << "): not carried by Conductor's gRPC API, so not registered:\n";
    for (const workflows::DroppedKey& d : defs.dropped) {
      ctx.out() << "  " << d.file << ": " << d.path
                << (d.kind == kDiagnosticAudit ? " (stamped by the server)" : "") << "\n";
    }
  }
  return absl::OkStatus();
}

absl::Status DefinitionsListCommand(Context& ctx) {
  ASSIGN_OR_RETURN(client::GrpcOrchestratorClient * orchestrator, ctx.Orchestrator());
  ASSIGN_OR_RETURN(std::vector<conductor::proto::WorkflowDef> workflows,
                   orchestrator->ListWorkflowDefs("", /*all_versions=*/true));
  ASSIGN_OR_RETURN(std::vector<conductor::proto::TaskDef> task_defs, orchestrator->ListTaskDefs());
  if (ctx.json()) {
    JsonArray w;
    for (const auto& d : workflows) {
      JsonObject o;
      o.Set("name", JsonString(d.name()));
      o.Set("version", JsonNumber(d.version()));
      w.Add(o.Take());
    }
    JsonArray t;
    for (const auto& d : task_defs) t.Add(JsonString(d.name()));
    JsonObject o;
    o.Set("workflows", w.Take());
    o.Set("taskDefs", t.Take());
    PrintJson(o.value(), ctx.out());
    return absl::OkStatus();
  }
  ctx.out() << "Workflow definitions (" << workflows.size() << "):\n";
  for (const auto& d : workflows) ctx.out() << "  " << d.name() << " v" << d.version() << "\n";
  ctx.out() << "Task definitions (" << task_defs.size() << "):\n";
  for (const auto& d : task_defs) ctx.out() << "  " << d.name() << "\n";
  return absl::OkStatus();
}

}  // namespace cmig::cli
