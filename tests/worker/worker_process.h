// A worker process for tests: started with posix_spawn, its stdout and stderr
// read as they come, so a test waits for what the process says instead of
// polling for its effects.
#ifndef CMIG_TESTS_WORKER_WORKER_PROCESS_H_
#define CMIG_TESTS_WORKER_WORKER_PROCESS_H_

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

extern char** environ;

namespace cmig::testing {

class WorkerProcess {
 public:
  // Runs `binary` with `args`, in this process's environment plus `env`
  // ("NAME=value"). pid() is -1 when it could not start.
  WorkerProcess(const std::string& binary, const std::vector<std::string>& args,
                const std::vector<std::string>& env = {}) {
    int out[2];
    if (::pipe(out) != 0) return;
    std::vector<std::string> argv_s = {binary};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_s(env);
    std::vector<char*> envp;
    for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
    for (std::string& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDERR_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    posix_spawn_file_actions_addclose(&actions, out[1]);
    if (::posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), envp.data()) != 0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    reader_ = std::thread([this, fd = out[0]] {
      char buf[4096];
      for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;) {
        absl::MutexLock lock(&mu_);
        output_.append(buf, static_cast<size_t>(n));
      }
      ::close(fd);
      absl::MutexLock lock(&mu_);
      closed_ = true;
    });
  }

  ~WorkerProcess() {
    if (pid_ > 0 && !status_.has_value()) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (reader_.joinable()) reader_.join();
  }

  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  pid_t pid() const { return pid_; }

  // True once the output holds `text`; false if the process closed its output
  // or `timeout` passed first.
  bool WaitForOutput(const std::string& text, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto seen = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return closed_ || absl::StrContains(output_, text);
    };
    mu_.AwaitWithTimeout(absl::Condition(&seen), timeout);
    return absl::StrContains(output_, text);
  }

  // The wait status once the process exits, or nullopt after `timeout`. Once it returns a
  // status, output() holds everything the process wrote.
  std::optional<int> WaitExit(absl::Duration timeout) {
    if (status_.has_value() || pid_ <= 0) return status_;
    // The syscall itself: glibc 2.36's <sys/pidfd.h> lacks C linkage for C++.
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    if (pidfd < 0) return std::nullopt;
    pollfd p{pidfd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
    ::close(pidfd);
    int status = 0;
    if (ready == 1 && ::waitpid(pid_, &status, 0) == pid_) status_ = status;
    if (status_.has_value()) {
      // The pipe may still hold what the process wrote last: output() after WaitExit must see
      // all of it, so wait for the reader to reach the end of the pipe.
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&closed_), timeout);
    }
    return status_;
  }

  // Everything the process wrote so far.
  std::string output() const {
    absl::MutexLock lock(&mu_);
    return output_;
  }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  mutable absl::Mutex mu_;
  std::string output_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  std::thread reader_;
};

}  // namespace cmig::testing

#endif  // CMIG_TESTS_WORKER_WORKER_PROCESS_H_
