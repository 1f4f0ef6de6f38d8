#include "gateway/rate_limiter.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace smmf::gateway {
namespace {
std::chrono::seconds whole_seconds(LimitClock::duration d) {
  double s = std::chrono::duration<double>(d).count();
  return std::chrono::seconds(std::max<int64_t>(1, static_cast<int64_t>(std::ceil(s))));
}
}  // namespace

TokenBucket::TokenBucket(double per_minute, LimitClock::time_point now)
    : capacity_(per_minute), per_second_(per_minute / 60.0), level_(per_minute), last_(now) {}

void TokenBucket::refill(LimitClock::time_point now) {
  if (now <= last_) return;
  double dt = std::chrono::duration<double>(now - last_).count();
  level_ = std::min(capacity_, level_ + dt * per_second_);
  last_ = now;
}

double TokenBucket::level(LimitClock::time_point now) {
  refill(now);
  return level_;
}

bool TokenBucket::try_take(double n, LimitClock::time_point now) {
  refill(now);
  if (level_ < n) return false;
  level_ -= n;
  return true;
}

void TokenBucket::charge(double n, LimitClock::time_point now) {
  refill(now);
  level_ -= n;
}

LimitClock::duration TokenBucket::wait_for(double n, LimitClock::time_point now) {
  refill(now);
  if (level_ >= n || per_second_ <= 0) return LimitClock::duration::zero();
  return std::chrono::duration_cast<LimitClock::duration>(
      std::chrono::duration<double>((n - level_) / per_second_));
}

KeyLimiter::KeyLimiter(KeyLimits limits, LimitClock::time_point now) : limits_(limits) {
  if (limits_.requests_per_minute > 0) requests_.emplace(limits_.requests_per_minute, now);
  if (limits_.tokens_per_minute > 0)
    tokens_.emplace(static_cast<double>(limits_.tokens_per_minute), now);
}

std::optional<KeyLimiter::Refusal> KeyLimiter::admit(LimitClock::time_point now) {
  std::lock_guard lock(mu_);
  if (limits_.max_concurrent > 0 && in_flight_ >= limits_.max_concurrent)
    // Nothing says when a running request ends; a second is a fair first retry.
    return Refusal{fmt::format("Rate limit reached: {} requests in flight (limit {})", in_flight_,
                               limits_.max_concurrent),
                   std::chrono::seconds(1)};
  // A request is let in while any token is left; its real cost is charged when it ends.
  if (tokens_ && tokens_->level(now) < 1.0)
    return Refusal{fmt::format("Rate limit reached for tokens per minute (limit {})",
                               limits_.tokens_per_minute),
                   whole_seconds(tokens_->wait_for(1.0, now))};
  if (requests_ && !requests_->try_take(1.0, now))
    return Refusal{fmt::format("Rate limit reached for requests per minute (limit {})",
                               limits_.requests_per_minute),
                   whole_seconds(requests_->wait_for(1.0, now))};
  ++in_flight_;
  return std::nullopt;
}

void KeyLimiter::release() {
  std::lock_guard lock(mu_);
  if (in_flight_ > 0) --in_flight_;
}

void KeyLimiter::record_tokens(uint64_t tokens, LimitClock::time_point now) {
  std::lock_guard lock(mu_);
  if (tokens_) tokens_->charge(static_cast<double>(tokens), now);
}

uint32_t KeyLimiter::in_flight() const {
  std::lock_guard lock(mu_);
  return in_flight_;
}

}  // namespace smmf::gateway
