#include "net/lazy_deadline.h"

#include <boost/asio/steady_timer.hpp>

#include <atomic>

namespace smmf::net {

struct LazyDeadline::State {
  State(boost::asio::any_io_executor ex, std::function<void()> f)
      : timer(std::move(ex)), on_expire(std::move(f)) {}
  boost::asio::steady_timer timer;
  std::function<void()> on_expire;
  Clock::time_point deadline = Clock::time_point::max();
  Clock::time_point armed = Clock::time_point::max();  // what the pending wait is for
  std::atomic<bool> alive{true};  // read by a queued handler, maybe on another thread
};

LazyDeadline::LazyDeadline(boost::asio::any_io_executor ex, std::function<void()> on_expire)
    : s_(std::make_shared<State>(std::move(ex), std::move(on_expire))) {}

LazyDeadline::~LazyDeadline() {
  s_->alive = false;
  s_->timer.cancel();
}

void LazyDeadline::expires_at(Clock::time_point t) {
  s_->deadline = t;
  if (t < s_->armed) arm(s_, t);
}

void LazyDeadline::clear() {
  s_->deadline = Clock::time_point::max();
}

void LazyDeadline::cancel() {
  s_->deadline = Clock::time_point::max();
  if (s_->armed == Clock::time_point::max()) return;
  s_->armed = Clock::time_point::max();
  s_->timer.cancel();
}

LazyDeadline::Clock::time_point LazyDeadline::deadline() const {
  return s_->deadline;
}

void LazyDeadline::arm(const std::shared_ptr<State>& s, Clock::time_point t) {
  s->armed = t;
  s->timer.expires_at(t);  // a pending wait ends with operation_aborted
  s->timer.async_wait([s, t](boost::system::error_code ec) {
    // Superseded (re-armed earlier: its handler may have completed already), or the owner is
    // gone.
    if (ec || !s->alive || s->armed != t) return;
    s->armed = Clock::time_point::max();
    if (s->deadline == Clock::time_point::max()) return;
    if (s->deadline <= Clock::now()) {
      s->deadline = Clock::time_point::max();
      s->on_expire();
      return;
    }
    arm(s, s->deadline);
  });
}

}  // namespace smmf::net
