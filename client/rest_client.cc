// RestConductorClient: definitions, their removal and secrets over Conductor's REST API, on the
// transport of rest_transport.h. See rest_client.h for the contract.
#include "client/rest_client.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "client/rest_transport.h"
#include "definitions/conductor_json.h"
#include "definitions/json.h"
#include "definitions/json_overlay.h"
#include "google/protobuf/struct.pb.h"

namespace cmig::client {
namespace {

using conductor::proto::TaskDef;
using conductor::proto::WorkflowDef;
using google::protobuf::Value;

}  // namespace

absl::StatusOr<std::unique_ptr<RestConductorClient>> RestConductorClient::Create(
    RestOptions options) {
  std::string base = options.base_url;
  while (absl::EndsWith(base, "/")) base.pop_back();
  const std::string lower = absl::AsciiStrToLower(base);
  if (!absl::StartsWith(lower, "http://") && !absl::StartsWith(lower, "https://")) {
    return absl::InvalidArgumentError(absl::StrCat("environment '", options.environment,
                                                   "': base URL '", Printable(base, kMaxQuoted),
                                                   "' is not http:// or https://"));
  }
  const std::string env = options.environment.empty() ? base : options.environment;
  if (!options.token.empty() && (!options.key_id.empty() || !options.key_secret.empty())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "environment '", env, "': both a token and an access key are configured; give one"));
  }
  if (HasControlCharacter(options.token) || HasControlCharacter(options.key_id)) {
    // The token is not quoted: it is a secret even when malformed.
    return absl::InvalidArgumentError(absl::StrCat(
        "environment '", env, "': the token or key id holds control characters (a line break?)"));
  }
  if (options.key_id.empty() != options.key_secret.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("environment '", env, "': an access key needs both its id and its secret"));
  }
  if (!options.root_ca_file.empty()) {
    std::error_code ec;
    std::ifstream in(options.root_ca_file);
    if (!std::filesystem::is_regular_file(options.root_ca_file, ec) || !in.good()) {
      return absl::NotFoundError(absl::StrCat("environment '", env, "': root CA file '",
                                              options.root_ca_file, "' cannot be read"));
    }
  }
  RETURN_IF_ERROR(InitCurlOnce());
  return std::unique_ptr<RestConductorClient>(
      new RestConductorClient(std::make_unique<Impl>(std::move(options), std::move(base))));
}

RestConductorClient::RestConductorClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RestConductorClient::~RestConductorClient() = default;

const std::string& RestConductorClient::base_url() const { return impl_->base; }

absl::Status RestConductorClient::Ping() {
  // CurrentCredential exchanges the key first, so a wrong key fails here with the exchange's
  // own error rather than as a refused metadata call.
  RETURN_IF_ERROR(impl_->CurrentCredential().status());
  return impl_->Send("GET", "/metadata/workflow/names-and-versions").status();
}

// --- MetadataClient ---

absl::StatusOr<WorkflowDef> RestConductorClient::GetWorkflowDef(absl::string_view name,
                                                                int version) {
  RETURN_IF_ERROR(impl_->CheckName("workflow", name));
  std::string path = absl::StrCat("/metadata/workflow/", EscapeSegment(name));
  if (version > 0) absl::StrAppend(&path, "?version=", version);
  ASSIGN_OR_RETURN(HttpAnswer answer, impl_->Send("GET", path));
  if (absl::StripAsciiWhitespace(answer.body).empty()) {
    return absl::NotFoundError(absl::StrCat(impl_->Prefix(), "GET ", path, ": HTTP ", answer.status,
                                            " with an empty body: no workflow '", name,
                                            "' version ",
                                            version > 0 ? absl::StrCat(version) : "latest"));
  }
  ASSIGN_OR_RETURN(Value v, impl_->Json("GET", path, answer));
  absl::StatusOr<WorkflowDef> def = WorkflowDefFromValue(v, nullptr);
  if (!def.ok()) {
    return absl::Status(def.status().code(),
                        absl::StrCat(impl_->Prefix(), "GET ", path, ": ", def.status().message()));
  }
  return def;
}

