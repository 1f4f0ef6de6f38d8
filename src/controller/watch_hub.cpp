#include "controller/watch_hub.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <vector>

namespace smmf::controller {

asio::awaitable<void> WatchHub::Waiter::wait_until(asio::steady_timer::time_point deadline) {
  if (!woken_) {
    timer_.expires_at(deadline);
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  woken_ = false;
}

void WatchHub::Waiter::wake() {
  asio::post(timer_.get_executor(), [self = shared_from_this()] { self->wake_here(); });
}

void WatchHub::Waiter::wake_here() {
  woken_ = true;
  timer_.cancel();
}

std::shared_ptr<WatchHub::Waiter> WatchHub::add(asio::any_io_executor ex) {
  auto w = std::make_shared<Waiter>(std::move(ex));
  std::lock_guard lock(mu_);
  waiters_.insert(w);
  return w;
}

void WatchHub::remove(const std::shared_ptr<Waiter>& w) {
  std::lock_guard lock(mu_);
  waiters_.erase(w);
}

void WatchHub::notify_all() {
  std::vector<std::shared_ptr<Waiter>> ws;
  {
    std::lock_guard lock(mu_);
    ws.assign(waiters_.begin(), waiters_.end());
  }
  for (auto& w : ws) w->wake();
}

void WatchHub::close() {
  closed_ = true;
  notify_all();
}

size_t WatchHub::size() const {
  std::lock_guard lock(mu_);
  return waiters_.size();
}

}  // namespace smmf::controller
