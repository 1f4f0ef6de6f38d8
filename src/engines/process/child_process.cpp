#include "engines/process/child_process.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

extern char** environ;

namespace smmf::engines::process {

void LogTail::add(std::string line) {
  std::lock_guard lock(mu_);
  lines_.push_back(std::move(line));
  while (lines_.size() > capacity_) lines_.pop_front();
}

std::vector<std::string> LogTail::lines() const {
  std::lock_guard lock(mu_);
  return {lines_.begin(), lines_.end()};
}

std::string LogTail::joined() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& l : lines_) {
    if (!out.empty()) out += '\n';
    out += l;
  }
  return out;
}

namespace {

/// PATH lookup done before fork (execvpe allocates, which a forked child must not).
Result<std::string> resolve(const std::string& prog) {
  if (prog.empty()) return Error::invalid("the command is empty");
  if (prog.find('/') != std::string::npos) return prog;
  const char* path = std::getenv("PATH");
  std::string_view p = path ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!p.empty()) {
    size_t colon = p.find(':');
    std::string dir(p.substr(0, colon));
    p = colon == std::string_view::npos ? std::string_view() : p.substr(colon + 1);
    std::string full = (dir.empty() ? std::string(".") : dir) + "/" + prog;
    if (::access(full.c_str(), X_OK) == 0) return full;
  }
  return Error::invalid(fmt::format("program '{}' not found in PATH", prog));
}

}  // namespace

Result<std::shared_ptr<ChildProcess>> ChildProcess::spawn(asio::any_io_executor ex,
                                                          const SpawnSpec& spec,
                                                          std::shared_ptr<LogTail> log,
                                                          std::string log_name) {
  if (spec.argv.empty()) return Error::invalid("the command is empty");
  auto exe = resolve(spec.argv[0]);
  if (!exe) return exe.error();
  // Everything the child needs is built here: between fork and exec only async-signal-safe
  // calls are allowed.
  std::vector<std::string> env_strings;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    std::string_view key = kv.substr(0, kv.find('='));
    bool replaced = false;
    for (const auto& [k, v] : spec.env) replaced = replaced || k == key;
    if (!replaced) env_strings.emplace_back(kv);
  }
  for (const auto& [k, v] : spec.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return Error::internal(fmt::format("pipe: {}", std::strerror(errno)));
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    return Error::internal(fmt::format("fork: {}", std::strerror(err)));
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::syscall(SYS_close_range, 3U, ~0U, 0U);
    if (!spec.cwd.empty() && ::chdir(spec.cwd.c_str()) != 0) {
      const char msg[] = "smmf: cannot change to the configured cwd\n";
      [[maybe_unused]] auto n = ::write(2, msg, sizeof msg - 1);
      ::_exit(127);
    }
    ::execve(exe->c_str(), argv.data(), envp.data());
    const char msg[] = "smmf: execve failed: ";
    [[maybe_unused]] auto n1 = ::write(2, msg, sizeof msg - 1);
    const char* why = ::strerror(errno);
    [[maybe_unused]] auto n2 = ::write(2, why, std::strlen(why));
    [[maybe_unused]] auto n3 = ::write(2, "\n", 1);
    ::_exit(127);
  }
  ::close(fds[1]);
  // Also set from here: the child may not have run setpgid yet when we signal the group.
  ::setpgid(pid, pid);
  auto child = std::shared_ptr<ChildProcess>(
      new ChildProcess(ex, pid, fds[0], std::move(log), std::move(log_name)));
  asio::co_spawn(ex, child->read_output(fds[0]), asio::detached);
  asio::co_spawn(ex, child->reap(), asio::detached);
  return child;
}

ChildProcess::ChildProcess(asio::any_io_executor ex, int pid, int, std::shared_ptr<LogTail> log,
                           std::string log_name)
    : ex_(std::move(ex)), pid_(pid), log_(std::move(log)), log_name_(std::move(log_name)) {}

ChildProcess::~ChildProcess() {
  // Never leave a child running when its owner is gone (the reaper keeps us alive until the
  // child was reaped, so this only matters if the executor stopped first).
  if (!exited_.load()) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
  }
}

asio::awaitable<void> ChildProcess::read_output(int fd) {
  auto self = shared_from_this();
  asio::posix::stream_descriptor pipe(ex_, fd);
  std::string buf(4096, '\0');
  std::string partial;
  constexpr size_t kMaxLine = 4096;  // longer lines are cut (a progress bar is one long "line")
  for (;;) {
    auto got =
        co_await pipe.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    if (std::get<0>(got)) break;
    size_t n = std::get<1>(got);
    partial.append(buf, 0, n);
    size_t start = 0;
    for (size_t nl; (nl = partial.find_first_of("\r\n", start)) != std::string::npos;
         start = nl + 1) {
      if (nl > start) {
        std::string line = partial.substr(start, std::min(nl - start, kMaxLine));
        spdlog::debug("[{}] {}", log_name_, line);
        log_->add(std::move(line));
      }
    }
    partial.erase(0, start);
    if (partial.size() > kMaxLine) {
      log_->add(partial.substr(0, kMaxLine));
      partial.clear();
    }
  }
  if (!partial.empty()) log_->add(std::move(partial));
  output_closed_ = true;
}

asio::awaitable<void> ChildProcess::reap() {
  auto self = shared_from_this();
  asio::steady_timer timer(ex_);
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
      status_ = status;
      // Whatever the child left behind in its group (a wrapper script's children) goes too.
      ::kill(-pid_, SIGKILL);
      // Its last words may still sit in the pipe: read them before anyone asks why it ended
      // (bounded: a process outside the group may hold the pipe open).
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
      while (!output_closed_ && std::chrono::steady_clock::now() < deadline) {
        timer.expires_after(std::chrono::milliseconds(10));
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      }
      exited_ = true;
      co_return;
    }
    timer.expires_after(std::chrono::milliseconds(50));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

std::string ChildProcess::exit_description() const {
  if (!exited_) return {};
  int s = status_;
  if (WIFEXITED(s)) return fmt::format("exited with code {}", WEXITSTATUS(s));
  if (WIFSIGNALED(s)) return fmt::format("killed by signal {}", WTERMSIG(s));
  return "ended";
}

asio::awaitable<void> ChildProcess::wait() {
  asio::steady_timer timer(ex_);
  while (!exited_) {
    timer.expires_after(std::chrono::milliseconds(50));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

void ChildProcess::signal(int sig) {
  if (exited_) return;
  ::kill(-pid_, sig);
}

asio::awaitable<void> ChildProcess::terminate(std::chrono::milliseconds grace) {
  auto self = shared_from_this();
  signal(SIGTERM);
  asio::steady_timer timer(ex_);
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (!exited_ && std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(50));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  if (!exited_) {
    spdlog::warn("[{}] pid {} still running {} ms after SIGTERM: SIGKILL", log_name_, pid_,
                 grace.count());
    signal(SIGKILL);
  }
  co_await wait();
}

}  // namespace smmf::engines::process
