// The project's extension services on the embedded orchestrator (proto/cmig/v1/extensions.proto):
// environments, secrets, a content-addressed blob store for migration packages, and removal of
// workflow definitions. Private to the orchestrator; server.cc registers them next to Conductor's
// services, behind the same bearer-token check (auth.h).
//
// State lives in the orchestrator's SQLite file, in tables of its own (cmig_environments,
// cmig_secrets, cmig_blobs, cmig_blob_chunks), through a connection of its own: the engine's
// group commits are not involved, and these writes are durable when the RPC returns.
#ifndef CMIG_ORCHESTRATOR_EXTENSIONS_H_
#define CMIG_ORCHESTRATOR_EXTENSIONS_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "orchestrator/engine.h"
#include "orchestrator/services.h"

namespace cmig::orchestrator {

// Opens (creating if needed) the extension tables in `db_path`. The services borrow `engine`,
// which must outlive them; they share ownership of the database connection. The package store
// refuses a blob over `max_package_bytes` (RESOURCE_EXHAUSTED naming the limit) as soon as a
// chunk passes it. Unavailable when the database cannot be opened.
absl::StatusOr<std::vector<NamedService>> MakeExtensionServices(const std::string& db_path,
                                                                Engine& engine,
                                                                int64_t max_package_bytes);

}  // namespace cmig::orchestrator

#endif  // CMIG_ORCHESTRATOR_EXTENSIONS_H_
