// RestConductorClient's workflow schedules: Conductor's `/api/scheduler` (conductor-oss's
// scheduler module, Orkes), on the transport of rest_transport.h. See rest_client.h for the
// routes and the contract.
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

using google::protobuf::Value;

constexpr char kSchedulesPath[] = "/scheduler/schedules";

}  // namespace

absl::StatusOr<std::vector<v1::WorkflowSchedule>> RestConductorClient::ListSchedules() {
  const std::string path = kSchedulesPath;
  ASSIGN_OR_RETURN(HttpAnswer answer, impl_->Call("GET", path));
  // A server without the scheduler module has no such route.
  if (answer.status == 404 || answer.status == 405 || answer.status == 501) {
    return absl::UnimplementedError(
        absl::StrCat(impl_->Prefix(), "no scheduler API (", answer.status, " for GET ", path, ")"));
  }
  if (!answer.ok()) return impl_->HttpError("GET", path, answer);
  ASSIGN_OR_RETURN(Value list, impl_->Json("GET", path, answer));
  if (!list.has_list_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat(impl_->Prefix(), "GET ", path, ": the answer is not a JSON list"));
  }
  std::vector<v1::WorkflowSchedule> schedules;
  schedules.reserve(list.list_value().values_size());
  for (int i = 0; i < list.list_value().values_size(); ++i) {
    v1::WorkflowSchedule s;
    if (absl::Status st = MessageFromConductorValue(list.list_value().values(i), &s); !st.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(impl_->Prefix(), "GET ", path, ": [", i, "]: ", st.message()));
    }
    schedules.push_back(std::move(s));
  }
  std::sort(schedules.begin(), schedules.end(),
            [](const auto& a, const auto& b) { return a.name() < b.name(); });
  return schedules;
}

absl::StatusOr<v1::WorkflowSchedule> RestConductorClient::SaveSchedule(
    const v1::WorkflowSchedule& schedule) {
  RETURN_IF_ERROR(impl_->CheckName("schedule", schedule.name()));
  const std::string path = kSchedulesPath;
  const std::string body = WriteJson(MessageToConductorValue(schedule));
  ASSIGN_OR_RETURN(HttpAnswer answer, impl_->Send("POST", path, &body));
  // conductor-oss answers the saved schedule; a server answering nothing saved what it was sent.
  if (answer.body.empty()) return schedule;
  ASSIGN_OR_RETURN(Value saved, impl_->Json("POST", path, answer));
  v1::WorkflowSchedule out;
  if (!saved.has_struct_value() || !MessageFromConductorValue(saved, &out).ok()) return schedule;
  return out;
}

absl::Status RestConductorClient::DeleteSchedule(absl::string_view name) {
  RETURN_IF_ERROR(impl_->CheckName("schedule", name));
  const std::string path = absl::StrCat(kSchedulesPath, "/", EscapeSegment(name));
  ASSIGN_OR_RETURN(HttpAnswer answer, impl_->Call("DELETE", path));
  if (answer.status == 404) return absl::OkStatus();  // nothing to delete
  if (!answer.ok()) return impl_->HttpError("DELETE", path, answer);
  return absl::OkStatus();
}

}  // namespace cmig::client
