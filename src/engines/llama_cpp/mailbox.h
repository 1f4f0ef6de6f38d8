#pragma once
/// Mailbox<T>: hands values from a producer thread (the inference thread) to one awaiting
/// coroutine without ever blocking the producer.
///
/// Threading: push() from any thread (takes a short mutex, never waits on the consumer);
/// wait() from one coroutine at a time. A push wakes a parked consumer with one post to its
/// executor; pushes while the consumer is busy are collected by its next wait().
/// Lifetime: share it by shared_ptr between producer and consumer. The Mailbox holds nothing
/// bound to an io_context: the consumer's wake-up channel lives in its own coroutine frame and
/// is detached before that frame goes away, so the producer may outlive the io_context.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <deque>
#include <mutex>
#include <utility>
#include <vector>

namespace smmf::engines::llama_cpp {

namespace asio = boost::asio;

template <class T>
class Mailbox {
 public:
  void push(T value) {
    std::lock_guard lock(mutex_);
    items_.push_back(std::move(value));
    ring();
  }

  /// Moves all of `values` in under one lock and wakes the consumer once; leaves it empty.
  void push_all(std::vector<T>& values) {
    if (values.empty()) return;
    std::lock_guard lock(mutex_);
    for (auto& v : values) items_.push_back(std::move(v));
    values.clear();
    ring();
  }

  /// Waits until at least one value is there, then moves every value into `out` (appended).
  asio::awaitable<void> wait(std::vector<T>& out) {
    if (take(out)) co_return;
    Bell bell(co_await asio::this_coro::executor, 1);
    Attach attach(*this, bell);
    if (!attach.attached) {  // a value arrived meanwhile
      take(out);
      co_return;
    }
    co_await bell.async_receive(asio::as_tuple(asio::use_awaitable));
    take(out);
  }

 private:
  using Bell = asio::experimental::concurrent_channel<void(boost::system::error_code)>;

  // Registers the consumer's bell while it waits; unregisters however the wait ends (including
  // the coroutine frame being destroyed).
  struct Attach {
    Attach(Mailbox& m, Bell& b) : box(m) {
      std::lock_guard lock(box.mutex_);
      attached = box.items_.empty();
      if (attached) box.bell_ = &b;
    }
    ~Attach() {
      std::lock_guard lock(box.mutex_);
      box.bell_ = nullptr;
    }
    Mailbox& box;
    bool attached = false;
  };

  bool take(std::vector<T>& out) {
    std::lock_guard lock(mutex_);
    if (items_.empty()) return false;
    for (auto& v : items_) out.push_back(std::move(v));
    items_.clear();
    return true;
  }

  // Under mutex_. One post per wait: the bell is unregistered once rung.
  void ring() {
    if (bell_ == nullptr) return;
    bell_->try_send(boost::system::error_code{});
    bell_ = nullptr;
  }

  std::mutex mutex_;
  std::deque<T> items_;
  Bell* bell_ = nullptr;
};

}  // namespace smmf::engines::llama_cpp
