#pragma once
/// An Engine on Anthropic's Messages API (POST {base_url}/v1/messages, `x-api-key` and
/// `anthropic-version` headers). OpenAI chat requests are translated by anthropic_json.h;
/// streams are relayed event by event. Text completions and embeddings are Unsupported.
/// Threading: thread-safe; all I/O is async on the model's own HttpClient.
#include <memory>
#include <string>
#include <vector>

#include "engines/engine.h"
#include "engines/engine_factory.h"
#include "net/http_client.h"

namespace smmf::engines::anthropic {

struct AnthropicOptions {
  net::Url base;  ///< the API root without /v1, e.g. https://api.anthropic.com
  std::string upstream_model;
  std::string api_key;
  std::string version = "2023-06-01";  ///< the anthropic-version header
  int default_max_tokens = 4096;       ///< when the request sets none (the API requires one)
  std::vector<std::pair<std::string, std::string>> headers;
  int context_length = 0;
};

class AnthropicEngine : public Engine {
 public:
  AnthropicEngine(std::shared_ptr<net::HttpClient> client, AnthropicOptions opts);

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
  std::shared_ptr<net::HttpClient> client_;
  AnthropicOptions opts_;
};

/// Registers "anthropic": params base_url (default https://api.anthropic.com), api_key /
/// api_key_file, upstream_model, anthropic_version, max_tokens, headers, context_length and
/// the network params of engines/remote/remote_params.h.
void register_anthropic(EngineRegistry& registry, std::shared_ptr<net::HttpClient> client);

}  // namespace smmf::engines::anthropic
