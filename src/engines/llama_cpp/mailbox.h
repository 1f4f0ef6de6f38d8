#pragma once
/// Mailbox<T>: hands values from a producer thread (the inference thread) to one awaiting
/// coroutine without ever blocking the producer.
///
/// Threading: push() from any thread (takes a short mutex, never waits on the consumer);
/// wait() from one coroutine at a time. A push wakes a parked consumer with one post to its
/// executor; pushes while the consumer is busy are coalesced into the next wait().
/// Lifetime: share it by shared_ptr between producer and consumer; the executor must outlive
/// any wait() in progress.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
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
  explicit Mailbox(asio::any_io_executor ex) : bell_(std::move(ex), 1) {}

  void push(T value) {
    {
      std::lock_guard lock(mutex_);
      items_.push_back(std::move(value));
    }
    ring();
  }

  /// Moves all of `values` in under one lock and rings once; leaves `values` empty.
  void push_all(std::vector<T>& values) {
    if (values.empty()) return;
    {
      std::lock_guard lock(mutex_);
      for (auto& v : values) items_.push_back(std::move(v));
    }
    values.clear();
    ring();
  }

  /// Waits until at least one value is there, then moves every value into `out` (appended).
  asio::awaitable<void> wait(std::vector<T>& out) {
    for (;;) {
      {
        std::lock_guard lock(mutex_);
        if (!items_.empty()) {
          for (auto& v : items_) out.push_back(std::move(v));
          items_.clear();
          co_return;
        }
      }
      // A ring between the check above and this wait is buffered in the channel (capacity 1),
      // so it is never lost; a stale ring only costs one extra loop.
      co_await bell_.async_receive(asio::as_tuple(asio::use_awaitable));
    }
  }

 private:
  // Fails harmlessly when a ring is already buffered: the consumer will drain everything.
  void ring() { bell_.try_send(boost::system::error_code{}); }

  std::mutex mutex_;
  std::deque<T> items_;
  asio::experimental::concurrent_channel<void(boost::system::error_code)> bell_;
};

}  // namespace smmf::engines::llama_cpp
