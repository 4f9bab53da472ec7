// The project's extension services on the embedded orchestrator (proto/cmig/v1/extensions.proto):
// environments, secrets, access keys, a content-addressed blob store for migration packages, and
// removal of workflow definitions. Private to the orchestrator; server.cc registers them next to
// Conductor's services, behind the same bearer-token check (auth.h).
//
// State lives in the orchestrator's SQLite file, in tables of its own (cmig_environments,
// cmig_secrets, cmig_access_keys, cmig_blobs, cmig_blob_chunks), through a connection of its own:
// the engine's group commits are not involved, and these writes are durable when the RPC returns.
#ifndef CMIG_ORCHESTRATOR_EXTENSIONS_H_
#define CMIG_ORCHESTRATOR_EXTENSIONS_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cmig/v1/extensions.pb.h"
#include "orchestrator/engine.h"
#include "orchestrator/services.h"

namespace cmig::orchestrator {

class ExtensionDb;

// The extension tables, shared by the gRPC extension services and the REST API: secrets and
// access keys here, environments and packages through the services. Thread-safe.
class ExtensionStore {
 public:
  // Opens (creating if needed) the extension tables in `db_path`. Unavailable when the database
  // cannot be opened.
  static absl::StatusOr<std::shared_ptr<ExtensionStore>> Open(const std::string& db_path);
  ~ExtensionStore();

  // Environments. Put: InvalidArgument without an id or an address. Get, Delete: NotFound.
  absl::Status PutEnvironment(const v1::Environment& environment);
  absl::StatusOr<v1::Environment> GetEnvironment(const std::string& id);
  absl::StatusOr<std::vector<v1::Environment>> ListEnvironments();
  absl::Status DeleteEnvironment(const std::string& id);

  // Packages, whole (the gRPC BlobStore also takes them in chunks). Put: InvalidArgument when
  // `bytes` do not hash to `digest`, ResourceExhausted past `max_bytes`; storing a package that
  // exists changes nothing. Get: NotFound when absent.
  absl::Status PutPackage(const std::string& digest, const std::string& bytes, int64_t max_bytes);
  absl::StatusOr<std::string> GetPackage(const std::string& digest);
  // NotFound when absent. Uncommitted chunks under `digest` go too.
  absl::Status DeletePackage(const std::string& digest);

  // InvalidArgument for an empty name.
  absl::Status PutSecret(const std::string& name, const std::string& value);
  // NotFound when there is no such secret.
  absl::StatusOr<std::string> GetSecret(const std::string& name);
  absl::StatusOr<std::vector<std::string>> ListSecretNames();
  absl::Status DeleteSecret(const std::string& name);

  // Access keys (Orkes' key id + key secret, exchanged for tokens at POST /api/token). Only a
  // salted hash of the secret is stored: the secret is shown once, when the key is created.
  struct NewAccessKey {
    std::string id;
    std::string secret;
  };
  struct AccessKey {
    std::string id;
    int64_t created_ms = 0;
  };
  absl::StatusOr<NewAccessKey> CreateAccessKey();
  absl::StatusOr<std::vector<AccessKey>> ListAccessKeys();
  // NotFound when there is no such key. Tokens it was exchanged for stay valid until they expire.
  absl::Status RevokeAccessKey(const std::string& id);
  // Unauthenticated, with one message for an unknown id and a wrong secret.
  absl::Status CheckAccessKey(const std::string& id, const std::string& secret);

 private:
  friend absl::StatusOr<std::vector<NamedService>> MakeExtensionServices(
      const std::shared_ptr<ExtensionStore>& store, Engine& engine, int64_t max_package_bytes);
  explicit ExtensionStore(std::shared_ptr<ExtensionDb> db);
  std::shared_ptr<ExtensionDb> db_;
};

// The extension services on `store`. They borrow `engine`, which must outlive them. The package
// store refuses a blob over `max_package_bytes` (RESOURCE_EXHAUSTED naming the limit) as soon as
// a chunk passes it.
absl::StatusOr<std::vector<NamedService>> MakeExtensionServices(
    const std::shared_ptr<ExtensionStore>& store, Engine& engine, int64_t max_package_bytes);

}  // namespace cmig::orchestrator

#endif  // CMIG_ORCHESTRATOR_EXTENSIONS_H_
