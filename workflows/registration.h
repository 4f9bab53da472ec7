// Loads a directory of Conductor JSON definitions and registers them with an orchestrator,
// idempotently: a definition the orchestrator already has unchanged is left alone, a changed one
// is updated, a missing one created, and nothing the directory does not name is touched. The
// migration-worker registers the migration workflows and their task definitions (this folder)
// this way at startup; `migrationctl definitions load` registers any such directory.
//
//   ASSIGN_OR_RETURN(DefinitionSet defs, LoadDefinitionsDir("workflows"));
//   ASSIGN_OR_RETURN(RegistrationReport report, RegisterDefinitions(*client, defs));
//
// "Unchanged" ignores what the server stamps on a definition
// (create/update time and user, owner app), so a restart of the worker does
// not rewrite every definition.
#ifndef CMIG_WORKFLOWS_REGISTRATION_H_
#define CMIG_WORKFLOWS_REGISTRATION_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/event_handler_client.h"
#include "client/metadata_client.h"
#include "conductor/model/eventhandler.pb.h"
#include "conductor/model/taskdef.pb.h"
#include "conductor/model/workflowdef.pb.h"

namespace cmig::workflows {

// A key of a definition file that Conductor's gRPC API (and so the proto) cannot carry.
struct DroppedKey {
  std::string file;  // the file, with "[i]" for the i-th definition of a list
  std::string path;  // e.g. "$.tasks[0].onStateChange"
  std::string kind;  // "audit" (server-stamped) or "unsupported"
};

struct DefinitionSet {
  std::vector<conductor::proto::TaskDef> task_defs;
  std::vector<conductor::proto::WorkflowDef> workflow_defs;
  std::vector<conductor::proto::EventHandler> event_handlers;
  // In file order; see definitions/conductor_json.h for which keys and why.
  std::vector<DroppedKey> dropped;
};

// What RegisterDefinitions did, by "name" (task definitions) and
// "name vN" (workflows).
struct RegistrationReport {
  std::vector<std::string> created;
  std::vector<std::string> updated;
  std::vector<std::string> unchanged;
};

// Reads every *.json file under `dir` (subdirectories too, in path order;
// e.g. workflows/*.json and workflows/taskdefs/*.json) in Conductor's JSON
// dialect: an object with a "tasks" array is a workflow definition, one with
// "event" and "actions" an event handler, any other object a task definition,
// an array a list of them. Keys the proto
// cannot carry are listed in `dropped`. NotFound: no such directory.
// InvalidArgument naming the file: a file that does not parse or convert, or a
// definition whose numbers are out of Conductor's ranges.
absl::StatusOr<DefinitionSet> LoadDefinitionsDir(absl::string_view dir);

// The same for the text of one file, named `file` in messages: its definitions are added to
// `out`. InvalidArgument as above.
absl::Status AddDefinitionsFile(absl::string_view text, const std::string& file,
                                DefinitionSet& out);

// Task definitions first (workflows refer to them), then workflows, then event
// handlers (through `events`; FailedPrecondition when there are handlers and
// `events` is null). New task definitions and new or changed workflows are written
// in batches (up to 200 definitions or 1 MB a request). Stops at the first error.
// Handlers are reported as "name (event handler)".
absl::StatusOr<RegistrationReport> RegisterDefinitions(
    client::MetadataClient& metadata, const DefinitionSet& defs,
    client::EventHandlerClient* events = nullptr);

// True when `a` and `b` differ only in server-stamped audit fields.
bool SameDefinition(const conductor::proto::TaskDef& a, const conductor::proto::TaskDef& b);
bool SameDefinition(const conductor::proto::WorkflowDef& a, const conductor::proto::WorkflowDef& b);

}  // namespace cmig::workflows

#endif  // CMIG_WORKFLOWS_REGISTRATION_H_
