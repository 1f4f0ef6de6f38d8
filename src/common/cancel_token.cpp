#include "common/cancel_token.h"

#include <algorithm>

namespace smmf {

CancelToken::Subscription& CancelToken::Subscription::operator=(Subscription&& o) noexcept {
  if (this != &o) {
    reset();
    token_ = std::exchange(o.token_, nullptr);
    id_ = o.id_;
  }
  return *this;
}

void CancelToken::Subscription::reset() {
  if (token_) token_->remove(id_);
  token_ = nullptr;
}

void CancelToken::cancel() {
  std::lock_guard lock(mu_);
  if (cancelled_.exchange(true, std::memory_order_acq_rel)) return;
  // Run under the lock: once a Subscription is destroyed, its callback is not running.
  for (auto& [id, cb] : callbacks_) cb();
  callbacks_.clear();
}

CancelToken::Subscription CancelToken::on_cancel(std::function<void()> cb) {
  std::lock_guard lock(mu_);
  if (cancelled_.load(std::memory_order_acquire)) {
    cb();
    return {};
  }
  uint64_t id = next_id_++;
  callbacks_.emplace_back(id, std::move(cb));
  return Subscription(this, id);
}

void CancelToken::remove(uint64_t id) {
  std::lock_guard lock(mu_);
  callbacks_.erase(std::remove_if(callbacks_.begin(), callbacks_.end(),
                                  [id](const auto& p) { return p.first == id; }),
                   callbacks_.end());
}

}  // namespace smmf
