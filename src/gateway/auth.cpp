#include "gateway/auth.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "gateway/api_keys.h"
#include "protocol/http_errors.h"

namespace smmf::gateway {
namespace {

/// What the middleware leaves on the exchange for the routes.
struct RequestAuth {
  std::shared_ptr<const Caller> caller;
  const Authenticator* auth = nullptr;
};

/// Releases a concurrency slot when the request ends, however it ends.
struct Slot {
  std::shared_ptr<KeyLimiter> limiter;
  ~Slot() {
    if (limiter) limiter->release();
  }
};

std::shared_ptr<const Caller> make_special(std::string name) {
  auto c = std::make_shared<Caller>();
  c->name = std::move(name);
  c->inference = c->admin = true;
  return c;
}

Error unauthenticated(std::string message) {
  return Error{ErrorCode::kUnauthenticated, std::move(message), {}};
}

/// The key in "Bearer KEY" (scheme case-insensitive); empty otherwise.
std::string_view bearer_token(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size()) return {};
  for (size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) return {};
  std::string_view t = authorization.substr(kScheme.size());
  while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  return t;
}

}  // namespace

std::string_view to_string(Scope s) {
  switch (s) {
    case Scope::kPublic:
      return "public";
    case Scope::kInference:
      return "inference";
    case Scope::kAdmin:
      return "admin";
  }
  return "?";
}

bool Caller::allows(std::string_view model) const {
  return models.empty() || std::find(models.begin(), models.end(), model) != models.end();
}

Authenticator::Authenticator(const std::vector<ApiKeyConfig>& keys, std::string cluster_token,
                             Now now)
    : cluster_token_(std::move(cluster_token)), now_(std::move(now)) {
  public_prefixes_ = {"/healthz", "/health"};
  for (const auto& k : keys) {
    auto c = std::make_shared<Caller>();
    c->name = k.name;
    for (const auto& s : k.scopes) {
      if (s == "inference") c->inference = true;
      if (s == "admin") c->admin = true;
    }
    c->models = k.models;
    KeyLimits limits{k.requests_per_minute, k.tokens_per_minute, k.max_concurrent};
    if (limits.requests_per_minute || limits.tokens_per_minute || limits.max_concurrent)
      c->limiter = std::make_shared<KeyLimiter>(limits, now_());
    keys_.emplace(k.hash, std::move(c));
  }
}

void Authenticator::add_public_prefix(std::string prefix) {
  public_prefixes_.push_back(std::move(prefix));
}

Scope Authenticator::required_scope(std::string_view path) const {
  for (const auto& p : public_prefixes_) {
    // "/healthz" is public, "/healthzzz" is not; a prefix ending in '/' covers its subtree.
    if (path == p || (p.ends_with('/') && path.starts_with(p))) return Scope::kPublic;
  }
  if (path.starts_with("/v1/")) return Scope::kInference;
  return Scope::kAdmin;
}

bool Authenticator::open(Scope s) const {
  switch (s) {
    case Scope::kPublic:
      return true;
    case Scope::kInference:
      return keys_.empty();
    case Scope::kAdmin:
      return keys_.empty() && cluster_token_.empty();
  }
  return false;
}

Result<std::shared_ptr<const Caller>> Authenticator::authenticate(std::string_view authorization,
                                                                  std::string_view api_key,
                                                                  std::string_view cluster_token,
                                                                  Scope scope) const {
  static const auto kCluster = make_special("cluster");
  static const auto kOpen = make_special("");
  std::string_view key = bearer_token(authorization);
  if (key.empty()) key = api_key;
  if (!cluster_token_.empty()) {
    if (constant_time_equal(cluster_token, cluster_token_) ||
        constant_time_equal(key, cluster_token_))
      return kCluster;
    if (!cluster_token.empty()) return unauthenticated("Incorrect cluster token provided.");
  }
  if (open(scope)) return kOpen;
  if (key.empty())
    return unauthenticated(
        "You didn't provide an API key. Send it in an 'Authorization: Bearer KEY' or "
        "'api-key: KEY' header.");
  auto it = keys_.find(hash_api_key(key));
  if (it == keys_.end()) return unauthenticated("Incorrect API key provided.");
  const Caller& c = *it->second;
  if ((scope == Scope::kAdmin && !c.admin) || (scope == Scope::kInference && !c.inference))
    return Error{
        ErrorCode::kPermissionDenied,
        fmt::format("The API key '{}' lacks the '{}' scope needed here.", c.name, to_string(scope)),
        {}};
  return it->second;
}

net::Middleware Authenticator::middleware() {
  return [self = shared_from_this()](net::HttpExchange& ex, const net::Handler& next) {
    return self->guard(ex, next);
  };
}

boost::asio::awaitable<void> Authenticator::guard(net::HttpExchange& ex, const net::Handler& next) {
  Scope scope = required_scope(ex.target_path());
  if (scope == Scope::kPublic) {
    co_await next(ex);
    co_return;
  }
  auto caller = authenticate(ex.header(net::http::field::authorization), ex.header("api-key"),
                             ex.header(kClusterHeader), scope);
  std::optional<Error> refused;
  std::chrono::seconds retry_after{0};
  Slot slot;
  if (!caller) {
    refused = caller.error();
  } else {
    const Caller& c = **caller;
    if (!c.name.empty()) ex.add_log_field("key", c.name);
    if (c.limiter && scope == Scope::kInference) {
      if (auto r = c.limiter->admit(now_())) {
        refused = Error::exhausted(fmt::format("{} on API key '{}'. Retry in {}s.", r->message,
                                               c.name, r->retry_after.count()));
        retry_after = r->retry_after;
      } else {
        slot.limiter = c.limiter;
      }
    }
  }
  if (refused) {
    if (refused->code == ErrorCode::kUnauthenticated)
      ex.add_response_header("www-authenticate", "Bearer");
    if (retry_after.count() > 0)
      ex.add_response_header("retry-after", std::to_string(retry_after.count()));
    ex.add_log_field("error", fmt::format("\"{}\"", refused->message));
    co_await ex.send_json(protocol::error_status(*refused), protocol::error_body(*refused));
    co_return;
  }
  auto state = std::make_shared<RequestAuth>();
  state->caller = *caller;
  state->auth = this;
  ex.set_local(std::move(state));
  co_await next(ex);
}

Status admit_model(const net::HttpExchange& ex, std::string_view model) {
  if (model_visible(ex, model)) return {};
  return Error::not_found(
      fmt::format("The model '{}' does not exist or you do not have access to it.", model),
      "model");
}

bool model_visible(const net::HttpExchange& ex, std::string_view model) {
  const RequestAuth* a = ex.local<RequestAuth>();
  return !a || a->caller->allows(model);
}

void record_usage(const net::HttpExchange& ex, uint64_t tokens) {
  const RequestAuth* a = ex.local<RequestAuth>();
  if (a && a->caller->limiter && tokens > 0)
    a->caller->limiter->record_tokens(tokens, a->auth->now());
}

}  // namespace smmf::gateway
