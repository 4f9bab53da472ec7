// Conductor's REST API on the engine (private to the orchestrator): the paths, parameters, JSON
// and status codes conductor-oss serves (its rest module's controllers), for metadata,
// workflows, tasks and health, on the same state the gRPC services serve.
//
// Every /api path needs a token when the server has any: `X-Authorization: <token>` (Orkes'
// header) or `Authorization: Bearer <token>`; none is 401, a wrong one 403. /health needs none.
// Event handlers: /api/event (GET, POST, PUT, DELETE /{name}, GET /{event}?activeOnly=).
// Secrets: GET /api/secrets lists names (conductor-oss); PUT, GET, DELETE /api/secrets/{key} and
// GET /api/secrets/{key}/exists are Orkes'. POST /api/token {keyId, keySecret} -> {token} is
// Orkes' exchange of an access key for a token that expires (RestOptions.issued_tokens).
// The project's own operations, never mixed into Conductor's paths: /api/cmig/environments
// (GET, and GET / PUT / DELETE /{id}; protobuf's JSON of cmig.v1.Environment) and POST
// /api/cmig/migrations (start a migration as `migrationctl migrate` does); GET and PUT
// /api/cmig/packages/{digest} (a migration package's bytes, checked against the digest).
// Errors carry Conductor's body: {"status":404,"message":"...","instance":"...","retryable":false}.
#ifndef CMIG_ORCHESTRATOR_REST_API_H_
#define CMIG_ORCHESTRATOR_REST_API_H_

#include "orchestrator/auth.h"
#include "orchestrator/engine.h"
#include "orchestrator/extensions.h"
#include "orchestrator/http_server.h"

namespace cmig::orchestrator {

class Scheduler;

struct RestOptions {
  // Serve only what conductor-oss serves: Orkes' paths (secret values, /api/token) and the
  // project's own (/api/cmig/...) answer 404.
  bool conductor_api_only = false;
  // Secrets and access keys; null = none (GET /api/secrets lists nothing).
  std::shared_ptr<ExtensionStore> extensions;
  // Where POST /api/token gets its tokens; null = no token endpoint. Not owned.
  IssuedTokens* issued_tokens = nullptr;
  // The largest package PUT /api/cmig/packages/{digest} stores.
  int64_t max_package_bytes = int64_t{256} << 20;
  // The longest a task poll waits for work or a watch for a workflow's change, whatever its
  // `timeout` asks (a poll at most 5000 ms, as Conductor allows). 0 answers every one at once,
  // for a caller that must never wait (the request fuzzer).
  int64_t wait_limit_ms = 60'000;
  // Serves /api/scheduler; null = those paths answer 404. Not owned.
  Scheduler* scheduler = nullptr;
};

// A handler for HttpServer. Borrows `engine` and `auth`, which must outlive every request.
HttpHandler MakeRestHandler(Engine& engine, const Authenticator& auth,
                            const RestOptions& options = {});

}  // namespace cmig::orchestrator

#endif  // CMIG_ORCHESTRATOR_REST_API_H_
