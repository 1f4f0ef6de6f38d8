#pragma once
/// API keys, scopes, per-key model allow-lists and limits, and the cluster token, as a router
/// middleware (net::Router::use). Policy (docs/security.md):
///
///   route                         needs        open when
///   /healthz, /health, added      nothing      always
///   /v1/...                       inference    no [[keys]] are configured
///   everything else (/api/...)    admin        no [[keys]] and no cluster token
///
/// Credentials: `Authorization: Bearer KEY` or `api-key: KEY` for API keys; the cluster token in
/// `x-smmf-cluster-token` (what the roles send each other) or as a Bearer key. The cluster token
/// has every scope and no limits. Missing or unknown credential: 401 invalid_api_key; a key
/// without the route's scope: 403; a model outside the key's allow-list: 404 model_not_found
/// (as for a model that does not exist, so a key cannot probe for others); a key over a limit:
/// 429 rate_limit_exceeded with Retry-After (inference routes only).
///
/// Threading: immutable after construction except the limiters (thread-safe); share it freely.
/// The clock is injected for tests.
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/config.h"
#include "gateway/rate_limiter.h"
#include "net/router.h"

namespace smmf::gateway {

enum class Scope { kPublic, kInference, kAdmin };
std::string_view to_string(Scope s);

/// The caller of one request, as the middleware authenticated it.
struct Caller {
  std::string name;  ///< the key's name; "cluster" for the token; empty when the route is open
  bool inference = false;
  bool admin = false;
  std::vector<std::string> models;      ///< allow-list; empty = every model
  std::shared_ptr<KeyLimiter> limiter;  ///< null = no limits
  bool allows(std::string_view model) const;
};

class Authenticator : public std::enable_shared_from_this<Authenticator> {
 public:
  using Now = std::function<LimitClock::time_point()>;
  static constexpr std::string_view kClusterHeader = "x-smmf-cluster-token";

  /// `keys` must be valid (parse_config checks them).
  Authenticator(const std::vector<ApiKeyConfig>& keys, std::string cluster_token,
                Now now = &LimitClock::now);

  /// Paths starting with `prefix` need no credential (e.g. a dashboard's static files).
  void add_public_prefix(std::string prefix);
  Scope required_scope(std::string_view path) const;
  bool open(Scope s) const;
  bool enabled() const { return !keys_.empty() || !cluster_token_.empty(); }

  /// Who presents these headers, for a route needing `scope`; Unauthenticated or
  /// PermissionDenied otherwise. `bearer` is the Authorization value (scheme included).
  Result<std::shared_ptr<const Caller>> authenticate(std::string_view authorization,
                                                     std::string_view api_key,
                                                     std::string_view cluster_token,
                                                     Scope scope) const;

  net::Middleware middleware();
  LimitClock::time_point now() const { return now_(); }

 private:
  boost::asio::awaitable<void> guard(net::HttpExchange& ex, const net::Handler& next);

  std::unordered_map<std::string, std::shared_ptr<const Caller>> keys_;  // by hash
  std::string cluster_token_;
  std::vector<std::string> public_prefixes_;
  Now now_;
};

/// Whether the request's caller may use `model`: NotFound (param "model") when not. Requests
/// the middleware did not see (no Authenticator installed) may use every model.
Status admit_model(const net::HttpExchange& ex, std::string_view model);
bool model_visible(const net::HttpExchange& ex, std::string_view model);
/// Charges a finished call's tokens (prompt + completion) to the caller's tokens-per-minute.
void record_usage(const net::HttpExchange& ex, uint64_t tokens);

}  // namespace smmf::gateway
