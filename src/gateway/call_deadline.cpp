#include "gateway/call_deadline.h"

#include <boost/asio/steady_timer.hpp>

#include <fmt/format.h>

namespace smmf::gateway {
namespace asio = boost::asio;

struct CallDeadline::State {
  State(asio::any_io_executor ex, CallTimeouts t, std::shared_ptr<engines::CancelToken> tok)
      : timeouts(t), token(std::move(tok)), whole(ex), first(std::move(ex)) {}
  CallTimeouts timeouts;
  std::shared_ptr<engines::CancelToken> token;
  asio::steady_timer whole;
  asio::steady_timer first;
  std::optional<Error> fired;
  bool first_seen = false;
};

CallDeadline::CallDeadline(asio::any_io_executor ex, CallTimeouts timeouts,
                           std::shared_ptr<engines::CancelToken> token, bool streaming) {
  const bool whole = timeouts.request.count() > 0;
  const bool first = streaming && timeouts.first_token.count() > 0;
  if (!whole && !first) return;  // no timeout: no timers (the usual call)
  state_ = std::make_shared<State>(std::move(ex), timeouts, std::move(token));
  auto arm = [this](asio::steady_timer& timer, std::chrono::milliseconds after, std::string what,
                    bool is_first) {
    timer.expires_after(after);
    timer.async_wait([s = state_, after, what, is_first](boost::system::error_code ec) {
      if (ec || s->fired || (is_first && s->first_seen)) return;
      s->fired = Error{ErrorCode::kDeadlineExceeded,
                       fmt::format("the call exceeded its {} of {} ms", what, after.count()),
                       {}};
      s->token->cancel();
    });
  };
  if (whole) arm(state_->whole, timeouts.request, "request_timeout_ms", false);
  if (first) arm(state_->first, timeouts.first_token, "first_token_timeout_ms", true);
}

CallDeadline::~CallDeadline() {
  if (!state_) return;
  state_->whole.cancel();
  state_->first.cancel();
}

void CallDeadline::first_token() {
  if (!state_ || state_->first_seen) return;
  state_->first_seen = true;
  state_->first.cancel();
}

std::optional<Error> CallDeadline::expired() const {
  if (!state_) return std::nullopt;
  return state_->fired;
}

}  // namespace smmf::gateway