absl::Status RestConductorClient::CreateWorkflowDef(const WorkflowDef& def) {
  const std::string body = WriteJson(WorkflowDefToValue(def));
  return impl_->Send("POST", "/metadata/workflow", &body).status();
}

absl::Status RestConductorClient::UpdateWorkflowDefs(const std::vector<WorkflowDef>& defs) {
  return UpdateWorkflowDefsWithExtras(defs, {});
}

absl::Status RestConductorClient::UpdateWorkflowDefsWithExtras(const std::vector<WorkflowDef>& defs,
                                                               const std::vector<Value>& extras) {
  Value list;
  list.mutable_list_value();
  for (size_t i = 0; i < defs.size(); ++i) {
    Value v = WorkflowDefToValue(defs[i]);
    if (i < extras.size()) AddMissingKeys(extras[i], &v);
    *list.mutable_list_value()->add_values() = std::move(v);
  }
  const std::string body = WriteJson(list);
  return impl_->Send("PUT", "/metadata/workflow", &body).status();
}

absl::StatusOr<TaskDef> RestConductorClient::GetTaskDef(absl::string_view name) {
  RETURN_IF_ERROR(impl_->CheckName("task definition", name));
  const std::string path = absl::StrCat("/metadata/taskdefs/", EscapeSegment(name));
  ASSIGN_OR_RETURN(HttpAnswer answer, impl_->Send("GET", path));
  if (absl::StripAsciiWhitespace(answer.body).empty()) {
    return absl::NotFoundError(absl::StrCat(impl_->Prefix(), "GET ", path, ": HTTP ", answer.status,
                                            " with an empty body: no task '", name, "'"));
  }
  ASSIGN_OR_RETURN(Value v, impl_->Json("GET", path, answer));
  absl::StatusOr<TaskDef> def = TaskDefFromValue(v, nullptr);
  if (!def.ok()) {
    return absl::Status(def.status().code(),
                        absl::StrCat(impl_->Prefix(), "GET ", path, ": ", def.status().message()));
  }
  return def;
}

absl::Status RestConductorClient::CreateTaskDefs(const std::vector<TaskDef>& defs) {
  return CreateTaskDefsWithExtras(defs, {});
}

absl::Status RestConductorClient::CreateTaskDefsWithExtras(const std::vector<TaskDef>& defs,
                                                           const std::vector<Value>& extras) {
  Value list;
  list.mutable_list_value();
  for (size_t i = 0; i < defs.size(); ++i) {
    Value v = TaskDefToValue(defs[i]);
    if (i < extras.size()) AddMissingKeys(extras[i], &v);
    *list.mutable_list_value()->add_values() = std::move(v);
  }
  const std::string body = WriteJson(list);
  return impl_->Send("POST", "/metadata/taskdefs", &body).status();
}

absl::Status RestConductorClient::UpdateTaskDef(const TaskDef& def) {
  const std::string body = WriteJson(TaskDefToValue(def));
  return impl_->Send("PUT", "/metadata/taskdefs", &body).status();
}

absl::StatusOr<std::vector<WorkflowDef>> RestConductorClient::ListWorkflowDefs(
    absl::string_view name, bool all_versions) {
  return ListWorkflows(name, all_versions, nullptr);
}

absl::StatusOr<std::vector<WorkflowDef>> RestConductorClient::ListWorkflowDefsWithExtras(
    std::vector<Value>* extras) {
  return ListWorkflows("", /*all_versions=*/true, extras);
}

