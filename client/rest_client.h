// A Conductor environment over its REST API (conductor-oss and Orkes as they ship), on libcurl:
// definitions, their removal, secrets and event handlers, behind the same interfaces the gRPC
// client implements.
//
//   cmig::client::RestOptions options;
//   options.base_url = "https://conductor.example.com/api";
//   options.environment = "prod";                         // named in every error message
//   options.key_id = id; options.key_secret = secret;     // or options.token = token
//   ASSIGN_OR_RETURN(std::unique_ptr<cmig::client::RestConductorClient> prod,
//                    cmig::client::RestConductorClient::Create(options));
//   ASSIGN_OR_RETURN(conductor::proto::WorkflowDef def, prod->GetWorkflowDef("order_flow", 0));
//
// Transport: libcurl, one easy handle per concurrent call kept in a pool, so connections are
// reused (HTTP keep-alive); TLS verified against `root_ca_file` or the system roots; libcurl's
// proxy variables (`https_proxy`, `http_proxy`, `all_proxy`, `no_proxy`) apply as curl reads them;
// every call has a connect timeout and a total timeout.
//
// Auth: a static `token` sent as `X-Authorization` (Orkes; conductor-oss ignores it), or an Orkes
// access key exchanged at `POST {base_url}/token` for a token that is cached, renewed before it
// expires (a JWT's `exp`, else after `token_refresh`), and renewed once when a call is answered
// 401 or 403 (an expired token, or one a restarted server no longer knows). Tokens and key secrets
// are never logged and never part of a returned status.
//
// Errors: HTTP statuses map to absl codes (400 InvalidArgument, 401 Unauthenticated,
// 403 PermissionDenied, 404 NotFound, 405 / 501 Unimplemented, 409 AlreadyExists,
// 413 ResourceExhausted, 429 / other 5xx / transport failures (TLS verification among them)
// Unavailable, timeouts DeadlineExceeded); every message names the environment,
// the method and the path, and includes the server's `message` when its body is JSON.
//
// Thread-safety: every method may be called from many threads at once.
#ifndef CMIG_CLIENT_REST_CLIENT_H_
#define CMIG_CLIENT_REST_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/event_handler_client.h"
#include "client/extensions_client.h"
#include "client/metadata_client.h"
#include "conductor/model/taskdef.pb.h"
#include "conductor/model/workflowdef.pb.h"

