// A worker binary for the signal tests: the real WorkerMain with handlers
// whose timing the test controls instead of migration steps.
//
//   drain_test: waits until the worker starts shutting down (at most 60 s),
//               then completes with {"drained": true}.
//   echo_test:  completes at once with its input as output.
#include "tasks/handler_registry.h"
#include "worker/worker_main.h"

namespace {

class DrainHandler final : public cmig::tasks::TaskHandler {
 public:
  absl::StatusOr<cmig::tasks::TaskOutcome> Execute(cmig::tasks::TaskContext& ctx) override {
    ctx.AddLog("waiting for shutdown");
    cmig::tasks::TaskOutcome out;
    (*out.output.mutable_fields())["drained"].set_bool_value(
        ctx.WaitForShutdown(absl::Seconds(60)));
    return out;
  }
};

class EchoHandler final : public cmig::tasks::TaskHandler {
 public:
  absl::StatusOr<cmig::tasks::TaskOutcome> Execute(cmig::tasks::TaskContext& ctx) override {
    cmig::tasks::TaskOutcome out;
    *out.output.mutable_fields() = ctx.task().input_data();
    return out;
  }
};

}  // namespace

int main(int argc, char** argv) {
  return cmig::worker::WorkerMain(
      argc, argv,
      [](cmig::tasks::HandlerRegistry& registry, cmig::client::GrpcOrchestratorClient&) {
        if (absl::Status s = registry.Register("drain_test", std::make_unique<DrainHandler>());
            !s.ok()) {
          return s;
        }
        return registry.Register("echo_test", std::make_unique<EchoHandler>());
      });
}
