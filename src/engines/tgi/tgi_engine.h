#pragma once
/// engine = "tgi": Hugging Face Text Generation Inference through its native API.
/// Completions go through POST /generate and /generate_stream (one upstream call per prompt and
/// choice; TGI has no `n`). Chat goes through TGI's Messages API (POST /v1/chat/completions),
/// which applies the model's own chat template on the TGI side: SMMF has no template of the
/// upstream's model to apply, and TGI's is the one the model was trained with.
/// load() requires GET /health to answer 200.
/// Threading: thread-safe; all I/O is async on the shared HttpClient; no thread of its own.
#include <memory>

#include "engines/engine_factory.h"
#include "engines/openai_compat/openai_engine.h"
#include "engines/tgi/upstream.h"

namespace smmf::engines::tgi {

struct TgiOptions {
  UpstreamOptions upstream;
  int max_new_tokens = 0;  ///< when a request sets no max_tokens; 0 = TGI's default
  int context_length = 0;
};

class TgiEngine : public Engine {
 public:
  TgiEngine(std::shared_ptr<net::HttpClient> client, TgiOptions opts);

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

 private:
  /// One prompt, one choice; streamed deltas carry `index`.
  asio::awaitable<Result<protocol::Choice>> generate_one(const std::string& prompt,
                                                         const protocol::GenerationParams& g,
                                                         int index, DeltaSink* sink,
                                                         const CallContext& ctx,
                                                         protocol::Usage& usage);
  asio::awaitable<Result<protocol::Choice>> stream_one(const std::string& prompt,
                                                       const protocol::GenerationParams& g,
                                                       int index, DeltaSink& sink,
                                                       const CallContext& ctx,
                                                       protocol::Usage& usage);

  Upstream upstream_;
  TgiOptions opts_;
  openai_compat::OpenAiEngine messages_;
};

/// Registers "tgi": params base_url (required), api_key, headers, max_new_tokens,
/// context_length.
void register_tgi(EngineRegistry& registry, std::shared_ptr<net::HttpClient> client);

}  // namespace smmf::engines::tgi
