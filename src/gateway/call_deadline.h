#pragma once
/// Enforces a call's timeouts (CallTimeouts): when one expires, the call's CancelToken is
/// cancelled (engines stop at their next decode step or upstream read) and expired() names
/// the timeout, which the route answers as 504 `timeout` (or an SSE error event mid-stream).
/// Threading: construct, first_token() and destroy on the call's strand/executor `ex`; the timer
/// handlers run there too. Destroying it cancels the timers.
#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <optional>

#include "common/error.h"
#include "engines/engine.h"
#include "gateway/model_groups.h"

namespace smmf::gateway {

class CallDeadline {
 public:
  CallDeadline(boost::asio::any_io_executor ex, CallTimeouts timeouts,
               std::shared_ptr<engines::CancelToken> token, bool streaming);
  ~CallDeadline();
  CallDeadline(const CallDeadline&) = delete;
  CallDeadline& operator=(const CallDeadline&) = delete;

  /// The first token reached the client: the first-token timeout no longer applies.
  void first_token();
  /// DeadlineExceeded naming the timeout that fired, if one did.
  std::optional<Error> expired() const;

 private:
  struct State;
  std::shared_ptr<State> state_;  ///< null when no timeout applies
};

}  // namespace smmf::gateway
