#include "orchestrator/rest_api.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"
#include "client/conductor_environment.h"
#include "console/console_assets.h"
#include "definitions/conductor_json.h"
#include "definitions/conductor_messages.h"
#include "definitions/json.h"
#include "definitions/json_overlay.h"
#include "definitions/message_value.h"
#include "definitions/task_types.h"
#include "migration/discovery.h"
#include "migration/migration_start.h"
#include "orchestrator/rest_internal.h"
#include "orchestrator/scheduler.h"
#include "orchestrator/search_query.h"
#include "orchestrator/services.h"

namespace cmig::orchestrator {
namespace rest {

absl::Status CheckUtf8(const HttpRequest& req) {
  for (absl::string_view s : absl::StrSplit(req.path, '/', absl::SkipEmpty())) {
    if (!IsValidUtf8(PercentDecode(s, /*plus_is_space=*/false))) {
      return absl::InvalidArgumentError("The request's path is not valid UTF-8");
    }
  }
  for (absl::string_view pair : absl::StrSplit(req.query, '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(pair, absl::MaxSplits('=', 1));
    const std::string name = PercentDecode(kv.first, true);
    if (!IsValidUtf8(name)) {
      return absl::InvalidArgumentError("A query parameter's name is not valid UTF-8");
    }
    if (!IsValidUtf8(PercentDecode(kv.second, true))) {
      return absl::InvalidArgumentError(
          absl::StrCat("Query parameter '", name, "' is not valid UTF-8"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> BodyText(const std::string& body, absl::string_view what) {
  if (body.size() >= 2 && body.front() == '"') {
    absl::StatusOr<Value> v = ParseJson(body);
    if (v.ok() && v->kind_case() == Value::kStringValue) return v->string_value();
  }
  if (!IsValidUtf8(body)) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is not valid UTF-8"));
  }
  return body;
}

namespace {

void Health(Engine&, const CallPtr& call) {
  Value v;
  auto& f = *v.mutable_struct_value()->mutable_fields();
  f["healthy"].set_bool_value(true);
  f["healthResults"].mutable_list_value();
  f["suppressedHealthResults"].mutable_list_value();
  call->Json(v);
}

// The start of a run applying dry run `id` (a workflow of this server) as approved: its report
// read whole, from the package store when its output carries it trimmed.
absl::StatusOr<conductor::proto::StartWorkflowRequest> ApprovedRunOf(Engine& engine,
                                                                     ExtensionStore& store,
                                                                     const std::string& id,
                                                                     const std::string& by) {
  ASSIGN_OR_RETURN(conductor::proto::Workflow wf, engine.GetWorkflow(id, /*include_tasks=*/true));
  RETURN_IF_ERROR(migration::CheckCompletedDryRun(wf));
  v1::MigrationReport report;
  if (const std::string ref = migration::StoredReportRef(wf); !ref.empty()) {
    ASSIGN_OR_RETURN(std::string json, store.GetPackage(ref.substr(sizeof("sha256:") - 1)));
    RETURN_IF_ERROR(MessageFromJson(json, &report, /*ignore_unknown_fields=*/true));
  } else if (auto it = wf.output().find("incomingReport"); it != wf.output().end()) {
    RETURN_IF_ERROR(MessageFromValue(it->second, &report, /*ignore_unknown_fields=*/true));
  }
  return migration::ApprovedRunStart(wf, report, by);
}

// What a migration of `selection` would carry from this server, before starting it: each
// definition with whether it was selected or why discovery added it, and the dependency report
// (what must be provided by hand, what stays unresolved). The body is {"selection", "options"} as
// POST /api/cmig/migrations takes them; selections name definitions ("*" is refused: it selects
// everything, which needs no preview).
// `scheduler` (null: none) provides the schedules.
absl::StatusOr<Value> DiscoveryPreview(Engine& engine, Scheduler* scheduler, const Value& body) {
  v1::Selection selection;
  if (absl::Status s = MessageFromValue(Field(body, "selection"), &selection); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("selection: ", s.message()));
  }
  v1::MigrationOptions options;
  if (Field(body, "options").kind_case() == Value::kStructValue) {
    if (absl::Status s = MessageFromValue(Field(body, "options"), &options); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("options: ", s.message()));
    }
  }
  const bool everything =
      std::any_of(selection.workflows().begin(), selection.workflows().end(),
                  [](const v1::WorkflowSelector& w) { return w.name() == "*"; }) ||
      absl::c_linear_search(selection.task_defs(), "*") ||
      absl::c_linear_search(selection.event_handlers(), "*") ||
      absl::c_linear_search(selection.schedules(), "*");
  if (everything) {
    return absl::InvalidArgumentError(
        "the preview takes definitions by name; \"*\" selects every one of its kind");
  }
  migration::InMemoryDefinitionSource source;
  for (auto& d : engine.ListWorkflowDefs("", /*all_versions=*/true)) {
    source.AddWorkflowDef(std::move(d));
  }
  for (auto& d : engine.ListTaskDefs()) source.AddTaskDef(std::move(d));
  for (auto& h : engine.ListEventHandlers()) source.AddEventHandler(std::move(h));
  if (scheduler != nullptr) {
    ASSIGN_OR_RETURN(std::vector<v1::WorkflowSchedule> schedules, scheduler->List(""));
    for (auto& s : schedules) source.AddSchedule(std::move(s));
  } else {
    source.MarkSchedulesUnavailable(absl::UnimplementedError("this server runs no scheduler"));
  }
  migration::DiscoveryOptions discovery_options;
  discovery_options.follow_references = !options.skip_discovery();
  discovery_options.require_task_definitions = options.require_task_definitions();
  ASSIGN_OR_RETURN(migration::Discovery d,
                   migration::Discover(selection, source, discovery_options));
  auto item = [](const std::string& name, int version, bool requested, const std::string& from) {
    Value v;
    auto& f = *v.mutable_struct_value()->mutable_fields();
    f["name"].set_string_value(name);
    if (version > 0) f["version"].set_number_value(version);
    f["requested"].set_bool_value(requested);
    if (!from.empty()) f["discoveredFrom"].set_string_value(from);
    return v;
  };
  Value out;
  auto& f = *out.mutable_struct_value()->mutable_fields();
  auto& workflows = *f["workflows"].mutable_list_value();
  for (const auto& w : d.workflows) {
    *workflows.add_values() = item(w.def.name(), w.def.version(), w.requested, w.discovered_from);
  }
  auto& task_defs = *f["taskDefs"].mutable_list_value();
  for (const auto& t : d.task_defs) {
    *task_defs.add_values() = item(t.def.name(), 0, t.requested, t.discovered_from);
  }
  auto& handlers = *f["eventHandlers"].mutable_list_value();
  for (const auto& h : d.event_handlers) {
    *handlers.add_values() = item(h.def.name(), 0, h.requested, h.discovered_from);
  }
  auto& schedules = *f["schedules"].mutable_list_value();
  for (const auto& s : d.schedules) {
    *schedules.add_values() = item(s.def.name(), 0, s.requested, s.discovered_from);
  }
  ASSIGN_OR_RETURN(f["dependencies"], MessageToValue(d.report));
  return out;
}

// --- /api/secrets and /api/token ---

void AddSecretRoutes(const std::shared_ptr<ExtensionStore>& store, std::vector<Route>& routes) {
  routes.push_back(R("GET", "/api/secrets", [store](Engine&, const CallPtr& call) {
    std::vector<std::string> names;
    if (store != nullptr && !Take(call, store->ListSecretNames(), &names)) return;
    call->Json(ListOf(names, StringValue));
  }));
  if (store == nullptr) return;
  routes.push_back(Beyond(R("GET", "/api/secrets/{}/exists", [store](Engine&, const CallPtr& call) {
    absl::StatusOr<std::string> value = store->GetSecret(call->param(0));
    if (!value.ok() && !absl::IsNotFound(value.status())) {
      call->Error(value.status());
      return;
    }
    Value v;
    v.set_bool_value(value.ok());
    call->Json(v);
  })));
  routes.push_back(Beyond(R("PUT", "/api/secrets/{}", [store](Engine&, const CallPtr& call) {
    std::string value;
    if (Take(call, BodyText(call->request().body, "The secret's value"), &value)) {
      call->Finish(store->PutSecret(call->param(0), value));
    }
  })));
  routes.push_back(Beyond(R("GET", "/api/secrets/{}", [store](Engine&, const CallPtr& call) {
    std::string value;
    if (Take(call, store->GetSecret(call->param(0)), &value)) call->Text(std::move(value));
  })));
  routes.push_back(Beyond(R("DELETE", "/api/secrets/{}", [store](Engine&, const CallPtr& call) {
    call->Finish(store->DeleteSecret(call->param(0)));
  })));
}

// --- /api/cmig: the project's own operations ---

absl::StatusOr<Value> ProtoJson(const google::protobuf::Message& m) { return MessageToValue(m); }

void AddCmigRoutes(const std::shared_ptr<ExtensionStore>& store, Scheduler* scheduler,
                   int64_t max_package_bytes, std::vector<Route>& routes) {
  if (store == nullptr) return;
  routes.push_back(Beyond(
      R("PUT", "/api/cmig/packages/{}", [store, max_package_bytes](Engine&, const CallPtr& call) {
        call->Finish(store->PutPackage(call->param(0), call->request().body, max_package_bytes));
      })));
  routes.push_back(Beyond(R("GET", "/api/cmig/packages/{}", [store](Engine&, const CallPtr& call) {
    std::string bytes;
    if (Take(call, store->GetPackage(call->param(0)), &bytes)) {
      call->Respond(HttpResponse{200, "application/octet-stream", std::move(bytes)});
    }
  })));
  routes.push_back(
      Beyond(R("DELETE", "/api/cmig/packages/{}", [store](Engine&, const CallPtr& call) {
        call->Finish(store->DeletePackage(call->param(0)));
      })));
  routes.push_back(Beyond(R("GET", "/api/cmig/environments", [store](Engine&, const CallPtr& call) {
    std::vector<v1::Environment> list;
    if (!Take(call, store->ListEnvironments(), &list)) return;
    Value out;
    out.mutable_list_value();
    for (const v1::Environment& e : list) {
      Value v;
      if (!Take(call, ProtoJson(e), &v)) return;
      *out.mutable_list_value()->add_values() = std::move(v);
    }
    call->Json(out);
  })));
  routes.push_back(
      Beyond(R("GET", "/api/cmig/environments/{}", [store](Engine&, const CallPtr& call) {
        v1::Environment e;
        Value v;
        if (Take(call, store->GetEnvironment(call->param(0)), &e) && Take(call, ProtoJson(e), &v)) {
          call->Json(v);
        }
      })));
  // Tests an environment as `migrationctl env test` does: connects with its credential (read
  // from this server's secret store, never shown) and reads one definition. Answers
  // {"environment", "protocol", "reachable": true} or the error that says what failed.
  routes.push_back(
      Beyond(R("POST", "/api/cmig/environments/{}/test", [store](Engine&, const CallPtr& call) {
        v1::Environment env;
        if (!Take(call, store->GetEnvironment(call->param(0)), &env)) return;
        std::unique_ptr<client::ConductorEnvironment> connected;
        if (!Take(call, ConnectStoredEnvironment(*store, env, absl::Seconds(5)), &connected)) {
          return;
        }
        client::EnvironmentAddress where;
        if (!Take(call, client::ParseEnvironmentAddress(env), &where)) return;
        if (absl::Status reached = client::ProbeEnvironment(*connected, env); !reached.ok()) {
          call->Error(AsEnvironmentError(reached, absl::StatusCode::kUnavailable));
          return;
        }
        const std::string protocol(client::ProtocolName(where.protocol));
        Value v;
        auto& f = *v.mutable_struct_value()->mutable_fields();
        f["environment"].set_string_value(env.id());
        f["protocol"].set_string_value(protocol);
        f["reachable"].set_bool_value(true);
        call->Json(v);
      })));
  routes.push_back(
      Beyond(R("PUT", "/api/cmig/environments/{}", [store](Engine&, const CallPtr& call) {
        Value body;
        if (!Take(call, call->Body(), &body)) return;
        v1::Environment e;
        if (absl::Status s = MessageFromValue(body, &e); !s.ok()) {
          call->Error(
              absl::InvalidArgumentError(absl::StrCat("not an environment: ", s.message())));
          return;
        }
        if (!e.id().empty() && e.id() != call->param(0)) {
          call->Error(absl::InvalidArgumentError(absl::StrCat(
              "the body's id '", e.id(), "' is not the path's '", call->param(0), "'")));
          return;
        }
        e.set_id(call->param(0));
        call->Finish(store->PutEnvironment(e));
      })));
  routes.push_back(
      Beyond(R("DELETE", "/api/cmig/environments/{}", [store](Engine&, const CallPtr& call) {
        call->Finish(store->DeleteEnvironment(call->param(0)));
      })));
  routes.push_back(
      Beyond(R("POST", "/api/cmig/discovery", [scheduler](Engine& engine, const CallPtr& call) {
        Value body;
        if (!Take(call, call->Body(), &body)) return;
        Value preview;
        if (!Take(call, DiscoveryPreview(engine, scheduler, body), &preview)) return;
        call->Json(preview);
      })));
  // Starts a migration as `migrationctl migrate` does: {"targetEnvironment", "selection",
  // "options", "sourceEnvironment" (default "local"), "startedBy"} -> {"workflowId"}; or, as
  // `migrate --apply-plan`, {"applyDryRun": "<dry run's workflow id>", "startedBy"}.
  routes.push_back(
      Beyond(R("POST", "/api/cmig/migrations", [store](Engine& engine, const CallPtr& call) {
        Value body;
        if (!Take(call, call->Body(), &body)) return;
        // Who started it, as the caller says ("startedBy"); this server's tokens name no one.
        std::string started_by = Field(body, "startedBy").string_value();
        if (started_by.empty()) started_by = "REST API";
        conductor::proto::StartWorkflowRequest start;
        if (const std::string dry_run = Field(body, "applyDryRun").string_value();
            !dry_run.empty()) {
          if (!Take(call, ApprovedRunOf(engine, *store, dry_run, started_by), &start)) return;
        } else {
          std::string source = Field(body, "sourceEnvironment").string_value();
          if (source.empty()) source = "local";
          v1::Selection selection;
          v1::MigrationOptions options;
          if (absl::Status s = MessageFromValue(Field(body, "selection"), &selection); !s.ok()) {
            call->Error(absl::InvalidArgumentError(absl::StrCat("selection: ", s.message())));
            return;
          }
          if (Field(body, "options").kind_case() == Value::kStructValue) {
            if (absl::Status s = MessageFromValue(Field(body, "options"), &options); !s.ok()) {
              call->Error(absl::InvalidArgumentError(absl::StrCat("options: ", s.message())));
              return;
            }
          }
          if (!Take(call,
                    migration::OutgoingMigrationStart(
                        source, Field(body, "targetEnvironment").string_value(), selection, options,
                        started_by),
                    &start)) {
            return;
          }
        }
        const std::string target = start.input().at("targetEnvironment").string_value();
        if (absl::Status s = store->GetEnvironment(target).status(); !s.ok()) {
          call->Error(absl::IsNotFound(s) ? absl::InvalidArgumentError(
                                                absl::StrCat("no target environment '", target,
                                                             "' (see GET /api/cmig/environments)"))
                                          : s);
          return;
        }
        StartAndAnswerId(engine, std::move(start), call);
      })));
}

void AddTokenRoute(const std::shared_ptr<ExtensionStore>& store, IssuedTokens* issued,
                   std::vector<Route>& routes) {
  if (store == nullptr || issued == nullptr) return;
  Route token = Beyond(R("POST", "/api/token", [store, issued](Engine&, const CallPtr& call) {
    Value body;
    if (!Take(call, call->Body(), &body)) return;
    const std::string& id = Field(body, "keyId").string_value();
    const std::string& secret = Field(body, "keySecret").string_value();
    if (id.empty() || secret.empty()) {
      call->Error(absl::InvalidArgumentError("the body needs keyId and keySecret"));
      return;
    }
    if (absl::Status s = store->CheckAccessKey(id, secret); !s.ok()) {
      call->Error(s);
      return;
    }
    std::string token = issued->Issue();
    if (token.empty()) {
      call->Error(absl::UnavailableError("no token could be issued; try again"));
      return;
    }
    Value v;
    (*v.mutable_struct_value()->mutable_fields())["token"].set_string_value(std::move(token));
    call->Json(v);
  }));
  token.open = true;
  routes.push_back(std::move(token));
}

// Literal paths come before the parameterised paths they would otherwise match
// ("/api/workflow/search" before "/api/workflow/{}").
std::vector<Route> Routes(const RestOptions& options) {
  std::vector<Route> routes = {R("GET", "/health", Health), R("GET", "/api/health", Health)};
  routes[0].open = routes[1].open = true;
  AddMetadataRoutes(routes);
  AddExecutionRoutes(routes, options.wait_limit_ms);
  AddSchedulerRoutes(options.scheduler, routes);
  AddSecretRoutes(options.extensions, routes);
  AddTokenRoute(options.extensions, options.issued_tokens, routes);
  AddCmigRoutes(options.extensions, options.scheduler, options.max_package_bytes, routes);
  AddIncomingRoute(options.extensions, routes);
  AddPackageRoutes(options.extensions, options.max_package_bytes, routes);
  return routes;
}

bool Matches(const Route& route, const std::vector<std::string>& segments,
             std::vector<std::string>* params) {
  if (route.segments.size() != segments.size()) return false;
  params->clear();
  for (size_t i = 0; i < segments.size(); ++i) {
    if (route.segments[i] == "{}") {
      params->push_back(segments[i]);
    } else if (route.segments[i] != segments[i]) {
      return false;
    }
  }
  return true;
}

// The token an HTTP request presents, nullopt when none.
std::optional<absl::string_view> TokenOf(const HttpRequest& req) {
  if (std::optional<absl::string_view> t = req.Header("x-authorization"); t.has_value()) return t;
  if (std::optional<absl::string_view> a = req.Header("authorization"); a.has_value()) {
    absl::string_view v = *a;
    if (absl::ConsumePrefix(&v, "Bearer ") || absl::ConsumePrefix(&v, "bearer ")) {
      return absl::StripAsciiWhitespace(v);
    }
    return absl::string_view();
  }
  return std::nullopt;
}

}  // namespace
}  // namespace rest

namespace {

// The console's files (console/), under /console/. They carry no data, so they need no token;
// the page asks the API for everything, with the operator's token. The policy lets the page
// load only its own files and talk only to this server, and no other page frame it.
HttpResponse ServeConsole(const HttpRequest& req) {
  if (req.method != "GET" && req.method != "HEAD") {
    return rest::ErrorResponse(absl::InvalidArgumentError(absl::StrCat(
                                   "Request method '", req.method, "' is not supported")),
                               405);
  }
  if (req.path == "/console") {
    HttpResponse moved{302, "", ""};
    moved.headers.emplace_back("Location", "/console/");
    return moved;
  }
  absl::string_view name = absl::StripPrefix(req.path, "/console/");
  if (name.empty()) name = "index.html";
  for (const console::ConsoleAsset& asset : console::ConsoleAssets()) {
    if (asset.name != name) continue;
    HttpResponse r{200, std::string(asset.content_type), std::string(asset.bytes)};
    r.headers = {
        {"Content-Security-Policy",
         "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
         "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"},
        {"X-Content-Type-Options", "nosniff"},
        {"X-Frame-Options", "DENY"},
        {"Referrer-Policy", "no-referrer"},
        {"Cache-Control", "no-cache"},
    };
    return r;
  }
  return rest::ErrorResponse(absl::NotFoundError(absl::StrCat("No static resource ", req.path)));
}

}  // namespace

HttpHandler MakeRestHandler(Engine& engine, const Authenticator& auth, const RestOptions& options) {
  auto routes = std::make_shared<const std::vector<rest::Route>>(rest::Routes(options));
  return [&engine, &auth, api_only = options.conductor_api_only, routes](HttpRequest req,
                                                                         HttpRespond respond) {
    if (!api_only && (req.path == "/console" || absl::StartsWith(req.path, "/console/"))) {
      respond(ServeConsole(req));
      return;
    }
    std::vector<std::string> segments = rest::Segments(req.path);
    const rest::Route* found = nullptr;
    bool path_known = false;
    std::vector<std::string> params;
    for (const rest::Route& route : *routes) {
      if (route.beyond_conductor && api_only) continue;
      if (!rest::Matches(route, segments, &params)) continue;
      path_known = true;
      if (route.method == req.method) {
        found = &route;
        break;
      }
    }
    const bool open = found != nullptr ? found->open : (segments.empty() || segments[0] != "api");
    if (!open) {
      if (absl::Status s = auth.CheckToken(rest::TokenOf(req)); !s.ok()) {
        respond(rest::ErrorResponse(s));
        return;
      }
    }
    if (found == nullptr) {
      respond(path_known
                  ? rest::ErrorResponse(absl::InvalidArgumentError(absl::StrCat(
                                            "Request method '", req.method, "' is not supported")),
                                        405)
                  : rest::ErrorResponse(
                        absl::NotFoundError(absl::StrCat("No static resource ", req.path))));
      return;
    }
    if (absl::Status s = rest::CheckUtf8(req); !s.ok()) {
      respond(rest::ErrorResponse(s));
      return;
    }
    auto call = std::make_shared<rest::Call>(std::move(req), std::move(respond));
    call->params() = std::move(params);
    found->fn(engine, call);
  };
}

}  // namespace cmig::orchestrator
