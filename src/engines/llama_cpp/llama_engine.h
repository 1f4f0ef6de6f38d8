#pragma once
/// The in-process llama.cpp engine: one GGUF model, one context, one inference thread.
///
///   created --load()--> loading --ok--> ready --unload()--> stopping --> created
///                          \--error--> created (load may be retried)
///
/// Threading: every method may be called from any I/O thread; coroutines resume on the caller's
/// executor. Weights load and inference run on the engine's own thread; I/O threads only
/// tokenize, render chat templates and format results.
/// Lifetime: owned by shared_ptr; each call keeps the engine and the loaded model alive.
/// Errors: kUnavailable while not loaded, kUnsupported for a call the model type cannot serve,
/// kInvalidArgument for prompts that do not fit, kResourceExhausted when the queue is full,
/// kCancelled when the caller's CancelToken fires, the sink's error when the client is gone.
#include <atomic>
#include <memory>
#include <mutex>
#include <string_view>

#include "engines/engine.h"
#include "engines/engine_factory.h"
#include "engines/llama_cpp/llama_params.h"

namespace smmf::engines::llama_cpp {

class ModelRuntime;

class LlamaEngine final : public Engine, public std::enable_shared_from_this<LlamaEngine> {
 public:
  explicit LlamaEngine(LlamaParams params);
  ~LlamaEngine() override;

  EngineInfo info() const override;
  asio::awaitable<Status> load() override;
  asio::awaitable<void> unload() override;
  Status health() const override;

  asio::awaitable<Result<protocol::GenerationResult>> chat(const protocol::ChatRequest& req,
                                                           DeltaSink* sink,
                                                           const CallContext& ctx) override;
  asio::awaitable<Result<protocol::GenerationResult>> complete(
      const protocol::CompletionRequest& req, DeltaSink* sink, const CallContext& ctx) override;
  asio::awaitable<Result<protocol::EmbeddingResult>> embed(const protocol::EmbeddingRequest& req,
                                                           const CallContext& ctx) override;
  /// Reranker models only (rank pooling); see rerank_call.h for the prompt and the score.
  asio::awaitable<Result<protocol::RerankResult>> rerank(const protocol::RerankRequest& req,
                                                         const CallContext& ctx) override;

  const LlamaParams& params() const { return params_; }

 private:
  enum class State { kCreated, kLoading, kReady, kStopping };

  /// The loaded runtime if this model's type serves `what`.
  Result<std::shared_ptr<ModelRuntime>> runtime_for(protocol::ModelType wanted,
                                                    std::string_view what) const;

  LlamaParams params_;
  std::atomic<State> state_{State::kCreated};
  mutable std::mutex mutex_;  ///< guards runtime_
  std::shared_ptr<ModelRuntime> runtime_;
};

/// The "llama.cpp" factory: validates ModelConfig (see LlamaParams) and builds an unloaded
/// LlamaEngine.
class LlamaEngineFactory final : public EngineFactory {
 public:
  std::string name() const override { return "llama.cpp"; }
  Result<std::shared_ptr<Engine>> create(const ModelConfig& cfg) const override;
};

void register_llama_cpp(EngineRegistry& registry);

}  // namespace smmf::engines::llama_cpp
