// RestConductorClient's event handlers: Conductor's `/api/event`, on the transport of
// rest_transport.h. See rest_client.h for the routes and the contract.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "client/rest_client.h"
#include "client/rest_transport.h"
#include "definitions/conductor_messages.h"
#include "definitions/json.h"
#include "google/protobuf/struct.pb.h"

namespace cmig::client {
namespace {

using conductor::proto::EventHandler;
using google::protobuf::Value;

constexpr char kEventPath[] = "/event";

}  // namespace

absl::StatusOr<std::vector<EventHandler>> RestConductorClient::ListEventHandlers() {
  const std::string path = kEventPath;
  ASSIGN_OR_RETURN(Value list, impl_->GetJsonList(path));
  std::vector<EventHandler> handlers;
  handlers.reserve(list.list_value().values_size());
  for (int i = 0; i < list.list_value().values_size(); ++i) {
    absl::StatusOr<EventHandler> handler = EventHandlerFromValue(list.list_value().values(i));
    if (!handler.ok()) {
      return absl::Status(
          handler.status().code(),
          absl::StrCat(impl_->Prefix(), "GET ", path, ": [", i, "]: ", handler.status().message()));
    }
    handlers.push_back(*std::move(handler));
  }
  std::sort(handlers.begin(), handlers.end(),
            [](const EventHandler& a, const EventHandler& b) { return a.name() < b.name(); });
  return handlers;
}

absl::Status RestConductorClient::AddEventHandler(const EventHandler& handler) {
  const std::string body = WriteJson(EventHandlerToValue(handler));
  return impl_->Send("POST", kEventPath, &body).status();
}

absl::Status RestConductorClient::UpdateEventHandler(const EventHandler& handler) {
  const std::string body = WriteJson(EventHandlerToValue(handler));
  return impl_->Send("PUT", kEventPath, &body).status();
}

absl::Status RestConductorClient::RemoveEventHandler(absl::string_view name) {
  RETURN_IF_ERROR(impl_->CheckName("event handler", name));
  return impl_->Send("DELETE", absl::StrCat(kEventPath, "/", EscapeSegment(name))).status();
}

}  // namespace cmig::client
