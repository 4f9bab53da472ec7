// Conductor's REST API on the engine (private to the orchestrator): the paths, parameters, JSON
// and status codes conductor-oss serves (its rest module's controllers), for metadata,
// workflows, tasks and health, on the same state the gRPC services serve.
//
// Every /api path needs a token when the server has any: `X-Authorization: <token>` (Orkes'
// header) or `Authorization: Bearer <token>`; none is 401, a wrong one 403. /health needs none.
// Errors carry Conductor's body: {"status":404,"message":"...","instance":"...","retryable":false}.
#ifndef CMIG_ORCHESTRATOR_REST_API_H_
#define CMIG_ORCHESTRATOR_REST_API_H_

#include "orchestrator/auth.h"
#include "orchestrator/engine.h"
#include "orchestrator/http_server.h"

namespace cmig::orchestrator {

struct RestOptions {
  // Serve only what conductor-oss serves: the project's own paths (/api/cmig/...) answer 404.
  bool conductor_api_only = false;
};

// A handler for HttpServer. Borrows `engine` and `auth`, which must outlive every request.
HttpHandler MakeRestHandler(Engine& engine, const Authenticator& auth, RestOptions options = {});

}  // namespace cmig::orchestrator

#endif  // CMIG_ORCHESTRATOR_REST_API_H_
