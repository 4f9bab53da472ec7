#include "workflows/registration.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "definitions/canonical.h"
#include "definitions/conductor_json.h"
#include "definitions/conductor_messages.h"
#include "definitions/definition_ranges.h"
#include "definitions/json.h"

namespace cmig::workflows {

using conductor::proto::TaskDef;
using conductor::proto::WorkflowDef;

bool SameDefinition(const TaskDef& a, const TaskDef& b) {
  return CanonicalHash(a) == CanonicalHash(b);
}

bool SameDefinition(const WorkflowDef& a, const WorkflowDef& b) {
  return CanonicalHash(a) == CanonicalHash(b);
}

namespace {

absl::Status AddDefinition(const google::protobuf::Value& v, const std::string& where,
                           DefinitionSet& out) {
  if (v.kind_case() != google::protobuf::Value::kStructValue) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": expected a workflow or task definition object"));
  }
  const auto& fields = v.struct_value().fields();
  auto tasks = fields.find("tasks");
  const bool is_workflow =
      tasks != fields.end() && tasks->second.kind_case() == google::protobuf::Value::kListValue;
  const bool is_handler = !is_workflow && fields.contains("event") && fields.contains("actions");
  std::vector<JsonDiagnostic> dropped;
  if (is_handler) {
    absl::StatusOr<conductor::proto::EventHandler> handler = EventHandlerFromValue(v);
    if (!handler.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": ", handler.status().message()));
    }
    if (handler->name().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": the event handler has no name"));
    }
    out.event_handlers.push_back(*std::move(handler));
  } else if (is_workflow) {
    absl::StatusOr<WorkflowDef> def = WorkflowDefFromValue(v, &dropped);
    if (!def.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": ", def.status().message()));
    }
    if (absl::Status s = CheckWorkflowDefRanges(*def); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": ", s.message()));
    }
    out.workflow_defs.push_back(*std::move(def));
  } else {
    absl::StatusOr<TaskDef> def = TaskDefFromValue(v, &dropped);
    if (!def.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": ", def.status().message()));
    }
    if (absl::Status s = CheckTaskDefRanges(*def); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": ", s.message()));
    }
    out.task_defs.push_back(*std::move(def));
  }
  for (JsonDiagnostic& d : dropped) out.dropped.push_back({where, std::move(d.path), d.kind});
  return absl::OkStatus();
}

// New and changed definitions are written a batch per request rather than one each: every
// request is a commit on the server, and loading 50,000 workflows one by one took about three
// minutes. A batch stays well under gRPC's default 4 MB message limit (a definition larger than
// the byte budget goes alone).
constexpr size_t kWriteBatchDefinitions = 200;
constexpr size_t kWriteBatchBytes = size_t{1} << 20;

template <typename Def>
absl::Status WriteInBatches(const std::vector<const Def*>& defs,
                            const std::function<absl::Status(const std::vector<Def>&)>& write) {
  std::vector<Def> batch;
  size_t bytes = 0;
  for (const Def* def : defs) {
    const size_t size = def->ByteSizeLong();
    if (!batch.empty() &&
        (batch.size() == kWriteBatchDefinitions || bytes + size > kWriteBatchBytes)) {
      RETURN_IF_ERROR(write(batch));
      batch.clear();
      bytes = 0;
    }
    batch.push_back(*def);
    bytes += size;
  }
  return batch.empty() ? absl::OkStatus() : write(batch);
}

}  // namespace

absl::StatusOr<DefinitionSet> LoadDefinitionsDir(absl::string_view dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path root{std::string(dir)};
  if (!fs::is_directory(root, ec)) {
    return absl::NotFoundError(absl::StrCat("definitions directory ", dir, " does not exist"));
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(root, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") {
      files.push_back(entry.path());
    }
  }
  if (ec) {
    return absl::UnavailableError(absl::StrCat("cannot list ", dir, ": ", ec.message()));
  }
  std::sort(files.begin(), files.end());
  DefinitionSet out;
  for (const fs::path& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in.good() && !in.eof()) {
      return absl::UnavailableError(absl::StrCat("cannot read ", file.string()));
    }
    RETURN_IF_ERROR(AddDefinitionsFile(text.str(), file.string(), out));
  }
  return out;
}

