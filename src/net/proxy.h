#pragma once
/// Forward-proxy settings for the HTTP client, with curl's conventions: `https_proxy` /
/// `HTTPS_PROXY` for https upstreams (an HTTP CONNECT tunnel; TLS runs end to end through it),
/// `http_proxy` / `HTTP_PROXY` for http upstreams (requests in absolute form), and `no_proxy` /
/// `NO_PROXY`: comma-separated host names, domain suffixes (`example.com` and `.example.com`
/// both match `api.example.com`), IP literals, optional `:port`, or `*` for every host.
/// Loopback is not bypassed implicitly (put `localhost,127.0.0.1` in NO_PROXY).
/// Proxies are plain `http://[user:password@]host[:port]`; credentials go in Proxy-Authorization.
/// Pure values; thread-safe to share once built.
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"

namespace smmf::net {

struct Url;

struct ProxyServer {
  std::string host;
  uint16_t port = 80;
  std::string authorization;  ///< "Basic ..." when the URL had credentials, else empty
  std::string origin() const;
};

/// Parses "http://[user:pass@]host[:port][/]"; other schemes are errors.
Result<ProxyServer> parse_proxy_url(std::string_view text);

struct ProxySettings {
  std::optional<ProxyServer> http;   ///< for http:// upstreams
  std::optional<ProxyServer> https;  ///< for https:// upstreams
  std::string no_proxy;              ///< the raw NO_PROXY list

  /// From the environment (lower-case names first, then upper-case). Invalid proxy URLs are
  /// errors naming the variable (never its value, which may hold credentials).
  static Result<ProxySettings> from_env();
  /// One proxy for both schemes (a model's `params.proxy`).
  static Result<ProxySettings> single(std::string_view url, std::string no_proxy);

  /// The proxy to use for `target`, or nullopt to connect directly.
  const ProxyServer* select(const Url& target) const;
};

/// Whether `host:port` matches a NO_PROXY list.
bool no_proxy_matches(std::string_view no_proxy, std::string_view host, uint16_t port);

}  // namespace smmf::net
