#include "tasks/handler_registry.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace cmig::tasks {

absl::Status HandlerRegistry::Register(absl::string_view task_type,
                                       std::unique_ptr<TaskHandler> handler) {
  if (task_type.empty()) {
    return absl::InvalidArgumentError("handler registry: empty task type");
  }
  if (handler == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("handler registry: null handler for task type ", task_type));
  }
  auto [it, inserted] = handlers_.try_emplace(std::string(task_type), std::move(handler));
  if (!inserted) {
    return absl::AlreadyExistsError(
        absl::StrCat("handler registry: task type ", task_type, " already has a handler"));
  }
  return absl::OkStatus();
}

TaskHandler* HandlerRegistry::Find(absl::string_view task_type) const {
  auto it = handlers_.find(task_type);
  return it == handlers_.end() ? nullptr : it->second.get();
}

std::vector<std::string> HandlerRegistry::task_types() const {
  std::vector<std::string> out;
  out.reserve(handlers_.size());
  for (const auto& [type, handler] : handlers_) {
    out.push_back(type);
  }
  return out;
}

}  // namespace cmig::tasks
