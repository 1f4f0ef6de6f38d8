#pragma once
/// What exists while a llama.cpp model is loaded: the weights, the tokenizer, one context with
/// its loop (generation or embeddings) and the inference thread that owns that context.
///
/// Threading: start() spawns the inference thread, which loads the weights, creates the context,
/// reports through `on_loaded`, then runs the loop. Accessors are safe from any thread once
/// `on_loaded` reported success. stop()/join() from any thread except the inference thread.
/// Lifetime: shared by the engine and every call in flight; the weights are freed when the last
/// holder lets go (the context is freed by the inference thread when its loop ends).
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/error.h"
#include "engines/llama_cpp/embedding_loop.h"
#include "engines/llama_cpp/inference_loop.h"
#include "engines/llama_cpp/llama_handles.h"
#include "engines/llama_cpp/llama_params.h"
#include "engines/llama_cpp/tokenizer.h"

namespace smmf::engines::llama_cpp {

class ModelRuntime {
 public:
  /// `on_loaded` runs once, on the inference thread, with the outcome of loading.
  static std::shared_ptr<ModelRuntime> start(const LlamaParams& params,
                                             std::function<void(Status)> on_loaded);
  ~ModelRuntime();
  ModelRuntime(const ModelRuntime&) = delete;
  ModelRuntime& operator=(const ModelRuntime&) = delete;

  const Tokenizer& tokenizer() const { return *tokenizer_; }
  InferenceLoop* generation() const { return generation_.get(); }  ///< null unless llm
  EmbeddingLoop* embeddings() const { return embeddings_.get(); }  ///< null unless embedding
  int context_length() const { return context_length_; }           ///< tokens per sequence
  int embedding_size() const { return embedding_size_; }
  int vocab_size() const { return vocab_size_; }
  /// The model's "rerank" prompt template ({query}, {document}); empty if it has none.
  const std::string& rerank_template() const { return rerank_template_; }

  /// Stops the loop (queued calls fail with kUnavailable, running ones finish); `on_exit` runs
  /// once the inference thread is done (at once if it already is).
  void stop(std::function<void()> on_exit);
  /// Waits for the inference thread (instant after `on_exit` ran).
  void join();

 private:
  explicit ModelRuntime(LlamaParams params) : params_(std::move(params)) {}
  void thread_main(std::function<void(Status)> on_loaded);
  Status open();
  Result<ContextPtr> create_context();

  LlamaParams params_;
  ModelPtr model_;
  std::optional<Tokenizer> tokenizer_;
  std::unique_ptr<CpuThreadPools> pools_;  ///< declared before the loops: outlives the context
  std::unique_ptr<InferenceLoop> generation_;
  std::unique_ptr<EmbeddingLoop> embeddings_;
  int context_length_ = 0;
  int embedding_size_ = 0;
  int vocab_size_ = 0;
  std::string rerank_template_;
  std::thread thread_;

  std::mutex mutex_;  ///< guards the members below
  bool exited_ = false;
  bool stop_requested_ = false;
  std::function<void()> on_exit_;
};

}  // namespace smmf::engines::llama_cpp
