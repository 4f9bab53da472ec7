// kill -9 of the real `orchestrator` process in the middle of running
// workflows, then a restart on the same database: every workflow completes and
// no task whose result was accepted is ever delivered again.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <set>

#include "absl/synchronization/mutex.h"
#include "orchestrator_testing.h"

namespace cmig::orchestrator::test {
namespace {

using conductor::proto::TaskResult;

// The orchestrator binary as a child process.
class Process {
 public:
  Process(const std::string& db, const std::string& port_file) {
    std::filesystem::remove(port_file);
    pid_ = fork();
    if (pid_ == 0) {
      std::string db_flag = "--db=" + db;
      std::string port_flag = "--port_file=" + port_file;
      execl(CMIG_ORCHESTRATOR_BIN, CMIG_ORCHESTRATOR_BIN, db_flag.c_str(), "--listen=127.0.0.1:0",
            "--http_listen=", port_flag.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    EXPECT_GT(pid_, 0);
    EXPECT_TRUE(WaitFor([&] {
      std::ifstream in(port_file);
      return static_cast<bool>(in >> port_);
    }));
  }
  ~Process() {
    if (pid_ > 0) Kill(SIGTERM);
  }
  int Kill(int sig) {
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

TEST(CrashTest, KillNineMidWorkflowLosesNothingAndRepeatsNothingAccepted) {
  const std::string dir = MakeTempDir();
  const std::string db = dir + "/orchestrator.db";
  const std::string port_file = dir + "/port";
  constexpr int kWorkflows = 3;
  constexpr int kSteps = 10;

  auto process = std::make_unique<Process>(db, port_file);
  auto client = std::make_unique<Client>(
      ::grpc::CreateChannel(process->address(), ::grpc::InsecureChannelCredentials()));
  TaskDef def;
  def.set_name("c_step");
  def.set_response_timeout_seconds(2);
  def.set_retry_count(3);
  ASSERT_OK(client->CreateTaskDef(def));
  WorkflowDef wf;
  wf.set_name("crashy");
  wf.set_version(1);
  for (int i = 0; i < kSteps; ++i) {
    WorkflowTask t = SimpleTask("c_step", absl::StrCat("s", i));
    t.set_retry_count(-1);  // the task definition's retries: a task lost in the crash is retried
    *wf.add_tasks() = t;
  }
  ASSERT_OK(client->CreateWorkflowDef(wf));
  std::vector<std::string> ids;
  for (int i = 0; i < kWorkflows; ++i) {
    auto id = client->Start("crashy");
    ASSERT_OK(id.status());
    ids.push_back(*id);
  }

  std::set<std::string> accepted;
  std::set<std::string> delivered_after_accept;
  absl::Mutex mu;  // guards the two sets while the worker thread runs
  auto handle = [&](Client& c, const Task& t) {
    {
      absl::MutexLock l(&mu);
      if (accepted.count(t.task_id())) delivered_after_accept.insert(t.task_id());
    }
    if (c.Update(t, TaskResult::COMPLETED).ok()) {
      absl::MutexLock l(&mu);
      accepted.insert(t.task_id());
    }
  };
  // A worker keeps polling and updating while the process is killed under it,
  // so the kill lands among RPCs in flight; only results it saw acknowledged
  // count as accepted.
  std::vector<Task> held;
  std::atomic<bool> crashed{false};
  std::thread worker([&] {
    while (!crashed.load()) {
      auto got = client->BatchPoll("c_step", 2, 500);
      if (!got.ok()) break;
      for (const Task& t : *got) {
        if (crashed.load()) {
          held.push_back(t);  // in the worker's hands at the crash
          continue;
        }
        handle(*client, t);
      }
    }
  });
  ASSERT_TRUE(WaitFor([&] {
    absl::MutexLock l(&mu);
    return accepted.size() >= 12;
  }));
  int status = process->Kill(SIGKILL);
  crashed = true;
  worker.join();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  client.reset();

  process = std::make_unique<Process>(db, port_file);
  client = std::make_unique<Client>(
      ::grpc::CreateChannel(process->address(), ::grpc::InsecureChannelCredentials()));
  // Like a real worker, finish what it held; the restarted server accepts the
  // results (or has already re-queued those tasks).
  for (const Task& t : held) handle(*client, t);
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  auto all_done = [&] {
    for (const auto& id : ids) {
      if (client->Status(id) != Workflow::COMPLETED) return false;
    }
    return true;
  };
  while (!all_done() && absl::Now() < deadline) {
    auto got = client->BatchPoll("c_step", 2, 200);
    ASSERT_OK(got.status());
    for (const Task& t : *got) handle(*client, t);
  }
  if (!all_done()) {
    for (const auto& id : ids) {
      auto w = client->Get(id);
      if (!w.ok()) continue;
      std::cerr << id << " " << Workflow::WorkflowStatus_Name(w->status()) << "\n";
      for (const Task& t : w->tasks()) {
        std::cerr << "  " << t.reference_task_name() << " " << t.task_id() << " "
                  << Task::Status_Name(t.status()) << " polls " << t.poll_count() << "\n";
      }
    }
  }
  ASSERT_TRUE(all_done());
  EXPECT_TRUE(delivered_after_accept.empty())
      << delivered_after_accept.size() << " accepted task(s) were delivered again";
  for (const auto& id : ids) {
    auto w = client->Get(id);
    ASSERT_OK(w.status());
    std::set<std::string> completed_refs;
    for (const Task& t : w->tasks()) {
      if (t.status() == Task::COMPLETED) {
        EXPECT_TRUE(completed_refs.insert(t.reference_task_name()).second)
            << "step " << t.reference_task_name() << " completed twice in " << id;
      }
    }
    EXPECT_EQ(completed_refs.size(), static_cast<size_t>(kSteps));
  }
  client.reset();
  process.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cmig::orchestrator::test
