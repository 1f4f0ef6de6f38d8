#pragma once
/// Owning handles for llama.cpp's C objects, and one-time process setup.
/// Threading: a model is shared read-only by all threads; a context, batch or sampler belongs to
/// the one inference thread that uses it.
#include <llama.h>

#include <memory>

namespace smmf::engines::llama_cpp {

struct ModelDeleter {
  void operator()(llama_model* m) const { llama_model_free(m); }
};
struct ContextDeleter {
  void operator()(llama_context* c) const { llama_free(c); }
};
struct SamplerDeleter {
  void operator()(llama_sampler* s) const { llama_sampler_free(s); }
};

using ModelPtr = std::unique_ptr<llama_model, ModelDeleter>;
using ContextPtr = std::unique_ptr<llama_context, ContextDeleter>;
using SamplerPtr = std::unique_ptr<llama_sampler, SamplerDeleter>;

/// A llama_batch sized once and reused every step.
class Batch {
 public:
  explicit Batch(int capacity) : batch_(llama_batch_init(capacity, 0, 1)), capacity_(capacity) {}
  ~Batch() { llama_batch_free(batch_); }
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;

  void clear() { batch_.n_tokens = 0; }
  /// Appends one token of one sequence; returns its row. The caller keeps size() < capacity().
  int add(llama_token token, llama_pos pos, llama_seq_id seq, bool output) {
    const int i = batch_.n_tokens++;
    batch_.token[i] = token;
    batch_.pos[i] = pos;
    batch_.n_seq_id[i] = 1;
    batch_.seq_id[i][0] = seq;
    batch_.logits[i] = output ? 1 : 0;
    return i;
  }
  void set_output(int i) { batch_.logits[i] = 1; }
  int size() const { return batch_.n_tokens; }
  int capacity() const { return capacity_; }
  const llama_batch& get() const { return batch_; }

 private:
  llama_batch batch_;
  int capacity_;
};

/// ggml CPU thread pools attached to one context, as llama-server does: their hybrid polling
/// behaves well when cores are shared, where OpenMP's spinning barriers can stall decoding by
/// orders of magnitude. Must outlive the context (destroy the context first).
class CpuThreadPools {
 public:
  /// Attaches pools of `n_threads` (single-token decode) and `n_threads_batch` threads; on
  /// failure the context keeps llama.cpp's default (OpenMP) threading.
  CpuThreadPools(llama_context* ctx, int n_threads, int n_threads_batch);
  ~CpuThreadPools();
  CpuThreadPools(const CpuThreadPools&) = delete;
  CpuThreadPools& operator=(const CpuThreadPools&) = delete;

 private:
  ggml_threadpool_t pool_ = nullptr;
  ggml_threadpool_t pool_batch_ = nullptr;
  void (*free_)(ggml_threadpool_t) = nullptr;
};

/// llama_backend_init once per process, and llama.cpp's log routed to spdlog (debug level, so it
/// does not spam stderr). Thread-safe, idempotent.
void init_llama_backend();

}  // namespace smmf::engines::llama_cpp