namespace cmig::client {

struct RestOptions {
  // The server's API root, "http(s)://host[:port][/prefix]/api"; a trailing '/' is dropped.
  std::string base_url;
  // The environment's id, for error messages.
  std::string environment;
  // PEM roots to verify an https server with; empty = the system roots.
  std::string root_ca_file;
  // A static token; a secret: never logged.
  std::string token;
  // An Orkes access key (both or neither); the secret is a secret.
  std::string key_id;
  std::string key_secret;
  // When to renew a token that is not a JWT with an `exp` claim.
  absl::Duration token_refresh = absl::Minutes(30);
  absl::Duration connect_timeout = absl::Seconds(10);
  // Total time of one HTTP exchange.
  absl::Duration call_timeout = absl::Seconds(30);
};

class RestConductorClient final : public MetadataClient,
                                  public DefinitionAdminClient,
                                  public SecretClient,
                                  public EventHandlerClient,
                                  public ScheduleClient {
 public:
  // Checks the options; does not connect. InvalidArgument: base_url not http(s)://, both a
  // token and a key, a key id without its secret or the reverse, a token or key id with control
  // characters (they cannot go into a header). NotFound: unreadable CA file.
  static absl::StatusOr<std::unique_ptr<RestConductorClient>> Create(RestOptions options);
  ~RestConductorClient() override;
  RestConductorClient(const RestConductorClient&) = delete;
  RestConductorClient& operator=(const RestConductorClient&) = delete;

  const std::string& base_url() const;

  // Obtains a token now when an access key is configured (fails at once on a wrong key:
  // Unauthenticated or PermissionDenied naming the environment), then reads the workflow
  // definition names; a cheap check that the server is reachable and accepts the credentials.
  absl::Status Ping();

  // MetadataClient. Definitions are read and written in Conductor's JSON through
  // definitions/conductor_json.h.
  //   GetWorkflowDef      GET  /metadata/workflow/{name}[?version=N]
  //   CreateWorkflowDef   POST /metadata/workflow
  //   UpdateWorkflowDefs  PUT  /metadata/workflow            (JSON list)
  //   GetTaskDef          GET  /metadata/taskdefs/{name}
  //   CreateTaskDefs      POST /metadata/taskdefs            (JSON list)
  //   UpdateTaskDef       PUT  /metadata/taskdefs
  //   ListWorkflowDefs    GET  /metadata/workflow (all versions; latest per name computed here,
  //                       or GET /metadata/workflow/latest-versions), filtered by name here
  //   ListTaskDefs        GET  /metadata/taskdefs
  // A GET answered 200 with an empty body (some Conductor versions do so for a missing
  // definition) is NotFound.
  absl::StatusOr<conductor::proto::WorkflowDef> GetWorkflowDef(absl::string_view name,
                                                               int version) override;
  absl::Status CreateWorkflowDef(const conductor::proto::WorkflowDef& def) override;
  absl::Status UpdateWorkflowDefs(const std::vector<conductor::proto::WorkflowDef>& defs) override;
  absl::StatusOr<conductor::proto::TaskDef> GetTaskDef(absl::string_view name) override;
  absl::Status CreateTaskDefs(const std::vector<conductor::proto::TaskDef>& defs) override;
  absl::Status UpdateTaskDef(const conductor::proto::TaskDef& def) override;
  absl::StatusOr<std::vector<conductor::proto::WorkflowDef>> ListWorkflowDefs(
      absl::string_view name, bool all_versions) override;
  absl::StatusOr<std::vector<conductor::proto::TaskDef>> ListTaskDefs() override;
  // Extra keys: what the server returned beyond the proto (audit keys left out) is kept on
  // reading, and laid over the proto's JSON on writing.
  bool KeepsExtraKeys() const override { return true; }
  absl::StatusOr<std::vector<conductor::proto::WorkflowDef>> ListWorkflowDefsWithExtras(
      std::vector<google::protobuf::Value>* extras) override;
  absl::StatusOr<std::vector<conductor::proto::TaskDef>> ListTaskDefsWithExtras(
      std::vector<google::protobuf::Value>* extras) override;
  absl::Status UpdateWorkflowDefsWithExtras(
      const std::vector<conductor::proto::WorkflowDef>& defs,
      const std::vector<google::protobuf::Value>& extras) override;
  absl::Status CreateTaskDefsWithExtras(
      const std::vector<conductor::proto::TaskDef>& defs,
      const std::vector<google::protobuf::Value>& extras) override;

  // DefinitionAdminClient.
  //   DeleteWorkflowDef   DELETE /metadata/workflow/{name}/{version}
  //   DeleteTaskDef       DELETE /metadata/taskdefs/{name}
  absl::Status DeleteWorkflowDef(absl::string_view name, int version) override;
  absl::Status DeleteTaskDef(absl::string_view name) override;

  // SecretClient (Orkes' secret API; conductor-oss serves none of it, or the names only):
  //   PutSecret        PUT    /secrets/{name}   body: the value as a JSON string
  //   GetSecret        GET    /secrets/{name}   the value (plain text, or a JSON string)
  //   ListSecretNames  GET    /secrets          a JSON list of names
  //   DeleteSecret     DELETE /secrets/{name}
  //   SecretExists     GET    /secrets/{name}/exists, falling back to ListSecretNames
  // A server without the route is Unimplemented saying the environment has no secret API: 404 or
  // 405 on the collection or on PutSecret (a PUT creates, so its 404 cannot mean "no such
  // secret"), 405 elsewhere. A 404 on one name for Get/DeleteSecret is NotFound. Values are never
  // logged.
  absl::Status PutSecret(absl::string_view name, absl::string_view value) override;
  absl::StatusOr<std::string> GetSecret(absl::string_view name) override;
  absl::StatusOr<std::vector<std::string>> ListSecretNames() override;
  absl::Status DeleteSecret(absl::string_view name) override;
  absl::StatusOr<bool> SecretExists(absl::string_view name) override;

  // EventHandlerClient, in Conductor's JSON for event handlers (EventHandlerToValue /
  // EventHandlerFromValue, definitions/conductor_messages.h):
  //   ListEventHandlers   GET    /event          sorted by name here
  //   AddEventHandler     POST   /event          409 (AlreadyExists) for a name that exists
  //   UpdateEventHandler  PUT    /event          404 (NotFound) for a name that does not
  //   RemoveEventHandler  DELETE /event/{name}   404 (NotFound) for a name that does not
  // Keys of a handler beyond the proto are not kept.
  absl::StatusOr<std::vector<conductor::proto::EventHandler>> ListEventHandlers() override;
  absl::Status AddEventHandler(const conductor::proto::EventHandler& handler) override;
  absl::Status UpdateEventHandler(const conductor::proto::EventHandler& handler) override;
  absl::Status RemoveEventHandler(absl::string_view name) override;

  // ScheduleClient, in Conductor's JSON for schedules (MessageToConductorValue /
  // MessageFromConductorValue, definitions/conductor_messages.h):
  //   ListSchedules   GET    /scheduler/schedules          sorted by name here; a server
  //                                                         without the scheduler (404, 405,
  //                                                         501) is Unimplemented
  //   SaveSchedule    POST   /scheduler/schedules          create or replace
  //   DeleteSchedule  DELETE /scheduler/schedules/{name}
  absl::StatusOr<std::vector<v1::WorkflowSchedule>> ListSchedules() override;
  absl::StatusOr<v1::WorkflowSchedule> SaveSchedule(const v1::WorkflowSchedule& schedule) override;
  absl::Status DeleteSchedule(absl::string_view name) override;

 private:
  struct Impl;
  explicit RestConductorClient(std::unique_ptr<Impl> impl);
  // The listings, with each definition's extra keys in `*extras` when it is not null.
  absl::StatusOr<std::vector<conductor::proto::WorkflowDef>> ListWorkflows(
      absl::string_view name, bool all_versions, std::vector<google::protobuf::Value>* extras);
  absl::StatusOr<std::vector<conductor::proto::TaskDef>> ListTasks(
      std::vector<google::protobuf::Value>* extras);
  const std::unique_ptr<Impl> impl_;
};

}  // namespace cmig::client

#endif  // CMIG_CLIENT_REST_CLIENT_H_
