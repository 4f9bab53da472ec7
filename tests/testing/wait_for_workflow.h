// Waiting in tests for a workflow to reach a state, read through the client
// the test already holds:
//
//   Workflow wf = WaitForWorkflow(*client, id, [](const Workflow& w) {
//     return w.status() == Workflow::COMPLETED;
//   });
#ifndef CMIG_TESTS_TESTING_WAIT_FOR_WORKFLOW_H_
#define CMIG_TESTS_TESTING_WAIT_FOR_WORKFLOW_H_

#include <functional>
#include <string>

#include "absl/time/time.h"
#include "client/workflow_client.h"
#include "gtest/gtest.h"
#include "tests/testing/wait_for.h"

namespace cmig::testing {

// Re-reads workflow `id` (with its tasks) until `pred` holds or `timeout`
// passes; returns the last state read. Adds a test failure, naming the last
// state, when the deadline passes first; read errors count as "not yet".
inline conductor::proto::Workflow WaitForWorkflow(
    client::WorkflowClient& workflows, const std::string& id,
    const std::function<bool(const conductor::proto::Workflow&)>& pred,
    absl::Duration timeout = absl::Seconds(20), absl::Duration interval = absl::Milliseconds(20)) {
  conductor::proto::Workflow last;
  const bool reached = WaitFor(
      [&] {
        auto wf = workflows.GetWorkflowStatus(id, /*include_tasks=*/true);
        if (!wf.ok()) return false;
        last = *std::move(wf);
        return pred(last);
      },
      timeout, interval);
  if (!reached) {
    ADD_FAILURE() << "workflow " << id
                  << " did not reach the expected state; last: " << last.ShortDebugString();
  }
  return last;
}

// True once the workflow left RUNNING, whatever the outcome.
inline bool WorkflowEnded(const conductor::proto::Workflow& wf) {
  return wf.status() != conductor::proto::Workflow::RUNNING;
}

}  // namespace cmig::testing

#endif  // CMIG_TESTS_TESTING_WAIT_FOR_WORKFLOW_H_
