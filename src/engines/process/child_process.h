#pragma once
/// One child process started by SMMF: fork + execve in its own process group, stdin from
/// /dev/null, stdout and stderr into one pipe whose lines are kept in a LogTail (and logged at
/// debug level). The child gets SIGKILL if the SMMF thread that forked it dies
/// (PR_SET_PDEATHSIG), so a crashed server leaves no orphan holding a port or a GPU.
///
/// Threading: thread-safe. Nothing blocks: the pipe is read by a coroutine and the exit is
/// observed by polling waitpid(WNOHANG) on a timer (no SIGCHLD handler, so no interference
/// with other children of the process). Lifetime: the monitor coroutines hold shared_ptrs.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/error.h"

namespace smmf::engines::process {
namespace asio = boost::asio;

/// The last `capacity` lines of a child's output (across restarts).
class LogTail {
 public:
  explicit LogTail(size_t capacity) : capacity_(capacity) {}
  void add(std::string line);
  std::vector<std::string> lines() const;
  std::string joined() const;  ///< lines separated by '\n'

 private:
  size_t capacity_;
  mutable std::mutex mu_;
  std::deque<std::string> lines_;
};

struct SpawnSpec {
  std::vector<std::string> argv;  ///< argv[0] is looked up in PATH unless it holds a '/'
  std::vector<std::pair<std::string, std::string>> env;  ///< added to (or replacing) ours
  std::string cwd;                                       ///< empty = ours
};

class ChildProcess : public std::enable_shared_from_this<ChildProcess> {
 public:
  /// Starts the child; errors (no such program, fork failure) are InvalidArgument/Internal.
  static Result<std::shared_ptr<ChildProcess>> spawn(asio::any_io_executor ex,
                                                     const SpawnSpec& spec,
                                                     std::shared_ptr<LogTail> log,
                                                     std::string log_name);
  ~ChildProcess();

  int pid() const { return pid_; }
  /// True once the child was reaped and its output read to the end (or 1 s passed).
  bool exited() const { return exited_.load(); }
  /// "exited with code 1", "killed by signal 9" (empty while running).
  std::string exit_description() const;
  /// Resumes once the child has exited and was reaped.
  asio::awaitable<void> wait();
  /// Sends `sig` to the child's process group.
  void signal(int sig);
  /// SIGTERM, then SIGKILL if still alive after `grace`; returns once reaped.
  asio::awaitable<void> terminate(std::chrono::milliseconds grace);

 private:
  ChildProcess(asio::any_io_executor ex, int pid, int out_fd, std::shared_ptr<LogTail> log,
               std::string log_name);
  asio::awaitable<void> read_output(int fd);
  asio::awaitable<void> reap();

  asio::any_io_executor ex_;
  int pid_;
  std::shared_ptr<LogTail> log_;
  std::string log_name_;
  std::atomic<bool> exited_{false};         ///< reaped, and its output read (bounded wait)
  std::atomic<bool> output_closed_{false};  ///< the pipe reached end of file
  std::atomic<int> status_{0};
};

}  // namespace smmf::engines::process
