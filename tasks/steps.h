// The migration steps by side, each registered under its task type with the state they share
// (tasks/step_io.h). RegisterMigrationHandlers (tasks/migration_handlers.h) calls all three.
//
// Each returns AlreadyExists when one of its task types is already registered.
#ifndef CMIG_TASKS_STEPS_H_
#define CMIG_TASKS_STEPS_H_

#include <memory>

#include "absl/status/status.h"
#include "tasks/handler_registry.h"
#include "tasks/step_io.h"

namespace cmig::tasks {

// cmig_fetch_definitions, cmig_discover_references, cmig_build_package, cmig_push_package,
// cmig_await_incoming, cmig_verify_target.
absl::Status RegisterOutgoingSteps(HandlerRegistry& registry,
                                   const std::shared_ptr<StepState>& state);

// cmig_fetch_definitions, cmig_discover_references (source_steps.cc); RegisterOutgoingSteps
// registers them too.
absl::Status RegisterSourceSteps(HandlerRegistry& registry,
                                 const std::shared_ptr<StepState>& state);

// cmig_validate_package, cmig_plan_migration, cmig_snapshot_target, cmig_apply_migration,
// cmig_verify_applied.
absl::Status RegisterIncomingSteps(HandlerRegistry& registry,
                                   const std::shared_ptr<StepState>& state);

// cmig_restore_snapshot.
absl::Status RegisterRollbackStep(HandlerRegistry& registry,
                                  const std::shared_ptr<StepState>& state);

}  // namespace cmig::tasks

#endif  // CMIG_TASKS_STEPS_H_
