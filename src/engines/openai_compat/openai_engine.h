#pragma once
/// An Engine that speaks the OpenAI HTTP API to an upstream: another SMMF worker or server,
/// vLLM, SGLang, llama-server, Ollama, or a cloud provider. Streams are relayed chunk by chunk
/// (each upstream read becomes one sink write). Upstream errors keep their status and message.
/// Threading: thread-safe; all I/O is async on the shared HttpClient; no thread of its own.
/// Cancellation: the call's CancelToken goes with each upstream request; when the client leaves
/// (or a deadline passes) the pending upstream step ends at once and its connection is closed,
/// so the upstream (e.g. a worker, which then cancels its own engine) sees the call abandoned.
#include <memory>
#include <string>
#include <vector>

#include "engines/engine.h"
#include "engines/engine_factory.h"
#include "net/http_client.h"
#include "protocol/openai_client_json.h"

namespace smmf::engines::openai_compat {

struct OpenAiEngineOptions {
  net::Url base;               ///< up to and including the API version path, e.g. ".../v1"
  std::string upstream_model;  ///< the upstream's model id
  protocol::ModelType type = protocol::ModelType::kLlm;
  std::string api_key;  ///< sent as `auth_header: auth_prefix + api_key` when set
  std::string auth_header = "Authorization";
  std::string auth_prefix = "Bearer ";
  std::vector<std::pair<std::string, std::string>> headers;  ///< extra headers
  int context_length = 0;
  protocol::UpstreamDialect dialect;  ///< the preset's request quirks
  std::string query;                  ///< appended to every target, e.g. "?api-version=..."
  std::string engine_name = "openai_compat";
};

class OpenAiEngine : public Engine {
 public:
  OpenAiEngine(std::shared_ptr<net::HttpClient> client, OpenAiEngineOptions opts);

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
  /// POST {base}/rerank in the Cohere/Jina shape (SMMF workers, Jina, vLLM, llama-server).
  asio::awaitable<Result<protocol::RerankResult>> rerank(const protocol::RerankRequest& req,
                                                         const CallContext& ctx) override;

  const OpenAiEngineOptions& options() const { return opts_; }

 private:
  net::ClientRequest make_request(std::string_view target, std::string body,
                                  const CallContext& ctx) const;
  /// `target`: a string literal (the coroutine starts later and keeps the view).
  asio::awaitable<Result<protocol::GenerationResult>> generate(std::string_view target,
                                                               std::string body, DeltaSink* sink,
                                                               const CallContext& ctx,
                                                               int prompt_estimate);

  std::shared_ptr<net::HttpClient> client_;
  OpenAiEngineOptions opts_;
  std::string origin_;  ///< opts_.base.origin(), for error messages
};

/// Registers the "openai_compat" engine: params preset, base_url (required without a preset),
/// api_key / api_key_file, upstream_model, auth_header, auth_prefix, headers (table),
/// context_length, max_tokens_field, stream_usage, Azure's endpoint / deployment / api_version,
/// and the network params of engines/remote/remote_params.h (docs/engines.md lists them).
/// Defined in openai_factory.cpp.
void register_openai_compat(EngineRegistry& registry, std::shared_ptr<net::HttpClient> client);

}  // namespace smmf::engines::openai_compat
