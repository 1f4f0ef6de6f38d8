#pragma once
/// A call's cancellation: set once (the client went away, a deadline passed) and seen by
/// whoever works on the call. Engines poll cancelled() between steps; code that waits on I/O
/// subscribes with on_cancel() to be woken at once (e.g. the HTTP client closes its upstream
/// connection).
///
/// Threading: every method is thread-safe. A callback runs on the thread that calls cancel()
/// (or inside on_cancel() when the token is already cancelled), under the token's lock: it must
/// be short, must not block and must not use the token; typically it posts work to an executor.
/// Lifetime: a callback never runs once its Subscription is gone; the token must outlive its
/// subscriptions.
#include <boost/container/small_vector.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <utility>

namespace smmf {

class CancelToken {
 public:
  /// Keeps a callback registered; destroying (or reset()) deregisters it.
  class Subscription {
   public:
    Subscription() = default;
    Subscription(Subscription&& o) noexcept
        : token_(std::exchange(o.token_, nullptr)), id_(o.id_) {}
    Subscription& operator=(Subscription&& o) noexcept;
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;
    ~Subscription() { reset(); }
    void reset();

   private:
    friend class CancelToken;
    Subscription(CancelToken* token, uint64_t id) : token_(token), id_(id) {}
    CancelToken* token_ = nullptr;
    uint64_t id_ = 0;
  };

  /// Sets the flag and runs each subscribed callback once. Later calls do nothing.
  void cancel();
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }
  /// Runs `cb` when the token is cancelled (at once if it already is).
  [[nodiscard]] Subscription on_cancel(std::function<void()> cb);

 private:
  void remove(uint64_t id);

  std::atomic<bool> cancelled_{false};
  std::mutex mu_;
  uint64_t next_id_ = 1;
  // A call has one or two subscribers at a time (the upstream request, a stream): inline.
  boost::container::small_vector<std::pair<uint64_t, std::function<void()>>, 2> callbacks_;
};

}  // namespace smmf
