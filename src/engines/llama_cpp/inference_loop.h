#pragma once
/// The continuous-batching generation loop of one llama_context, in the spirit of llama-server.
///
/// `parallel` slots (sequence ids). Waiting jobs are ordered by priority (higher first, first come
/// first served within a priority); the first is admitted into a free slot at the next step:
/// one next to the running slots (llama.cpp evaluates a batch over per-sequence KV streams in one
/// graph per run of consecutive sequence ids), then the one holding the longest prefix of its
/// prompt, then the least recently used. Only the uncached rest of a prompt is evaluated; a long
/// prefix cached by another slot (a conversation, a system prompt) is copied over. Each
/// step builds one batch: one sampled token per generating slot, then prompt tokens of slots still
/// reading their prompt, up to batch_size (first admitted first), so long prompts interleave with
/// decoding; the batch lists its tokens by sequence id, as llama.cpp's micro-batching wants. After
/// the decode every slot that has logits samples, detokenizes and checks EOG / stop strings /
/// max_tokens / a full context.
///
/// Threading: run() is the body of the one inference thread, which alone touches the context.
/// submit() and stop() are thread-safe and never wait on that thread. Events go out
/// through each call's Mailbox, so the loop never blocks on a client.
/// Errors: a failed decode or an exception fails the jobs involved with Error::internal; the
/// loop keeps serving. Cancelled jobs (queued or running) are dropped within one step.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <span>
#include <vector>

#include "common/error.h"
#include "engines/llama_cpp/generation.h"
#include "engines/llama_cpp/llama_handles.h"
#include "engines/llama_cpp/sampler.h"
#include "engines/llama_cpp/service_time.h"
#include "engines/llama_cpp/text_stream.h"
#include "engines/llama_cpp/tokenizer.h"

namespace smmf::engines::llama_cpp {

struct LoopOptions {
  int max_queue = 256;  ///< jobs allowed to wait beyond the free slots
};

class InferenceLoop {
 public:
  /// `ctx` was created with n_seq_max = number of slots; `tokenizer` outlives the loop.
  InferenceLoop(ContextPtr ctx, const Tokenizer& tokenizer, LoopOptions options);
  ~InferenceLoop();
  InferenceLoop(const InferenceLoop&) = delete;
  InferenceLoop& operator=(const InferenceLoop&) = delete;

  /// Tokens of context per sequence (a prompt must be shorter).
  int context_per_sequence() const { return n_ctx_seq_; }
  int slots() const { return static_cast<int>(slots_.size()); }

  /// Queues all jobs of one call (one priority), or none: kResourceExhausted with a
  /// retry_after_s estimate when the queue would overflow, kUnavailable once stop() was called.
  Status submit(std::vector<GenJob> jobs);
  /// Stops admitting: queued jobs fail with kUnavailable, running ones finish, then run()
  /// returns and frees the context.
  void stop();
  /// Runs until stop() and the last running job ended. Call on the inference thread.
  void run();

 private:
  enum class Phase { kIdle, kPrompt, kGenerate };

  struct Slot {
    int id = 0;
    std::vector<llama_token> cache;  ///< tokens whose KV this sequence holds (prefix cache)
    Phase phase = Phase::kIdle;
    GenJob job;
    Sampler sampler;
    TextStream text;
    llama_token next = 0;   ///< sampled, evaluated at the next step
    int output_row = -1;    ///< row of this slot's logits in the current batch
    bool in_batch = false;  ///< this slot has tokens in the current batch
    int n_take = 0;         ///< tokens this slot puts into the batch being built
    int n_cached = 0;
    int n_generated = 0;
    uint64_t admitted_at = 0;  ///< admission order: prompts are read first come first served
    uint64_t last_used = 0;    ///< for LRU among slots without a shared prefix
    std::chrono::steady_clock::time_point started;  ///< for the service-time estimate
  };

  bool admit();  ///< false when stopping and nothing runs any more
  /// The idle slot caching the longest prefix (at least kMinPrefixCopy tokens) of `prompt`, or -1.
  int home_slot(const std::vector<llama_token>& prompt) const;
  /// Where a job goes; `reserved` slots are kept for jobs admitted in the same step.
  Slot& pick_slot(const std::vector<llama_token>& prompt, std::span<const int> reserved);
  /// Trims `slot`'s cache to the prompt's longest reusable prefix (maybe copied from another
  /// sequence) and returns its length (always < prompt.size()).
  size_t reuse_prefix(Slot& slot, const std::vector<llama_token>& prompt);
  void start(Slot& slot, GenJob&& job);  ///< moves from `job` only if nothing throws
  void step();
  void build_batch();
  void sample_outputs();
  void on_token(Slot& slot, llama_token token);
  void finish(Slot& slot, protocol::FinishReason reason, std::string text);
  void fail(Slot& slot, Error error);
  void release(Slot& slot, bool completed);  ///< completed: its time counts for Retry-After
  /// Fails the slots whose KV state is now unknown (all active ones if `only_in_batch` is false).
  void fail_active(const Error& error, bool only_in_batch);
  void fail_job(GenJob& job, const Error& error);
  void emit(const std::shared_ptr<GenCall>& call, GenEvent event);
  void flush_events();

  ContextPtr ctx_;
  llama_memory_t mem_ = nullptr;
  const Tokenizer& tokenizer_;
  LoopOptions options_;
  int n_ctx_seq_ = 0;
  int n_batch_ = 0;
  bool can_copy_prefix_ = false;  ///< seq_cp copies a prefix (not for recurrent state)
  Batch batch_;
  std::vector<Slot> slots_;
  int n_active_ = 0;  ///< inference thread only
  uint64_t clock_ = 0;
  std::vector<std::shared_ptr<GenCall>> touched_;  ///< calls with staged events this step
  std::vector<Slot*> prompt_order_;                ///< scratch: slots reading their prompt
  std::vector<int> homes_;                         ///< scratch: admit()'s jobs' cached slots
  std::string piece_;  ///< scratch: bytes of the token being detokenized
  std::string out_;    ///< scratch: text released by a TextStream

  std::mutex mutex_;  ///< guards the members below
  std::condition_variable wake_;
  std::deque<GenJob> queue_;  ///< by priority, then arrival
  ServiceTime service_time_;  ///< per completed job, admission to end
  int free_slots_ = 0;        ///< idle slots not yet promised to queued jobs
  bool stopping_ = false;
};

}  // namespace smmf::engines::llama_cpp
