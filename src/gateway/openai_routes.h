#pragma once
/// The OpenAI-compatible HTTP API: /v1/models, /v1/chat/completions, /v1/completions,
/// /v1/embeddings, /v1/rerank (also /rerank and /v2/rerank), /healthz. Parses and validates at the
/// edge, picks an instance from the ModelDirectory, calls its Engine, and writes JSON or SSE.
/// Errors use the OpenAI shape (protocol/http_errors.h). Streams start lazily: an error before the
/// first token is a plain JSON error with its status; an error after it ends the stream with an SSE
/// error event and no [DONE]. Thread-safe: handlers share only the directory (itself thread-safe).
#include <functional>

#include "gateway/model_directory.h"
#include "gateway/model_groups.h"
#include "net/router.h"
#include "observability/tracer.h"
#include "protocol/openai_json.h"

namespace smmf::gateway {
namespace asio = boost::asio;

struct GatewayOptions {
  protocol::ParseLimits limits;
  int max_retries = 2;  ///< other instances tried when one fails before any byte was sent
  std::string affinity_header = "x-session-id";   ///< session key (else the request's "user")
  std::function<Status()> ready;                  ///< /healthz; default: the directory's ready()
  std::shared_ptr<observability::Tracer> tracer;  ///< spans of each call (null: metrics only)
  std::shared_ptr<const ModelGroups> groups;      ///< fallback groups and call timeouts
};

class OpenAiRoutes {
 public:
  OpenAiRoutes(ModelDirectory& directory, GatewayOptions options = {});
  void install(net::Router& router);

 private:
  asio::awaitable<void> list_models(net::HttpExchange& ex);
  asio::awaitable<void> get_model(net::HttpExchange& ex);
  asio::awaitable<void> chat(net::HttpExchange& ex);
  asio::awaitable<void> completions(net::HttpExchange& ex);
  asio::awaitable<void> embeddings(net::HttpExchange& ex);
  asio::awaitable<void> rerank(net::HttpExchange& ex);
  asio::awaitable<void> health(net::HttpExchange& ex);

  ModelDirectory& directory_;
  GatewayOptions opts_;
};

/// Answers `e` as an OpenAI error and records it for the access log.
asio::awaitable<void> send_error(net::HttpExchange& ex, const Error& e);

}  // namespace smmf::gateway
