#pragma once
/// engine = "tei": Hugging Face Text Embeddings Inference through its native API.
///   type = "embedding": POST /embed {inputs, normalize, truncate} -> [[float]]
///   type = "reranker":  POST /rerank {query, texts, raw_scores, truncate}
///                       -> [{index, score}] (TEI sorts by score; SMMF re-sorts anyway)
/// Prompt tokens come from TEI's `x-compute-tokens` answer header when present.
/// load() requires GET /health to answer 200.
/// Threading: thread-safe; all I/O is async on the shared HttpClient; no thread of its own.
#include <memory>

#include "engines/engine_factory.h"
#include "engines/tgi/upstream.h"

namespace smmf::engines::tgi {

struct TeiOptions {
  UpstreamOptions upstream;
  protocol::ModelType type = protocol::ModelType::kEmbedding;
  bool normalize = true;    ///< /embed: unit-length vectors (what OpenAI returns)
  bool truncate = false;    ///< cut inputs longer than the model's limit instead of failing
  bool raw_scores = false;  ///< /rerank: logits instead of sigmoid scores
  int context_length = 0;
};

class TeiEngine : public Engine {
 public:
  TeiEngine(std::shared_ptr<net::HttpClient> client, TeiOptions opts);

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
  asio::awaitable<Result<protocol::RerankResult>> rerank(const protocol::RerankRequest& req,
                                                         const CallContext& ctx) override;

 private:
  Upstream upstream_;
  TeiOptions opts_;
};

/// Registers "tei": params base_url (required), api_key, headers, normalize, truncate,
/// raw_scores, context_length.
void register_tei(EngineRegistry& registry, std::shared_ptr<net::HttpClient> client);

/// Pure parsers of TEI's answers (exposed for tests).
Result<protocol::EmbeddingResult> parse_tei_embeddings(const boost::json::value& v, size_t inputs);
Result<protocol::RerankResult> parse_tei_rerank(const boost::json::value& v, size_t documents);

}  // namespace smmf::engines::tgi