absl::StatusOr<std::vector<WorkflowDef>> RestConductorClient::ListWorkflows(
    absl::string_view name, bool all_versions, std::vector<Value>* extras) {
  // Every version of every workflow: conductor-oss and Orkes both serve this path, while
  // latest-versions is missing from older servers.
  const std::string path = "/metadata/workflow";
  ASSIGN_OR_RETURN(Value list, impl_->GetJsonList(path));
  std::vector<std::pair<WorkflowDef, Value>> defs;
  for (int i = 0; i < list.list_value().values_size(); ++i) {
    const Value& original = list.list_value().values(i);
    absl::StatusOr<WorkflowDef> def = WorkflowDefFromValue(original, nullptr);
    if (!def.ok()) {
      return absl::Status(def.status().code(), absl::StrCat(impl_->Prefix(), "GET ", path, ": [", i,
                                                            "]: ", def.status().message()));
    }
    if (!name.empty() && def->name() != name) continue;
    Value extra = extras != nullptr ? WorkflowDefExtraKeys(original, *def) : Value();
    defs.emplace_back(*std::move(def), std::move(extra));
  }
  std::sort(defs.begin(), defs.end(), [](const auto& a, const auto& b) {
    if (a.first.name() != b.first.name()) return a.first.name() < b.first.name();
    return a.first.version() < b.first.version();
  });
  std::vector<WorkflowDef> out;
  if (extras != nullptr) extras->clear();
  for (size_t i = 0; i < defs.size(); ++i) {
    // Sorted by version within a name: the last of each run of a name is its latest.
    if (!all_versions && i + 1 < defs.size() && defs[i + 1].first.name() == defs[i].first.name()) {
      continue;
    }
    out.push_back(std::move(defs[i].first));
    if (extras != nullptr) extras->push_back(std::move(defs[i].second));
  }
  return out;
}

absl::StatusOr<std::vector<TaskDef>> RestConductorClient::ListTaskDefs() {
  return ListTasks(nullptr);
}

absl::StatusOr<std::vector<TaskDef>> RestConductorClient::ListTaskDefsWithExtras(
    std::vector<Value>* extras) {
  return ListTasks(extras);
}

absl::StatusOr<std::vector<TaskDef>> RestConductorClient::ListTasks(std::vector<Value>* extras) {
  const std::string path = "/metadata/taskdefs";
  ASSIGN_OR_RETURN(Value list, impl_->GetJsonList(path));
  std::vector<std::pair<TaskDef, Value>> defs;
  for (int i = 0; i < list.list_value().values_size(); ++i) {
    const Value& original = list.list_value().values(i);
    absl::StatusOr<TaskDef> def = TaskDefFromValue(original, nullptr);
    if (!def.ok()) {
      return absl::Status(def.status().code(), absl::StrCat(impl_->Prefix(), "GET ", path, ": [", i,
                                                            "]: ", def.status().message()));
    }
    Value extra = extras != nullptr ? TaskDefExtraKeys(original, *def) : Value();
    defs.emplace_back(*std::move(def), std::move(extra));
  }
  std::sort(defs.begin(), defs.end(),
            [](const auto& a, const auto& b) { return a.first.name() < b.first.name(); });
  std::vector<TaskDef> out;
  if (extras != nullptr) extras->clear();
  for (auto& [def, extra] : defs) {
    out.push_back(std::move(def));
    if (extras != nullptr) extras->push_back(std::move(extra));
  }
  return out;
}

// --- DefinitionAdminClient ---

absl::Status RestConductorClient::DeleteWorkflowDef(absl::string_view name, int version) {
  RETURN_IF_ERROR(impl_->CheckName("workflow", name));
  return impl_
      ->Send("DELETE", absl::StrCat("/metadata/workflow/", EscapeSegment(name), "/", version))
      .status();
}

absl::Status RestConductorClient::DeleteTaskDef(absl::string_view name) {
  RETURN_IF_ERROR(impl_->CheckName("task definition", name));
  return impl_->Send("DELETE", absl::StrCat("/metadata/taskdefs/", EscapeSegment(name))).status();
}

// --- SecretClient ---

