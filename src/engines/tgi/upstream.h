#pragma once
/// What the native Hugging Face engines (TGI, TEI) share: where the server is, how to
/// authenticate, and one JSON POST with upstream errors mapped to Error (their bodies are
/// {"error": "...", "error_type": "..."}; 422 -> 400, 424/5xx -> 503, 429 -> 429).
/// Threading: stateless after construction; calls run on the caller's executor.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <memory>
#include <string>
#include <vector>

#include "common/config.h"
#include "engines/engine.h"
#include "net/http_client.h"

namespace smmf::engines::tgi {
namespace asio = boost::asio;

struct UpstreamOptions {
  net::Url base;        ///< the server's root, e.g. http://127.0.0.1:8080
  std::string api_key;  ///< sent as "Authorization: Bearer <key>" when set
  std::vector<std::pair<std::string, std::string>> headers;  ///< extra headers
};

/// A parsed JSON answer and its headers.
struct JsonAnswer {
  boost::json::value body;
  net::http::fields headers;
};

class Upstream {
 public:
  Upstream(std::shared_ptr<net::HttpClient> client, UpstreamOptions opts)
      : client_(std::move(client)), opts_(std::move(opts)) {}

  /// A POST carrying the call's request id and CancelToken (a cancel closes the upstream call).
  net::ClientRequest post(std::string target, const boost::json::object& body,
                          const CallContext& ctx) const;
  /// POSTs `body` and parses a 200 JSON answer; anything else is an Error.
  asio::awaitable<Result<JsonAnswer>> call(std::string target, const boost::json::object& body,
                                           const CallContext& ctx) const;
  /// GET {base}/health must answer 200 (used by load()).
  asio::awaitable<Status> check_health() const;

  net::HttpClient& client() const { return *client_; }
  const UpstreamOptions& options() const { return opts_; }

 private:
  std::shared_ptr<net::HttpClient> client_;
  UpstreamOptions opts_;
};

/// Reads the keys every native engine shares (base_url (required), api_key, headers) out of
/// `params`, removing them; errors name the config origin and key.
Result<UpstreamOptions> take_upstream_params(const ModelConfig& cfg, boost::json::object& params);

/// Errors for the remaining params: `engine` names the engine in messages.
Error unknown_param(const ModelConfig& cfg, std::string_view engine, std::string_view key);
Error bad_param(const ModelConfig& cfg, std::string_view key, std::string_view why);

}  // namespace smmf::engines::tgi
