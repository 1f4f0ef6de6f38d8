#pragma once
/// Recent time per request of one model's loop, to tell a refused client when to retry
/// (HTTP Retry-After). Not thread-safe: the owning loop calls it under its own lock.
#include <algorithm>
#include <cmath>
#include <cstddef>

namespace smmf::engines::llama_cpp {

class ServiceTime {
 public:
  static constexpr int kMaxRetryAfter = 600;  ///< seconds; beyond that the estimate is noise

  /// One request (or step) took `seconds`: an exponential moving average (weight 1/5).
  void record(double seconds) {
    mean_ = has_ ? mean_ + 0.2 * (seconds - mean_) : seconds;
    has_ = true;
  }
  double mean() const { return mean_; }

  /// Seconds until `ahead` waiting requests served `servers` at a time are through: at least 1,
  /// at most kMaxRetryAfter; 1 before anything was measured.
  int retry_after(size_t ahead, int servers) const {
    const double s = mean_ * static_cast<double>(ahead) / std::max(servers, 1);
    if (!std::isfinite(s)) return kMaxRetryAfter;
    // Clamped as a double: converting a double beyond INT_MAX to int is undefined (x86 gives
    // INT_MIN, which the clamp turned into 1 s; seen under the ASan build's -O1).
    return static_cast<int>(std::clamp(std::ceil(s), 1.0, static_cast<double>(kMaxRetryAfter)));
  }

 private:
  double mean_ = 0.0;
  bool has_ = false;
};

}  // namespace smmf::engines::llama_cpp
