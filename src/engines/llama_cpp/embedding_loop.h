#pragma once
/// The embedding loop of one llama_context created with embeddings = true and pooling.
/// Inputs of all waiting calls are packed into one llama_decode as separate sequences (up to
/// n_seq_max sequences and batch_size tokens per step) and each sequence's pooled vector is
/// returned raw (the caller normalises).
///
/// Threading: run() is the body of the one inference thread that owns the context; submit()
/// and stop() are thread-safe and never wait on it. Results go out through each call's Mailbox.
/// Errors: a failed decode or an exception fails the inputs of that step with Error::internal.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "common/error.h"
#include "engines/engine.h"
#include "engines/llama_cpp/llama_handles.h"
#include "engines/llama_cpp/mailbox.h"
#include "engines/llama_cpp/service_time.h"

namespace smmf::engines::llama_cpp {

struct EmbedEvent {
  int index = 0;
  std::vector<float> embedding;  ///< pooled, not normalised
  std::optional<Error> error;
};

/// One embed call, shared by its coroutine and the inference thread.
struct EmbedCall {
  explicit EmbedCall(std::shared_ptr<CancelToken> cancel_token) : token(std::move(cancel_token)) {}
  bool cancelled() const {
    return abandoned.load(std::memory_order_relaxed) || (token && token->cancelled());
  }

  Mailbox<EmbedEvent> events;
  std::shared_ptr<CancelToken> token;
  std::atomic<bool> abandoned{false};
};

class EmbeddingLoop {
 public:
  /// `max_queue`: calls allowed to wait; more give kResourceExhausted (with retry_after_s).
  EmbeddingLoop(ContextPtr ctx, int max_queue);
  EmbeddingLoop(const EmbeddingLoop&) = delete;
  EmbeddingLoop& operator=(const EmbeddingLoop&) = delete;

  /// Longest input, in tokens.
  int max_input_tokens() const { return max_input_; }
  /// Floats per pooled output: the embedding size, or the number of classifier outputs under
  /// rank pooling.
  int embedding_size() const { return n_embd_; }

  /// Queues every input of one call (inputs[i] gets index i); each is non-empty and at most
  /// max_input_tokens() long. Calls are served by priority (higher first), FIFO within one.
  Status submit(std::shared_ptr<EmbedCall> call, std::vector<std::vector<llama_token>> inputs,
                int priority);
  /// Queued calls fail with kUnavailable; run() returns after the current step.
  void stop();
  void run();

 private:
  struct Pending {
    std::shared_ptr<EmbedCall> call;
    std::vector<std::vector<llama_token>> inputs;
    size_t next = 0;  ///< first input not yet taken
    int priority = 0;
  };
  struct Taken {
    std::shared_ptr<EmbedCall> call;
    int index = 0;
    std::vector<llama_token> tokens;
  };

  bool take(std::vector<Taken>& taken);
  void encode(std::vector<Taken>& taken);

  ContextPtr ctx_;
  llama_memory_t mem_ = nullptr;
  int n_embd_ = 0;
  int n_batch_ = 0;
  int n_seq_max_ = 0;
  int max_input_ = 0;
  int max_queue_ = 0;
  Batch batch_;

  std::mutex mutex_;  ///< guards the members below
  std::condition_variable wake_;
  std::deque<Pending> queue_;
  ServiceTime step_time_;  ///< per decode step
  bool stopping_ = false;
};

}  // namespace smmf::engines::llama_cpp
