#pragma once
/// What every engine that calls a remote HTTP API shares (openai_compat, anthropic, gemini):
/// the network and secret `params` of a model (proxy, TLS, timeouts, api_key / api_key_file,
/// extra headers), the per-model HttpClient built from them, secret redaction, token estimates
/// and the SSE relay loop. Pure helpers plus one coroutine; thread-safe.
///
/// Secrets: the API key is kept only in RemoteParams::api_key and request headers; every error
/// text that came from an upstream passes through redact() before it leaves the engine.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "common/config.h"
#include "engines/engine.h"
#include "net/http_client.h"
#include "protocol/sse.h"

namespace smmf::engines::remote {

struct RemoteParams {
  std::string base_url;        ///< raw; each engine applies its default and parses it
  std::string upstream_model;  ///< default: the model's name
  std::string api_key;         ///< from params.api_key or params.api_key_file (trimmed)
  std::vector<std::pair<std::string, std::string>> headers;  ///< params.headers
  int context_length = 0;
  net::ClientOptions client;  ///< timeouts, CA file, TLS verification, proxy
};

/// Handles one engine-specific key: returns true when it used the key, false when the key is
/// unknown to the engine, or an error (already naming the key).
using ExtraKey = std::function<Result<bool>(std::string_view key, const boost::json::value& value)>;

/// Parses the shared keys of `cfg.params` (base_url, upstream_model, api_key, api_key_file,
/// headers, context_length, proxy, no_proxy, ca_file, tls_verify, connect_timeout_ms,
/// first_byte_timeout_ms, idle_timeout_ms, timeout_ms) over `defaults`, and hands every other key
/// to `extra`. Proxies come from the environment unless params.proxy is set ("none" = direct).
/// Errors name the file, model and key; never a secret's value.
Result<RemoteParams> parse_remote_params(const ModelConfig& cfg, std::string_view engine,
                                         const net::ClientOptions& defaults, const ExtraKey& extra);

/// The error for a bad value of params.<key>.
Error bad_param(const ModelConfig& cfg, std::string_view key, std::string_view why);

/// A client of its own for one model (its pool, TLS context, proxy and timeouts).
std::shared_ptr<net::HttpClient> make_client(const net::HttpClient& shared,
                                             net::ClientOptions opts);

/// Replaces every occurrence of `secret` (when at least 4 bytes) in `text` with "[redacted]".
std::string redact(std::string text, std::string_view secret);

/// protocol::upstream_error with the secret removed from the message.
Error upstream_failure(unsigned status, std::string_view body, std::string_view upstream,
                       std::string_view secret);

/// A rough token count for upstreams that report no usage: one token per 4 bytes, rounded up.
int estimate_tokens(std::string_view text);

/// Reads SSE events from `stream` and hands each to `on_event`, which appends deltas to write
/// and returns true once the stream is complete. Deltas are written to `sink` after each
/// upstream read. Checks ctx.cancel between reads. Returns whether `on_event` said complete
/// (false: the body ended first).
using SseHandler =
    std::function<Result<bool>(const protocol::SseEvent& ev, std::vector<protocol::Delta>& out)>;
asio::awaitable<Result<bool>> relay_sse(net::ResponseStream& stream, DeltaSink& sink,
                                        const CallContext& ctx, std::string upstream,
                                        SseHandler on_event);

}  // namespace smmf::engines::remote