absl::Status AddDefinitionsFile(absl::string_view text, const std::string& file,
                                DefinitionSet& out) {
  absl::StatusOr<google::protobuf::Value> parsed = ParseJson(text);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(file, ": ", parsed.status().message()));
  }
  if (parsed->kind_case() == google::protobuf::Value::kListValue) {
    int i = 0;
    for (const auto& item : parsed->list_value().values()) {
      RETURN_IF_ERROR(AddDefinition(item, absl::StrCat(file, "[", i++, "]"), out));
    }
    return absl::OkStatus();
  }
  return AddDefinition(*parsed, file, out);
}

absl::StatusOr<RegistrationReport> RegisterDefinitions(client::MetadataClient& metadata,
                                                       const DefinitionSet& defs,
                                                       client::EventHandlerClient* events) {
  if (!defs.event_handlers.empty() && events == nullptr) {
    return absl::FailedPreconditionError(
        "the definitions hold event handlers, and the server offers no event handler API");
  }
  RegistrationReport report;
  std::vector<const TaskDef*> new_task_defs;
  for (const TaskDef& def : defs.task_defs) {
    absl::StatusOr<TaskDef> existing = metadata.GetTaskDef(def.name());
    if (existing.ok()) {
      if (SameDefinition(*existing, def)) {
        report.unchanged.push_back(def.name());
        continue;
      }
      // Conductor updates task definitions one at a time.
      RETURN_IF_ERROR(metadata.UpdateTaskDef(def));
      report.updated.push_back(def.name());
    } else if (absl::IsNotFound(existing.status())) {
      new_task_defs.push_back(&def);
      report.created.push_back(def.name());
    } else {
      return existing.status();
    }
  }
  RETURN_IF_ERROR(WriteInBatches<TaskDef>(
      new_task_defs, [&](const std::vector<TaskDef>& b) { return metadata.CreateTaskDefs(b); }));
  // New and changed workflows alike: Conductor's update creates a version that does not exist.
  std::vector<const WorkflowDef*> workflows_to_write;
  for (const WorkflowDef& def : defs.workflow_defs) {
    const std::string label = absl::StrCat(def.name(), " v", def.version());
    // Conductor reads version 0 as "latest": a file without a version would
    // compare against whatever is newest, so only exact versions are checked.
    absl::StatusOr<WorkflowDef> existing = metadata.GetWorkflowDef(def.name(), def.version());
    if (existing.ok() && existing->version() == def.version()) {
      if (SameDefinition(*existing, def)) {
        report.unchanged.push_back(label);
        continue;
      }
      report.updated.push_back(label);
    } else if (existing.ok() || absl::IsNotFound(existing.status())) {
      report.created.push_back(label);
    } else {
      return existing.status();
    }
    workflows_to_write.push_back(&def);
  }
  RETURN_IF_ERROR(WriteInBatches<WorkflowDef>(
      workflows_to_write,
      [&](const std::vector<WorkflowDef>& b) { return metadata.UpdateWorkflowDefs(b); }));
  if (defs.event_handlers.empty()) return report;
  ASSIGN_OR_RETURN(std::vector<conductor::proto::EventHandler> existing,
                   events->ListEventHandlers());
  std::map<std::string, std::string> held;  // name -> canonical JSON
  for (const auto& h : existing) held[h.name()] = CanonicalJson(h);
  for (const conductor::proto::EventHandler& h : defs.event_handlers) {
    const std::string label = absl::StrCat(h.name(), " (event handler)");
    auto it = held.find(h.name());
    if (it == held.end()) {
      RETURN_IF_ERROR(events->AddEventHandler(h));
      report.created.push_back(label);
    } else if (it->second == CanonicalJson(h)) {
      report.unchanged.push_back(label);
    } else {
      RETURN_IF_ERROR(events->UpdateEventHandler(h));
      report.updated.push_back(label);
    }
  }
  return report;
}

}  // namespace cmig::workflows
