#pragma once
/// What the engine's coroutines and the inference thread exchange for one generation.
/// A GenCall is one chat/complete call (shared by its coroutine and the inference thread);
/// a GenJob is one choice of it, generated in one slot; GenEvents flow back through the
/// call's mailbox.
#include <llama.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "engines/engine.h"
#include "engines/llama_cpp/mailbox.h"
#include "protocol/openai_types.h"

namespace smmf::engines::llama_cpp {

/// Resolved sampling settings of one choice (unset request fields take llama-server's defaults).
struct SamplingConfig {
  float temperature = 0.8f;  ///< <= 0: greedy
  int top_k = 40;            ///< <= 0: off
  float top_p = 0.95f;       ///< >= 1: off
  float min_p = 0.05f;       ///< <= 0: off
  float typical_p = 1.0f;    ///< >= 1: off
  float repeat_penalty = 1.0f;
  float frequency_penalty = 0.0f;
  float presence_penalty = 0.0f;
  int penalty_last_n = 64;
  uint32_t seed = LLAMA_DEFAULT_SEED;  ///< LLAMA_DEFAULT_SEED: random
  std::vector<llama_logit_bias> logit_bias;
  std::string grammar;  ///< GBNF, root rule "root"; empty = unconstrained

  bool has_penalties() const {
    return repeat_penalty != 1.0f || frequency_penalty != 0.0f || presence_penalty != 0.0f;
  }
};

/// One message from the inference thread about one choice. The last one for a choice has
/// `finish` or `error` set and carries its token counts.
struct GenEvent {
  int index = 0;
  std::string text;
  std::optional<protocol::FinishReason> finish;
  std::optional<Error> error;
  int completion_tokens = 0;
  int cached_tokens = 0;
};

/// One chat/complete call. Cancelled when the caller's token fires or its coroutine goes away.
struct GenCall {
  explicit GenCall(std::shared_ptr<CancelToken> cancel_token) : token(std::move(cancel_token)) {}

  bool cancelled() const {
    return abandoned.load(std::memory_order_relaxed) || (token && token->cancelled());
  }

  Mailbox<GenEvent> events;
  std::shared_ptr<CancelToken> token;
  std::atomic<bool> abandoned{false};
  /// Stamped once by the inference thread (steady clock, ns): first job admitted, first token.
  std::atomic<int64_t> admitted_ns{0};
  std::atomic<int64_t> first_token_ns{0};
  std::vector<GenEvent> staged;  ///< inference thread only: events of the current step
};

/// Steady-clock nanoseconds, for GenCall's stamps.
inline int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// Sets `stamp` to now unless already set.
inline void stamp_once(std::atomic<int64_t>& stamp) {
  int64_t expected = 0;
  stamp.compare_exchange_strong(expected, steady_ns(), std::memory_order_relaxed);
}

/// One choice to generate.
struct GenJob {
  std::shared_ptr<GenCall> call;
  std::shared_ptr<const std::vector<llama_token>> prompt;  ///< shared by the n choices
  int index = 0;
  SamplingConfig sampling;
  int max_tokens = -1;  ///< -1: until the sequence's context is full
  std::vector<std::string> stop;
  int priority = 0;  ///< queue order: higher first
};

}  // namespace smmf::engines::llama_cpp
