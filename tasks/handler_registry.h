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

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tasks/task_handler.h"

namespace cmig::tasks {

// Work done on a schedule rather than for a task: `run` every `every` (zero: never), from one
// thread of the worker (worker/chores.h), first `every` after the worker starts. An error is
// logged and the next run tries again.
struct Chore {
  std::string name;
  absl::Duration every;
  std::function<absl::Status()> run;
};

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

  void AddChore(Chore chore) { chores_.push_back(std::move(chore)); }
  const std::vector<Chore>& chores() const { return chores_; }

 private:
  std::map<std::string, std::unique_ptr<TaskHandler>, std::less<>> handlers_;
  std::vector<Chore> chores_;
};

}  // namespace cmig::tasks

#endif  // CMIG_TASKS_HANDLER_REGISTRY_H_
