// Event handlers on an orchestrator: Conductor's EventService over gRPC, or `/api/event` over
// REST. A handler reacts to an event (e.g. "sqs:orders") by starting a workflow, completing or
// failing a task, and so on; it is keyed by its name.
//
//   EventHandlerClient* events = environment->event_handlers();
//   if (events == nullptr) { ... the environment has no event handler API ... }
//   ASSIGN_OR_RETURN(std::vector<conductor::proto::EventHandler> handlers,
//                    events->ListEventHandlers());
//   RETURN_IF_ERROR(events->AddEventHandler(handler));
//
// Errors: the server's status, with a message naming the call (and the handler) and where it
// went. The codes are the ones the server answers: the embedded orchestrator answers
// AlreadyExists for an added name that exists, NotFound for an updated or removed name that does
// not, InvalidArgument for a handler without a name, an event or an action; a Conductor server
// may word or code them differently (its gRPC API answers most failures INTERNAL).
//
// Thread-safety: implementations are safe to call from many threads at once.
#ifndef CMIG_CLIENT_EVENT_HANDLER_CLIENT_H_
#define CMIG_CLIENT_EVENT_HANDLER_CLIENT_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "conductor/model/eventhandler.pb.h"

namespace cmig::client {

class EventHandlerClient {
 public:
  virtual ~EventHandlerClient() = default;

  // Every event handler, active or not, ordered by name.
  virtual absl::StatusOr<std::vector<conductor::proto::EventHandler>> ListEventHandlers() = 0;

  // Registers a new handler. AlreadyExists (on the embedded orchestrator) when one of that name
  // exists: it is not replaced.
  virtual absl::Status AddEventHandler(const conductor::proto::EventHandler& handler) = 0;

  // Replaces the handler of `handler.name()`. NotFound when there is none.
  virtual absl::Status UpdateEventHandler(const conductor::proto::EventHandler& handler) = 0;

  // Removes the handler called `name`. NotFound when there is none.
  virtual absl::Status RemoveEventHandler(absl::string_view name) = 0;
};

}  // namespace cmig::client

#endif  // CMIG_CLIENT_EVENT_HANDLER_CLIENT_H_
