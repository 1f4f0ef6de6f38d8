#include "engines/llama_cpp/inference_loop.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <span>
#include <stdexcept>

#include "engines/llama_cpp/sampler.h"

namespace smmf::engines::llama_cpp {
namespace {

// Copying another sequence's cells costs a pass over its KV buffer: worth it for this many
// prompt tokens not evaluated again.
constexpr size_t kMinPrefixCopy = 32;

size_t common_prefix(const std::vector<llama_token>& a, const std::vector<llama_token>& b) {
  const size_t n = std::min(a.size(), b.size());
  return static_cast<size_t>(
      std::mismatch(a.begin(), a.begin() + static_cast<ptrdiff_t>(n), b.begin()).first - a.begin());
}

}  // namespace

InferenceLoop::InferenceLoop(ContextPtr ctx, const Tokenizer& tokenizer, LoopOptions options)
    : ctx_(std::move(ctx)),
      mem_(llama_get_memory(ctx_.get())),
      tokenizer_(tokenizer),
      options_(options),
      n_ctx_seq_(static_cast<int>(llama_n_ctx_seq(ctx_.get()))),
      n_batch_(static_cast<int>(llama_n_batch(ctx_.get()))),
      can_copy_prefix_(!llama_model_is_recurrent(llama_get_model(ctx_.get())) &&
                       !llama_model_is_hybrid(llama_get_model(ctx_.get()))),
      batch_(std::max(n_batch_, static_cast<int>(llama_n_seq_max(ctx_.get())))) {
  slots_.resize(llama_n_seq_max(ctx_.get()));
  for (size_t i = 0; i < slots_.size(); ++i) slots_[i].id = static_cast<int>(i);
  free_slots_ = static_cast<int>(slots_.size());
}

InferenceLoop::~InferenceLoop() = default;

Status InferenceLoop::submit(std::vector<GenJob> jobs) {
  if (jobs.empty()) return {};
  std::lock_guard lock(mutex_);
  if (stopping_) return Error::unavailable("the model is being unloaded");
  const size_t capacity = static_cast<size_t>(options_.max_queue + free_slots_);
  if (queue_.size() + jobs.size() > capacity) {
    const size_t ahead = queue_.size() + jobs.size() - static_cast<size_t>(free_slots_);
    return Error::exhausted(
        fmt::format("the model is busy: {} sequences are queued and max_queue is {}; retry later",
                    queue_.size(), options_.max_queue),
        service_time_.retry_after(ahead, slots()));
  }
  // After every job of the same or a higher priority: FIFO within a priority.
  const int priority = jobs.front().priority;
  auto at = std::find_if(queue_.begin(), queue_.end(),
                         [&](const GenJob& j) { return j.priority < priority; });
  queue_.insert(at, std::make_move_iterator(jobs.begin()), std::make_move_iterator(jobs.end()));
  wake_.notify_one();
  return {};
}

void InferenceLoop::stop() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  wake_.notify_one();
}

void InferenceLoop::run() {
  for (;;) {
    bool keep_running = true;
    try {
      keep_running = admit();
      if (n_active_ > 0) step();
    } catch (const std::exception& e) {
      spdlog::error("llama.cpp inference loop: {}", e.what());
      fail_active(Error::internal(fmt::format("inference failed: {}", e.what())), false);
    } catch (...) {
      spdlog::error("llama.cpp inference loop: unknown exception");
      fail_active(Error::internal("inference failed"), false);
    }
    flush_events();
    if (!keep_running) break;
  }
  // Free the KV cache and compute buffers on this thread, not on whoever drops the engine.
  ctx_.reset();
}

