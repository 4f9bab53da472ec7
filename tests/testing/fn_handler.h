// A TaskHandler that runs a function, so a test states a handler's behaviour
// where it registers it:
//
//   registry.Register("ok", std::make_unique<FnHandler>([](tasks::TaskContext&) {
//     return tasks::TaskOutcome{};
//   }));
#ifndef CMIG_TESTS_TESTING_FN_HANDLER_H_
#define CMIG_TESTS_TESTING_FN_HANDLER_H_

#include <functional>
#include <utility>

#include "absl/status/statusor.h"
#include "tasks/task_handler.h"

namespace cmig::testing {

// Thread-safe as far as `fn` is: the worker may call Execute concurrently.
class FnHandler final : public tasks::TaskHandler {
 public:
  using Fn = std::function<absl::StatusOr<tasks::TaskOutcome>(tasks::TaskContext&)>;
  explicit FnHandler(Fn fn) : fn_(std::move(fn)) {}
  absl::StatusOr<tasks::TaskOutcome> Execute(tasks::TaskContext& ctx) override { return fn_(ctx); }

 private:
  const Fn fn_;
};

}  // namespace cmig::testing

#endif  // CMIG_TESTS_TESTING_FN_HANDLER_H_
