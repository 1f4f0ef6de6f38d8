#include "engines/llama_cpp/embedding_loop.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <exception>

namespace smmf::engines::llama_cpp {

EmbeddingLoop::EmbeddingLoop(ContextPtr ctx, int max_queue)
    : ctx_(std::move(ctx)),
      mem_(llama_get_memory(ctx_.get())),
      // Rank pooling returns the classification head's outputs, not an embedding.
      n_embd_(llama_pooling_type(ctx_.get()) == LLAMA_POOLING_TYPE_RANK
                  ? static_cast<int>(llama_model_n_cls_out(llama_get_model(ctx_.get())))
                  : llama_model_n_embd_out(llama_get_model(ctx_.get()))),
      n_batch_(static_cast<int>(llama_n_batch(ctx_.get()))),
      n_seq_max_(static_cast<int>(llama_n_seq_max(ctx_.get()))),
      // Models with learned positions (BERT) abort beyond their training context.
      max_input_(std::min({n_batch_, static_cast<int>(llama_n_ubatch(ctx_.get())),
                           static_cast<int>(llama_n_ctx_seq(ctx_.get())),
                           llama_model_n_ctx_train(llama_get_model(ctx_.get()))})),
      max_queue_(max_queue),
      batch_(n_batch_) {}

Status EmbeddingLoop::submit(std::shared_ptr<EmbedCall> call,
                             std::vector<std::vector<llama_token>> inputs, int priority) {
  std::lock_guard lock(mutex_);
  if (stopping_) return Error::unavailable("the model is being unloaded");
  if (queue_.size() >= static_cast<size_t>(max_queue_)) {
    // A step takes about one call (or several): a rough, never optimistic estimate.
    return Error::exhausted(
        fmt::format("the model is busy: {} requests are queued and max_queue is {}; retry later",
                    queue_.size(), max_queue_),
        step_time_.retry_after(queue_.size() + 1, 1));
  }
  // After every call of the same or a higher priority (also one whose inputs are partly taken).
  auto at = std::find_if(queue_.begin(), queue_.end(),
                         [&](const Pending& p) { return p.priority < priority; });
  queue_.insert(at, Pending{std::move(call), std::move(inputs), 0, priority});
  wake_.notify_one();
  return {};
}

void EmbeddingLoop::stop() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  wake_.notify_one();
}

void EmbeddingLoop::run() {
  std::vector<Taken> taken;
  for (;;) {
    taken.clear();
    bool keep_running = true;
    try {
      keep_running = take(taken);
      if (!taken.empty()) {
        const auto t0 = std::chrono::steady_clock::now();
        encode(taken);
        const std::chrono::duration<double> took = std::chrono::steady_clock::now() - t0;
        std::lock_guard lock(mutex_);
        step_time_.record(took.count());
      }
    } catch (const std::exception& e) {
      spdlog::error("llama.cpp embedding loop: {}", e.what());
      for (auto& t : taken) {
        t.call->events.push(
            {t.index, {}, Error::internal(fmt::format("embedding failed: {}", e.what()))});
      }
    }
    if (!keep_running) break;
  }
  ctx_.reset();
}

bool EmbeddingLoop::take(std::vector<Taken>& taken) {
  std::vector<Pending> dropped;
  bool stopping = false;
  {
    std::unique_lock lock(mutex_);
    wake_.wait(lock, [&] { return !queue_.empty() || stopping_; });
    stopping = stopping_;
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (stopping_ || it->call->cancelled()) {
        dropped.push_back(std::move(*it));
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    // First come first served; one input always fits (submit checked its length).
    size_t n_tokens = 0;
    while (!queue_.empty() && taken.size() < static_cast<size_t>(n_seq_max_)) {
      Pending& front = queue_.front();
      auto& tokens = front.inputs[front.next];
      if (!taken.empty() && n_tokens + tokens.size() > static_cast<size_t>(n_batch_)) break;
      n_tokens += tokens.size();
      taken.push_back(Taken{front.call, static_cast<int>(front.next), std::move(tokens)});
      if (++front.next == front.inputs.size()) queue_.pop_front();
    }
  }
  for (auto& p : dropped) {
    const Error error = stopping ? Error::unavailable("the model is being unloaded")
                                 : Error::cancelled("the request was cancelled");
    p.call->events.push({static_cast<int>(p.next), {}, error});
  }
  return !stopping;
}

void EmbeddingLoop::encode(std::vector<Taken>& taken) {
  batch_.clear();
  for (size_t s = 0; s < taken.size(); ++s) {
    const auto& tokens = taken[s].tokens;
    for (size_t p = 0; p < tokens.size(); ++p) {
      batch_.add(tokens[p], static_cast<llama_pos>(p), static_cast<llama_seq_id>(s), true);
    }
  }
  const int ret = llama_decode(ctx_.get(), batch_.get());
  if (ret != 0) spdlog::error("llama.cpp: embedding decode returned {}", ret);
  std::vector<EmbedEvent> events;
  for (size_t s = 0; s < taken.size(); ++s) {
    EmbedEvent event{taken[s].index, {}, {}};
    const float* e =
        ret == 0 ? llama_get_embeddings_seq(ctx_.get(), static_cast<llama_seq_id>(s)) : nullptr;
    if (e == nullptr) {
      event.error = Error::internal(ret == 0 ? "the model returned no pooled embedding"
                                             : fmt::format("llama_decode failed ({})", ret));
    } else {
      event.embedding.assign(e, e + n_embd_);
    }
    events.push_back(std::move(event));
    // Consecutive inputs of one call go out together, with one wake-up.
    if (s + 1 == taken.size() || taken[s + 1].call != taken[s].call) {
      taken[s].call->events.push_all(events);
    }
  }
  if (mem_ != nullptr) {
    for (size_t s = 0; s < taken.size(); ++s) {
      llama_memory_seq_rm(mem_, static_cast<llama_seq_id>(s), -1, -1);
    }
  }
}

}  // namespace smmf::engines::llama_cpp
