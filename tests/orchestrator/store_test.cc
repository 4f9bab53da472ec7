// The SQLite store on its own: group commit and what Load() recovers.
#include "orchestrator/store.h"

#include <atomic>
#include <filesystem>

#include "absl/synchronization/notification.h"
#include "base/status_matchers.h"
#include "gtest/gtest.h"
#include "orchestrator_testing.h"

namespace cmig::orchestrator::test {
namespace {

PutWorkflowOp WorkflowRow(const std::string& id, Workflow::WorkflowStatus status) {
  Workflow wf;
  wf.set_workflow_id(id);
  wf.set_status(status);
  wf.mutable_workflow_definition()->set_name("flow");
  PutWorkflowOp op;
  op.workflow_id = id;
  op.status = status;
  op.workflow_type = "flow";
  op.start_time = 1;
  op.data = wf.SerializeAsString();
  return op;
}

PutTaskOp TaskRow(const std::string& id, const std::string& workflow_id, Task::Status status) {
  Task t;
  t.set_task_id(id);
  t.set_workflow_instance_id(workflow_id);
  t.set_status(status);
  return PutTaskOp{id, workflow_id, t.SerializeAsString()};
}

TEST(StoreTest, ConcurrentBatchesShareTransactions) {
  std::string dir = MakeTempDir();
  auto store = Store::Open(dir + "/s.db");
  ASSERT_OK(store.status());
  constexpr int kBatches = 500;
  std::atomic<int> ok{0};
  absl::Notification all_done;
  for (int i = 0; i < kBatches; ++i) {
    WriteBatch batch;
    batch.push_back(AddLogOp{"task", i, absl::StrCat("line ", i)});
    (*store)->Commit(std::move(batch), [&](absl::Status s) {
      if (s.ok() && ok.fetch_add(1) + 1 == kBatches) all_done.Notify();
    });
  }
  ASSERT_TRUE(all_done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  // Each transaction is an fsync; batches queued meanwhile ride along.
  EXPECT_LT((*store)->commits(), kBatches / 2);
  auto logs = (*store)->ReadLogs("task");
  ASSERT_OK(logs.status());
  ASSERT_EQ(logs->size(), static_cast<size_t>(kBatches));
  EXPECT_EQ((*logs)[kBatches - 1].log(), absl::StrCat("line ", kBatches - 1));
  store->reset();
  std::filesystem::remove_all(dir);
}

TEST(StoreTest, LoadRecoversOpenWorkflowsWithTasksInOrderAndTheQueue) {
  std::string dir = MakeTempDir();
  {
    auto store = Store::Open(dir + "/s.db");
    ASSERT_OK(store.status());
    WriteBatch batch;
    batch.push_back(WorkflowRow("running", Workflow::RUNNING));
    batch.push_back(WorkflowRow("done", Workflow::COMPLETED));
    batch.push_back(TaskRow("t2", "running", Task::COMPLETED));
    batch.push_back(TaskRow("t1", "running", Task::SCHEDULED));
    batch.push_back(TaskRow("t3", "done", Task::COMPLETED));
    batch.push_back(PutQueueOp{"t1", "work", 42});
    ASSERT_OK((*store)->CommitAndWait(std::move(batch)));
    // An upsert keeps the attempt's place in the order.
    WriteBatch update;
    update.push_back(TaskRow("t2", "running", Task::FAILED));
    ASSERT_OK((*store)->CommitAndWait(std::move(update)));
  }
  auto store = Store::Open(dir + "/s.db");
  ASSERT_OK(store.status());
  auto state = (*store)->Load();
  ASSERT_OK(state.status());
  ASSERT_EQ(state->open_workflows.size(), 1u);
  const Workflow& wf = state->open_workflows[0].workflow;
  EXPECT_EQ(wf.workflow_id(), "running");
  ASSERT_EQ(wf.tasks_size(), 2);
  EXPECT_EQ(wf.tasks(0).task_id(), "t2");
  EXPECT_EQ(wf.tasks(0).status(), Task::FAILED);
  EXPECT_EQ(wf.tasks(1).task_id(), "t1");
  ASSERT_EQ(state->queue.size(), 1u);
  EXPECT_EQ(state->queue[0].queue_name, "work");
  EXPECT_EQ(state->queue[0].visible_at_ms, 42);
  EXPECT_EQ((*store)->ReadWorkflow("done", true)->tasks_size(), 1);
  store->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cmig::orchestrator::test