bool InferenceLoop::admit() {
  std::vector<GenJob> admitted;
  std::vector<GenJob> dropped;
  bool stopping = false;
  {
    std::unique_lock lock(mutex_);
    wake_.wait(lock, [&] { return n_active_ > 0 || !queue_.empty() || stopping_; });
    stopping = stopping_;
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (stopping_ || it->call->cancelled()) {
        dropped.push_back(std::move(*it));
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    const size_t idle = slots_.size() - static_cast<size_t>(n_active_);
    while (!queue_.empty() && admitted.size() < idle) {
      admitted.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    free_slots_ = static_cast<int>(idle - admitted.size());
  }
  for (auto& job : dropped) {
    fail_job(job, stopping ? Error::unavailable("the model is being unloaded")
                           : Error::cancelled("the request was cancelled"));
  }
  // Jobs admitted together are placed one by one; the slots caching the later ones' prompts
  // count as taken, so an earlier job neither evicts them nor moves away from them.
  std::vector<int>& homes = homes_;
  homes.clear();
  for (const auto& job : admitted) homes.push_back(home_slot(*job.prompt));
  for (size_t i = 0; i < admitted.size(); ++i) {
    auto& job = admitted[i];
    stamp_once(job.call->admitted_ns);
    try {
      start(pick_slot(*job.prompt, std::span<const int>(homes).subspan(i + 1)), std::move(job));
    } catch (const std::exception& e) {
      fail_job(job, Error::internal(fmt::format("cannot start the request: {}", e.what())));
    }
  }
  return !(stopping && n_active_ == 0);
}

// llama.cpp gives each sequence its own KV stream (unless kv_unified) and splits a batch into
// micro-batches of consecutive, increasing sequence ids: active slots 0, 1, 2, 7 cost two graph
// evaluations per decode step where 0, 1, 2, 3 cost one, and for short sequences a graph costs
// about as much for one token as for four. So a job goes to the idle slot that keeps the active
// ids in the fewest runs (next to an active slot, or bridging two runs); among those, to the slot
// holding the longest worthwhile prefix of its prompt, then the least recently used (empty slots
// first). A conversation cached in a slot that would break the runs is copied to the chosen one
// by reuse_prefix (one copy of a KV buffer, cheaper than a graph evaluation per step). When
// nothing runs, every slot is equal on placement and the prefix decides.
int InferenceLoop::home_slot(const std::vector<llama_token>& prompt) const {
  int home = -1;
  size_t best = kMinPrefixCopy - 1;
  for (const auto& slot : slots_) {
    if (slot.phase != Phase::kIdle) continue;
    const size_t prefix = common_prefix(slot.cache, prompt);
    if (prefix > best) {
      home = slot.id;
      best = prefix;
    }
  }
  return home;
}

InferenceLoop::Slot& InferenceLoop::pick_slot(const std::vector<llama_token>& prompt,
                                              std::span<const int> reserved) {
  const auto is_reserved = [&](int id) {
    return std::find(reserved.begin(), reserved.end(), id) != reserved.end();
  };
  const auto taken = [&](int id) {
    return id >= 0 && id < static_cast<int>(slots_.size()) &&
           (slots_[static_cast<size_t>(id)].phase != Phase::kIdle || is_reserved(id));
  };
  Slot* best = nullptr;
  int best_runs = 0;
  size_t best_prefix = 0;
  for (auto& slot : slots_) {
    if (slot.phase != Phase::kIdle || is_reserved(slot.id)) continue;
    // Change in the number of runs of consecutive taken ids if this slot joins them.
    const int runs =
        1 - static_cast<int>(taken(slot.id - 1)) - static_cast<int>(taken(slot.id + 1));
    size_t prefix = common_prefix(slot.cache, prompt);
    if (prefix < kMinPrefixCopy) prefix = 0;  // a chat template's first tokens: not worth a slot
    if (best == nullptr || runs < best_runs ||
        (runs == best_runs &&
         (prefix > best_prefix || (prefix == best_prefix && slot.last_used < best->last_used)))) {
      best = &slot;
      best_runs = runs;
      best_prefix = prefix;
    }
  }
  // admit() never admits more jobs than idle slots, and fewer are reserved than remain.
  return *best;
}

size_t InferenceLoop::reuse_prefix(Slot& slot, const std::vector<llama_token>& prompt) {
  size_t keep = common_prefix(slot.cache, prompt);
  // A sliding-window cache may have dropped the prefix's first positions: start over.
  if (keep > 0 && llama_memory_seq_pos_min(mem_, slot.id) > 0) keep = 0;
  if (can_copy_prefix_) {
    // Another sequence may hold a longer prefix (a shared system prompt): copy its cells.
    Slot* donor = nullptr;
    size_t donor_prefix = keep + kMinPrefixCopy;
    for (auto& other : slots_) {
      if (&other == &slot) continue;
      const size_t prefix = common_prefix(other.cache, prompt);
      if (prefix >= donor_prefix && llama_memory_seq_pos_min(mem_, other.id) == 0) {
        donor = &other;
        donor_prefix = prefix;
      }
    }
    if (donor != nullptr) {
      llama_memory_seq_rm(mem_, slot.id, -1, -1);
      llama_memory_seq_cp(mem_, donor->id, slot.id, -1, -1);
      slot.cache.assign(donor->cache.begin(),
                        donor->cache.begin() + static_cast<ptrdiff_t>(donor->cache.size()));
      keep = donor_prefix;
    }
  }
  // Keep at least one prompt token to evaluate: its logits give the first sampled token.
  keep = std::min(keep, prompt.size() - 1);
  if (keep < slot.cache.size()) {
    if (!llama_memory_seq_rm(mem_, slot.id, static_cast<llama_pos>(keep), -1)) {
      llama_memory_seq_rm(mem_, slot.id, -1, -1);  // e.g. recurrent models: all or nothing
      keep = 0;
    }
    slot.cache.resize(keep);
  }
  return keep;
}

void InferenceLoop::start(Slot& slot, GenJob&& job) {
  const auto& prompt = *job.prompt;
  const size_t keep = reuse_prefix(slot, prompt);
  slot.sampler = Sampler::make(tokenizer_.vocab(), job.sampling);
  if (!slot.sampler.valid()) throw std::runtime_error("the grammar does not parse");
  if (job.sampling.has_penalties()) {
    const size_t n =
        std::min(static_cast<size_t>(std::max(job.sampling.penalty_last_n, 0)), prompt.size());
    slot.sampler.accept_prompt(std::span<const llama_token>(prompt).subspan(prompt.size() - n));
  }
  slot.text = TextStream(job.stop);
  slot.job = std::move(job);
  slot.phase = Phase::kPrompt;
  slot.n_cached = static_cast<int>(keep);
  slot.n_generated = 0;
  slot.output_row = -1;
  slot.in_batch = false;
  slot.admitted_at = ++clock_;
  slot.started = std::chrono::steady_clock::now();
  ++n_active_;
}

void InferenceLoop::step() {
  build_batch();
  if (batch_.size() == 0) return;
  int ret = llama_decode(ctx_.get(), batch_.get());
  if (ret == 1) {
    // No room in a unified KV cache: give up the prefix caches of idle slots and retry once.
    for (auto& slot : slots_) {
      if (slot.phase == Phase::kIdle && !slot.cache.empty()) {
        llama_memory_seq_rm(mem_, slot.id, -1, -1);
        slot.cache.clear();
      }
    }
    ret = llama_decode(ctx_.get(), batch_.get());
  }
  if (ret != 0) {
    spdlog::error("llama.cpp: llama_decode returned {} for a batch of {} tokens", ret,
                  batch_.size());
    fail_active(ret == 1 ? Error::exhausted("the KV cache is full; retry later")
                         : Error::internal(fmt::format("llama_decode failed ({})", ret)),
                true);
    return;
  }
  sample_outputs();
}

void InferenceLoop::build_batch() {
  batch_.clear();
  // Generating slots first: one token each keeps every stream moving while prompts are read.
  // Then the prompt budget goes to prompts first come first served.
  auto& prompts = prompt_order_;
  prompts.clear();
  int budget = n_batch_;
  for (auto& slot : slots_) {
    slot.n_take = 0;
    if (slot.phase == Phase::kIdle) continue;
    if (slot.job.call->cancelled()) {
      fail(slot, Error::cancelled("the request was cancelled"));
      continue;
    }
    if (slot.phase == Phase::kPrompt) {
      prompts.push_back(&slot);
    } else {
      slot.n_take = 1;
      --budget;
    }
  }
  std::sort(prompts.begin(), prompts.end(),
            [](const Slot* a, const Slot* b) { return a->admitted_at < b->admitted_at; });
  for (Slot* slot : prompts) {
    const int left = static_cast<int>(slot->job.prompt->size() - slot->cache.size());
    slot->n_take = std::clamp(left, 0, std::max(budget, 0));
    budget -= slot->n_take;
  }
  // The tokens go in by sequence id: with one KV stream per sequence, llama.cpp splits a batch
  // into micro-batches of consecutive, increasing sequence ids, so any other order costs extra
  // graph evaluations per step (as many as there are breaks in the order).
  for (auto& slot : slots_) {
    if (slot.n_take == 0) continue;
    slot.in_batch = true;
    if (slot.phase == Phase::kGenerate) {
      slot.output_row =
          batch_.add(slot.next, static_cast<llama_pos>(slot.cache.size()), slot.id, true);
      slot.cache.push_back(slot.next);
      continue;
    }
    const auto& prompt = *slot.job.prompt;
    for (int i = 0; i < slot.n_take; ++i) {
      const llama_token t = prompt[slot.cache.size()];
      batch_.add(t, static_cast<llama_pos>(slot.cache.size()), slot.id, false);
      slot.cache.push_back(t);
    }
    if (slot.cache.size() == prompt.size()) {
      slot.output_row = batch_.size() - 1;
      batch_.set_output(slot.output_row);
    }
  }
}

void InferenceLoop::sample_outputs() {
  for (auto& slot : slots_) {
    if (!slot.in_batch) continue;
    slot.in_batch = false;
    if (slot.output_row < 0) continue;  // prompt not fully read yet
    const int row = slot.output_row;
    slot.output_row = -1;
    slot.phase = Phase::kGenerate;
    on_token(slot, slot.sampler.sample(ctx_.get(), row));
  }
}

void InferenceLoop::on_token(Slot& slot, llama_token token) {
  if (slot.n_generated == 0) stamp_once(slot.job.call->first_token_ns);  // prompt read
  out_.clear();
  if (tokenizer_.is_eog(token)) {
    slot.text.finish(out_);
    finish(slot, protocol::FinishReason::kStop, out_);
    return;
  }
  ++slot.n_generated;
  piece_.clear();
  tokenizer_.append_piece(token, piece_);
  if (slot.text.push(piece_, out_)) {
    finish(slot, protocol::FinishReason::kStop, out_);
    return;
  }
  const int max_tokens = slot.job.max_tokens;
  // The token would be evaluated at position cache.size(): no room means the context is full.
  if ((max_tokens >= 0 && slot.n_generated >= max_tokens) ||
      slot.cache.size() >= static_cast<size_t>(n_ctx_seq_)) {
    slot.text.finish(out_);
    finish(slot, protocol::FinishReason::kLength, out_);
    return;
  }
  slot.next = token;
  if (!out_.empty()) emit(slot.job.call, GenEvent{slot.job.index, out_, {}, {}, 0, 0});
}

void InferenceLoop::finish(Slot& slot, protocol::FinishReason reason, std::string text) {
  emit(slot.job.call,
       GenEvent{slot.job.index, std::move(text), reason, {}, slot.n_generated, slot.n_cached});
  release(slot, true);
}

void InferenceLoop::fail(Slot& slot, Error error) {
  emit(slot.job.call,
       GenEvent{slot.job.index, {}, {}, std::move(error), slot.n_generated, slot.n_cached});
  release(slot, false);
}

void InferenceLoop::release(Slot& slot, bool completed) {
  slot.phase = Phase::kIdle;
  slot.job = GenJob{};
  slot.sampler = Sampler{};
  slot.output_row = -1;
  slot.in_batch = false;
  slot.last_used = ++clock_;
  --n_active_;
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - slot.started;
  std::lock_guard lock(mutex_);
  ++free_slots_;
  // Failed and cancelled jobs say nothing about how long a request takes.
  if (completed) service_time_.record(took.count());
}

void InferenceLoop::fail_active(const Error& error, bool only_in_batch) {
  // The KV state of these sequences is unknown after a failed decode: drop it.
  for (auto& slot : slots_) {
    if (slot.phase == Phase::kIdle || (only_in_batch && !slot.in_batch)) continue;
    llama_memory_seq_rm(mem_, slot.id, -1, -1);
    slot.cache.clear();
    fail(slot, error);
  }
}

void InferenceLoop::fail_job(GenJob& job, const Error& error) {
  emit(job.call, GenEvent{job.index, {}, {}, error, 0, 0});
}

void InferenceLoop::emit(const std::shared_ptr<GenCall>& call, GenEvent event) {
  if (call->staged.empty()) touched_.push_back(call);
  call->staged.push_back(std::move(event));
}

void InferenceLoop::flush_events() {
  for (auto& call : touched_) call->events.push_all(call->staged);
  touched_.clear();
}

}  // namespace smmf::engines::llama_cpp
