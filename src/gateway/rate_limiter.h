#pragma once
/// Per-key limits: requests per minute, tokens per minute and requests in flight.
///
/// Requests and tokens per minute are token buckets that hold one minute's allowance and refill
/// it continuously (a key may burst its whole minute, then runs at the steady rate). Tokens are
/// counted after a call from its usage (prompt + completion), so the bucket may go negative: a
/// key is refused while its token bucket is empty, until it refills. A refused request costs
/// nothing. Every refusal says how long to wait (Retry-After, whole seconds, at least 1).
///
/// Time is passed in (`now`), so tests drive it. Thread-safe: one mutex per key.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

namespace smmf::gateway {

using LimitClock = std::chrono::steady_clock;

/// Holds up to `per_minute`, refilled at `per_minute` per minute. Not thread-safe.
class TokenBucket {
 public:
  TokenBucket(double per_minute, LimitClock::time_point now);
  double level(LimitClock::time_point now);
  /// Takes `n` if the level is at least `n`.
  bool try_take(double n, LimitClock::time_point now);
  /// Takes `n` unconditionally (the level may go negative).
  void charge(double n, LimitClock::time_point now);
  /// How long until the level reaches `n` (zero if it already has).
  LimitClock::duration wait_for(double n, LimitClock::time_point now);

 private:
  void refill(LimitClock::time_point now);
  double capacity_;
  double per_second_;
  double level_;
  LimitClock::time_point last_;
};

struct KeyLimits {
  uint32_t requests_per_minute = 0;  ///< 0 = unlimited
  uint64_t tokens_per_minute = 0;    ///< 0 = unlimited
  uint32_t max_concurrent = 0;       ///< 0 = unlimited
};

class KeyLimiter {
 public:
  struct Refusal {
    std::string message;
    std::chrono::seconds retry_after;
  };

  KeyLimiter(KeyLimits limits, LimitClock::time_point now);
  /// Admits one request at `now`, taking a concurrency slot the caller gives back with
  /// release(); or says why not (nothing is taken then).
  std::optional<Refusal> admit(LimitClock::time_point now);
  void release();
  /// Counts the tokens a finished call used.
  void record_tokens(uint64_t tokens, LimitClock::time_point now);
  uint32_t in_flight() const;
  const KeyLimits& limits() const { return limits_; }

 private:
  KeyLimits limits_;
  mutable std::mutex mu_;
  std::optional<TokenBucket> requests_;
  std::optional<TokenBucket> tokens_;
  uint32_t in_flight_ = 0;
};

}  // namespace smmf::gateway
