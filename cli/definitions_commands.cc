// `definitions load DIR`: registers Conductor JSON definitions with --server, the way the worker
// registers its own workflows at startup (same loader, same "unchanged stays untouched" rule).
// It is how a team seeds an environment from definitions kept in version control.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "definitions/conductor_json.h"
#include "workflows/registration.h"

namespace cmig::cli {
namespace {

google::protobuf::Value NameList(const std::vector<std::string>& names) {
  JsonArray a;
  for (const auto& n : names) a.Add(JsonString(n));
  return a.Take();
}

}  // namespace

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
