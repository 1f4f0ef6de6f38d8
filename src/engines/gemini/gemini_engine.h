#pragma once
/// An Engine on the Google Gemini API: POST {base_url}/models/{m}:generateContent,
/// :streamGenerateContent?alt=sse (each SSE event a GenerateContentResponse; the stream ends
/// with the body) and :batchEmbedContents, with the key in `x-goog-api-key`. Requests and
/// responses are translated by gemini_json.h. Text completions are Unsupported.
/// Threading: thread-safe; all I/O is async on the model's own HttpClient.
#include <memory>
#include <string>
#include <vector>

#include "engines/engine.h"
#include "engines/engine_factory.h"
#include "net/http_client.h"

namespace smmf::engines::gemini {

struct GeminiOptions {
  net::Url base;           ///< e.g. https://generativelanguage.googleapis.com/v1beta
  std::string model_path;  ///< "models/gemini-2.0-flash"
  protocol::ModelType type = protocol::ModelType::kLlm;
  std::string api_key;
  std::vector<std::pair<std::string, std::string>> headers;
  int context_length = 0;
};

class GeminiEngine : public Engine {
 public:
  GeminiEngine(std::shared_ptr<net::HttpClient> client, GeminiOptions opts);

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
  net::ClientRequest make_request(std::string target, std::string body,
                                  const CallContext& ctx) const;

  std::shared_ptr<net::HttpClient> client_;
  GeminiOptions opts_;
};

/// Registers "gemini": params base_url (default
/// https://generativelanguage.googleapis.com/v1beta), api_key / api_key_file, upstream_model,
/// headers, context_length and the network params of engines/remote/remote_params.h.
void register_gemini(EngineRegistry& registry, std::shared_ptr<net::HttpClient> client);

}  // namespace smmf::engines::gemini
