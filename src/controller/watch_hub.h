#pragma once
/// Parks long-poll watchers without blocking a thread and wakes them when the registry changes.
///
/// A watcher is a coroutine holding a Waiter: it registers (`add`), re-checks its condition,
/// then `wait_until` a deadline; `notify_all` (any thread, e.g. the registry's subscribe
/// callback) posts a wake-up to every waiter's executor. Because the waiter is registered before
/// the condition is checked and wakes are remembered (`woken`), no change is lost between the
/// check and the wait.
/// Threading: `add`/`remove`/`notify_all`/`close` are thread-safe. A Waiter is used by one
/// coroutine, whose executor must be a strand (the HTTP server gives each connection one): the
/// posted wake runs only while that coroutine is suspended.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <set>

namespace smmf::controller {
namespace asio = boost::asio;

class WatchHub {
 public:
  class Waiter : public std::enable_shared_from_this<Waiter> {
   public:
    explicit Waiter(asio::any_io_executor ex) : timer_(std::move(ex)) {}
    /// Returns at the deadline, or early when woken (a wake before the call counts).
    asio::awaitable<void> wait_until(asio::steady_timer::time_point deadline);
    /// Thread-safe: posts the wake to the waiter's executor.
    void wake();
    /// Wakes from the waiter's own executor (e.g. the client-disconnect callback).
    void wake_here();

   private:
    asio::steady_timer timer_;
    bool woken_ = false;  // touched only on the waiter's executor
  };

  std::shared_ptr<Waiter> add(asio::any_io_executor ex);
  void remove(const std::shared_ptr<Waiter>& w);
  void notify_all();
  /// Wakes everyone and makes `closed()` true for good (server shutdown).
  void close();
  bool closed() const { return closed_.load(); }
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::set<std::shared_ptr<Waiter>> waiters_;
  std::atomic<bool> closed_{false};
};

}  // namespace smmf::controller
