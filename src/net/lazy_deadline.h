#pragma once
/// A deadline that costs nothing to move: one steady_timer per owner (a connection), re-armed
/// only when a deadline comes earlier than the time it is armed for, or when it fires before
/// the current deadline (then it re-arms for that one). Setting a new deadline per operation
/// (read a request, write a response, wait for the next one) is a store and a comparison, not
/// a timer set and cancelled per operation as beast::tcp_stream's expiry does (each of those
/// also runs a cancelled handler through the executor): on a busy keep-alive connection the
/// timer fires about once per timeout period. Expiry is exact: `on_expire` runs at the
/// deadline, not on a coarse tick.
/// Threading: strand-confined; every call and `on_expire` run on the executor given (the
/// owner's strand). The destructor cancels; a handler already queued then does nothing.
#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <functional>
#include <memory>

namespace smmf::net {

class LazyDeadline {
 public:
  using Clock = std::chrono::steady_clock;

  LazyDeadline(boost::asio::any_io_executor ex, std::function<void()> on_expire);
  ~LazyDeadline();
  LazyDeadline(const LazyDeadline&) = delete;
  LazyDeadline& operator=(const LazyDeadline&) = delete;

  /// `on_expire` runs once when `t` passes, unless another deadline or `clear()` comes first.
  void expires_at(Clock::time_point t);
  void expires_after(Clock::duration d) { expires_at(Clock::now() + d); }
  /// No deadline (the timer, if armed, fires later and finds nothing to do).
  void clear();
  /// No deadline and no pending wait: an armed timer is work that keeps io_context::run() from
  /// returning, so an owner that goes idle for long (a pooled client connection) calls this.
  void cancel();
  Clock::time_point deadline() const;

 private:
  struct State;
  static void arm(const std::shared_ptr<State>& s, Clock::time_point t);
  std::shared_ptr<State> s_;
};

}  // namespace smmf::net