absl::Status RestConductorClient::PutSecret(absl::string_view name, absl::string_view value) {
  RETURN_IF_ERROR(impl_->CheckName("secret", name));
  const std::string path = absl::StrCat("/secrets/", EscapeSegment(name));
  Value json;
  json.set_string_value(std::string(value));
  const std::string body = WriteJson(json);
  ASSIGN_OR_RETURN(HttpAnswer answer, impl_->Call("PUT", path, &body));
  // A PUT creates: a 404 cannot mean "no such secret", only "no such route".
  if (answer.status == 404 || answer.status == 405) return impl_->NoSecretApi("PUT", path, answer);
  if (!answer.ok()) return impl_->HttpError("PUT", path, answer);
  return absl::OkStatus();
}

absl::StatusOr<std::string> RestConductorClient::GetSecret(absl::string_view name) {
  RETURN_IF_ERROR(impl_->CheckName("secret", name));
  const std::string path = absl::StrCat("/secrets/", EscapeSegment(name));
  ASSIGN_OR_RETURN(HttpAnswer answer, impl_->Call("GET", path));
  if (answer.status == 405) return impl_->NoSecretApi("GET", path, answer);
  if (!answer.ok()) return impl_->HttpError("GET", path, answer);
  // Orkes answers a JSON string; a plain-text answer is the value itself.
  if (absl::StartsWith(answer.body, "\"")) {
    absl::StatusOr<Value> v = ParseJson(answer.body);
    if (v.ok() && v->kind_case() == Value::kStringValue) return v->string_value();
  }
  return std::move(answer.body);
}

absl::StatusOr<std::vector<std::string>> RestConductorClient::ListSecretNames() {
  const std::string path = "/secrets";
  ASSIGN_OR_RETURN(HttpAnswer answer, impl_->Call("GET", path));
  if (answer.status == 404 || answer.status == 405) return impl_->NoSecretApi("GET", path, answer);
  if (!answer.ok()) return impl_->HttpError("GET", path, answer);
  ASSIGN_OR_RETURN(Value v, impl_->Json("GET", path, answer));
  if (v.kind_case() != Value::kListValue) {
    return absl::InvalidArgumentError(
        absl::StrCat(impl_->Prefix(), "GET ", path, ": the answer is not a JSON list of names"));
  }
  std::vector<std::string> names;
  for (const Value& item : v.list_value().values()) {
    if (item.kind_case() != Value::kStringValue) {
      return absl::InvalidArgumentError(
          absl::StrCat(impl_->Prefix(), "GET ", path, ": the answer is not a JSON list of names"));
    }
    names.push_back(item.string_value());
  }
  std::sort(names.begin(), names.end());
  return names;
}

absl::Status RestConductorClient::DeleteSecret(absl::string_view name) {
  RETURN_IF_ERROR(impl_->CheckName("secret", name));
  const std::string path = absl::StrCat("/secrets/", EscapeSegment(name));
  ASSIGN_OR_RETURN(HttpAnswer answer, impl_->Call("DELETE", path));
  if (answer.status == 405) return impl_->NoSecretApi("DELETE", path, answer);
  if (!answer.ok()) return impl_->HttpError("DELETE", path, answer);
  return absl::OkStatus();
}

absl::StatusOr<bool> RestConductorClient::SecretExists(absl::string_view name) {
  RETURN_IF_ERROR(impl_->CheckName("secret", name));
  const std::string path = absl::StrCat("/secrets/", EscapeSegment(name), "/exists");
  ASSIGN_OR_RETURN(HttpAnswer answer, impl_->Call("GET", path));
  if (answer.status == 404 || answer.status == 405) {
    // No exists route (conductor-oss serves the names only): look in the list.
    ASSIGN_OR_RETURN(std::vector<std::string> names, ListSecretNames());
    return std::find(names.begin(), names.end(), name) != names.end();
  }
  if (!answer.ok()) return impl_->HttpError("GET", path, answer);
  ASSIGN_OR_RETURN(Value v, impl_->Json("GET", path, answer));
  if (v.kind_case() != Value::kBoolValue) {
    return absl::InvalidArgumentError(
        absl::StrCat(impl_->Prefix(), "GET ", path, ": the answer is not true or false"));
  }
  return v.bool_value();
}

}  // namespace cmig::client
