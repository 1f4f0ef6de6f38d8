#pragma once
/// The OpenAI-compatible HTTP API: /v1/models, /v1/chat/completions, /v1/completions,
/// /v1/embeddings, /healthz. Parses and validates at the edge, picks an instance from the
/// ModelDirectory, calls its Engine, and writes JSON or SSE. Errors use the OpenAI shape
/// (error_map.h). Streams start lazily: an error before the first token is a plain JSON error
/// with its status; an error after it ends the stream with an SSE error event and no [DONE].
/// Thread-safe: handlers share only the directory (itself thread-safe).
#include "gateway/model_directory.h"
#include "net/router.h"
#include "protocol/openai_json.h"

namespace smmf::gateway {
namespace asio = boost::asio;

class OpenAiRoutes {
 public:
  OpenAiRoutes(ModelDirectory& directory, protocol::ParseLimits limits = {});
  void install(net::Router& router);

 private:
  asio::awaitable<void> list_models(net::HttpExchange& ex);
  asio::awaitable<void> get_model(net::HttpExchange& ex);
  asio::awaitable<void> chat(net::HttpExchange& ex);
  asio::awaitable<void> completions(net::HttpExchange& ex);
  asio::awaitable<void> embeddings(net::HttpExchange& ex);
  asio::awaitable<void> health(net::HttpExchange& ex);

  ModelDirectory& directory_;
  protocol::ParseLimits limits_;
};

/// Answers `e` as an OpenAI error and records it for the access log.
asio::awaitable<void> send_error(net::HttpExchange& ex, const Error& e);

}  // namespace smmf::gateway
