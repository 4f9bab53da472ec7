// The one place task handlers are looked up by task type.
//
//   cmig::tasks::HandlerRegistry registry;
//   RETURN_IF_ERROR(registry.Register("fetch_definitions", std::make_unique<FetchDefinitions>()));
//   RETURN_IF_ERROR(registry.Register("fetch_definitions", ...));  // AlreadyExists
//
// Registration happens at startup, before the worker starts; a duplicate task
// type is an error then, never a silent override.
//
// Thread-safety: Register is not thread-safe; once registration is done the
// registry is read-only and Find / task_types may be called from any thread.
#ifndef CMIG_TASKS_HANDLER_REGISTRY_H_
#define CMIG_TASKS_HANDLER_REGISTRY_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "tasks/task_handler.h"

namespace cmig::tasks {

class HandlerRegistry {
 public:
  HandlerRegistry() = default;
  HandlerRegistry(const HandlerRegistry&) = delete;
  HandlerRegistry& operator=(const HandlerRegistry&) = delete;

  // Takes ownership of `handler` for `task_type`. InvalidArgument: empty
  // task type or null handler. AlreadyExists: the task type has a handler.
  absl::Status Register(absl::string_view task_type, std::unique_ptr<TaskHandler> handler);

  // The handler for `task_type`, or nullptr. The registry keeps ownership.
  TaskHandler* Find(absl::string_view task_type) const;

  // Registered task types, sorted.
  std::vector<std::string> task_types() const;

 private:
  std::map<std::string, std::unique_ptr<TaskHandler>, std::less<>> handlers_;
};

}  // namespace cmig::tasks

#endif  // CMIG_TASKS_HANDLER_REGISTRY_H_
