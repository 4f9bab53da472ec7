// Conductor's terminate ends one workflow, tells no one and starts no failure workflow. An
// outgoing migration terminated through Conductor's own API or UI (not `migrationctl terminate`,
// which ends both sides) would leave its incoming workflow running in the target, to apply its
// change once that target's worker comes back. The worker follows such terminations: for each
// outgoing migration terminated here whose incoming workflow still runs, it terminates that one
// and starts its rollback, as `migrationctl terminate` does.
//
//   TerminationsFollowed followed;                  // kept between runs
//   ASSIGN_OR_RETURN(int ended, FollowTerminations(state, followed));
#ifndef CMIG_TASKS_TERMINATIONS_H_
#define CMIG_TASKS_TERMINATIONS_H_

#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "tasks/step_io.h"

namespace cmig::tasks {

// The terminated outgoing migrations already followed, so each is looked at once. Not
// thread-safe: one chore uses it.
struct TerminationsFollowed {
  std::set<std::string> outgoing_ids;
};

// Looks at the newest terminated outgoing migrations of this environment (a page of them) not in
// `followed`; for each, every incoming workflow it started (found by correlation id in its
// target, or here for a REST target) that still runs is terminated, naming the outgoing one, and
// rolled back once (workflows::RollBackOnce). Returns how many incoming workflows it ended. A
// migration whose target cannot be reached is looked at again next time; the first error is
// returned after every migration was tried.
absl::StatusOr<int> FollowTerminations(StepState& state, TerminationsFollowed& followed);

}  // namespace cmig::tasks

#endif  // CMIG_TASKS_TERMINATIONS_H_
