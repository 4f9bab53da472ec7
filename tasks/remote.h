// Connections from a migration step to another environment (a REST source or target, and the
// push, await and verify_target steps' target): the environment id resolved to an address through
// an EnvironmentResolver, its token or access key secret read through a SecretResolver, so no
// credential is ever part of a task's input, output or log.
//
//   RemoteEnvironments remotes(environments, secrets, absl::Seconds(30));
//   ASSIGN_OR_RETURN(std::shared_ptr<Remote> target, remotes.Connect("prod"));
//   ASSIGN_OR_RETURN(auto def, target->environment->metadata().GetWorkflowDef("order_flow", 0));
//
// Thread-safety: Connect is safe to call concurrently.
#ifndef CMIG_TASKS_REMOTE_H_
#define CMIG_TASKS_REMOTE_H_

#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/conductor_environment.h"
#include "migration/environments.h"

namespace cmig::tasks {

// A connection to another environment, cached per environment id.
struct Remote {
  // Its definitions, their removal and its secrets, over gRPC or REST. For a gRPC environment,
  // also the orchestrator that runs migrations there (environment->orchestrator()).
  std::unique_ptr<client::ConductorEnvironment> environment;
  std::string fingerprint;  // address, TLS, key id and credential hashes: reconnect on change
};

// Where the incoming workflow for `target` runs: a gRPC target runs it itself; a REST target (a
// Conductor server as it ships) has no migration worker, so it runs `here` and writes to it.
client::WorkflowClient& IncomingRunner(Remote& target, client::WorkflowClient& here);

// `refused` (UNAUTHENTICATED or PERMISSION_DENIED from environment `id`), with the same code and
// a message that names the environment, the secret its credential is read from (never a value)
// and what to change. Other errors, and an id `environments` does not know, come back as they are.
absl::Status ExplainRefusal(const absl::Status& refused,
                            migration::EnvironmentResolver& environments, absl::string_view id);

class RemoteEnvironments {
 public:
  // Borrows both resolvers, which must outlive this. `call_timeout` is the deadline of each call
  // to another environment.
  RemoteEnvironments(migration::EnvironmentResolver& environments,
                     migration::SecretResolver& secrets, absl::Duration call_timeout)
      : environments_(environments), secrets_(secrets), call_timeout_(call_timeout) {}
  RemoteEnvironments(const RemoteEnvironments&) = delete;
  RemoteEnvironments& operator=(const RemoteEnvironments&) = delete;

  // The connection to environment `id`, with its token or access key secret read from the secret
  // store. Reused while the environment's address, TLS settings and credentials stay the same.
  // The resolvers' errors come back as they are (a credential's prefixed with the environment it
  // is for, never its value); an address that does not parse is InvalidArgument naming it.
  absl::StatusOr<std::shared_ptr<Remote>> Connect(absl::string_view id);
  // The same for an environment already resolved (its id names it in the cache and messages).
  absl::StatusOr<std::shared_ptr<Remote>> Connect(const v1::Environment& env);

 private:
  migration::EnvironmentResolver& environments_;
  migration::SecretResolver& secrets_;
  const absl::Duration call_timeout_;
  absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<Remote>> remotes_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cmig::tasks

#endif  // CMIG_TASKS_REMOTE_H_
