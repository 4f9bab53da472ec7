// GET /api/cmig/migrations/{id}/incoming: the incoming workflow an outgoing migration started in
// its target, and that workflow's rollback when there was one, read from wherever they ran (the
// target's orchestrator over gRPC, with the credential the environment names; this server for a
// REST target, whose incoming workflow runs here). What the console shows beside the outgoing
// workflow, and what `migrationctl history` prints.
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status_macros.h"
#include "client/conductor_environment.h"
#include "client/grpc_client.h"
#include "client/workflow_client.h"
#include "definitions/conductor_messages.h"
#include "orchestrator/rest_internal.h"
#include "workflows/lifecycle.h"

namespace cmig::orchestrator::rest {
namespace {

using conductor::proto::Workflow;

constexpr absl::string_view kOutgoing = "outgoing_migration_request";

// This engine as a WorkflowClient that reads: what RollbackOf needs. Changes are refused.
class EngineReader final : public client::WorkflowClient {
 public:
  explicit EngineReader(Engine& engine) : engine_(engine) {}

  absl::StatusOr<Workflow> GetWorkflowStatus(absl::string_view workflow_id,
                                             bool include_tasks) override {
    return engine_.GetWorkflow(std::string(workflow_id), include_tasks);
  }
  absl::StatusOr<std::vector<Workflow>> GetWorkflowsByCorrelationId(
      absl::string_view name, absl::string_view correlation_id, bool include_closed,
      bool include_tasks) override {
    return engine_.GetWorkflowsByCorrelationId(std::string(name), std::string(correlation_id),
                                               include_closed, include_tasks);
  }
  absl::StatusOr<std::string> StartWorkflow(
      const conductor::proto::StartWorkflowRequest&) override {
    return ReadOnly();
  }
  absl::Status RetryWorkflow(absl::string_view, bool) override { return ReadOnly(); }
  absl::Status RestartWorkflow(absl::string_view, bool) override { return ReadOnly(); }
  absl::Status TerminateWorkflow(absl::string_view, absl::string_view) override {
    return ReadOnly();
  }
  absl::StatusOr<client::WorkflowSearchResult> SearchWorkflows(
      const client::WorkflowSearchQuery&) override {
    return ReadOnly();
  }

 private:
  static absl::Status ReadOnly() {
    return absl::UnimplementedError("this view of the engine only reads");
  }
  Engine& engine_;
};

// The incoming workflow's id: in the output of a migration that ended, else in the latest step
// attempt that names one (a retry may have started another).
std::string IncomingWorkflowId(const Workflow& wf) {
  auto named = [](const google::protobuf::Map<std::string, Value>& fields) {
    auto it = fields.find("incomingWorkflowId");
    return it == fields.end() ? std::string() : it->second.string_value();
  };
  if (std::string id = named(wf.output()); !id.empty()) return id;
  const conductor::proto::Task* latest = nullptr;
  for (const auto& t : wf.tasks()) {
    if (named(t.output_data()).empty()) continue;
    if (latest == nullptr || t.seq() > latest->seq()) latest = &t;
  }
  return latest == nullptr ? "" : named(latest->output_data());
}

Value WorkflowJson(const Workflow& wf) {
  Value v = MessageToConductorValue(wf);
  auto& f = *v.mutable_struct_value()->mutable_fields();
  f["workflowName"].set_string_value(wf.workflow_definition().name());
  f["workflowVersion"].set_number_value(wf.workflow_definition().version());
  return v;
}

absl::StatusOr<Value> Incoming(Engine& engine, ExtensionStore& store, const std::string& id) {
  ASSIGN_OR_RETURN(Workflow wf, engine.GetWorkflow(id, /*include_tasks=*/true));
  if (wf.workflow_definition().name() != kOutgoing) {
    return absl::InvalidArgumentError(
        absl::StrCat("workflow ", id, " is no migration (", kOutgoing, ")"));
  }
  auto target = wf.input().find("targetEnvironment");
  const std::string env_id = target == wf.input().end() ? "" : target->second.string_value();
  const std::string incoming_id = IncomingWorkflowId(wf);
  if (incoming_id.empty()) {
    return absl::NotFoundError(absl::StrCat(
        "migration ", id, " has started no incoming workflow in '", env_id, "' (yet)"));
  }
  ASSIGN_OR_RETURN(v1::Environment env, store.GetEnvironment(env_id));
  ASSIGN_OR_RETURN(client::EnvironmentAddress where, client::ParseEnvironmentAddress(env));
  Workflow incoming;
  std::optional<Workflow> rollback;
  const bool here = where.protocol == client::Protocol::kRest;
  if (here) {
    EngineReader reader(engine);
    ASSIGN_OR_RETURN(incoming, reader.GetWorkflowStatus(incoming_id, /*include_tasks=*/true));
    ASSIGN_OR_RETURN(rollback, workflows::RollbackOf(reader, incoming, /*include_tasks=*/true));
  } else {
    ASSIGN_OR_RETURN(std::unique_ptr<client::ConductorEnvironment> connected,
                     ConnectStoredEnvironment(store, env, absl::Seconds(10)));
    client::GrpcOrchestratorClient* runner = connected->orchestrator();
    if (runner == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("environment '", env_id, "' runs no incoming workflows"));
    }
    absl::StatusOr<Workflow> read = runner->GetWorkflowStatus(incoming_id, /*include_tasks=*/true);
    if (!read.ok()) {
      return AsEnvironmentError(
          read.status(), read.status().code(),
          absl::StrCat("reading incoming workflow ", incoming_id, " in '", env_id, "': "));
    }
    incoming = *std::move(read);
    ASSIGN_OR_RETURN(rollback, workflows::RollbackOf(*runner, incoming, /*include_tasks=*/true));
  }
  Value out;
  auto& f = *out.mutable_struct_value()->mutable_fields();
  f["environment"].set_string_value(env_id);
  f["workflowId"].set_string_value(incoming_id);
  f["ranHere"].set_bool_value(here);
  f["workflow"] = WorkflowJson(incoming);
  if (rollback.has_value()) f["rollback"] = WorkflowJson(*rollback);
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<client::ConductorEnvironment>> ConnectStoredEnvironment(
    ExtensionStore& store, const v1::Environment& env, absl::Duration call_timeout) {
  absl::StatusOr<client::EnvironmentCredentials> credentials = client::ReadCredentials(
      env, [&store](const std::string& name) { return store.GetSecret(name); });
  if (!credentials.ok()) return absl::FailedPreconditionError(credentials.status().message());
  return client::ConnectEnvironment(env, *credentials, call_timeout);
}

void AddIncomingRoute(const std::shared_ptr<ExtensionStore>& store, std::vector<Route>& routes) {
  if (store == nullptr) return;
  routes.push_back(Beyond(
      R("GET", "/api/cmig/migrations/{}/incoming", [store](Engine& engine, const CallPtr& call) {
        Value v;
        if (Take(call, Incoming(engine, *store, call->param(0)), &v)) {
          call->Json(v);
        }
      })));
}

}  // namespace cmig::orchestrator::rest
