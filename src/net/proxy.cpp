#include "net/proxy.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <vector>

#include "net/http_client.h"

namespace smmf::net {
namespace {

std::string base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

const char* env_first(std::initializer_list<const char*> names, const char** which) {
  for (const char* n : names) {
    const char* v = std::getenv(n);
    if (v && *v) {
      *which = n;
      return v;
    }
  }
  return nullptr;
}

}  // namespace

std::string ProxyServer::origin() const {
  return fmt::format("http://{}:{}", host, port);
}

Result<ProxyServer> parse_proxy_url(std::string_view text) {
  // Like curl, a bare "host:port" means http://host:port.
  std::string s(trim(text));
  if (s.find("://") == std::string::npos) s = "http://" + s;
  auto u = boost::urls::parse_uri(s);
  if (!u) return Error::invalid("is not a valid proxy URL");
  if (u->scheme() != "http") return Error::invalid("must be an http:// proxy URL");
  ProxyServer p;
  p.host = u->host();
  if (p.host.empty()) return Error::invalid("has no host");
  if (p.host.front() == '[' && p.host.back() == ']') p.host = p.host.substr(1, p.host.size() - 2);
  p.port = u->has_port() ? u->port_number() : 80;
  if (u->has_userinfo()) p.authorization = "Basic " + base64(u->user() + ":" + u->password());
  return p;
}

Result<ProxySettings> ProxySettings::from_env() {
  ProxySettings out;
  const char* which = nullptr;
  if (const char* v = env_first({"https_proxy", "HTTPS_PROXY"}, &which)) {
    auto p = parse_proxy_url(v);
    if (!p)
      return Error::invalid(fmt::format("environment variable {} {}", which, p.error().message));
    out.https = std::move(*p);
  }
  if (const char* v = env_first({"http_proxy", "HTTP_PROXY"}, &which)) {
    auto p = parse_proxy_url(v);
    if (!p)
      return Error::invalid(fmt::format("environment variable {} {}", which, p.error().message));
    out.http = std::move(*p);
  }
  if (const char* v = env_first({"no_proxy", "NO_PROXY"}, &which)) out.no_proxy = v;
  return out;
}

Result<ProxySettings> ProxySettings::single(std::string_view url, std::string no_proxy) {
  auto p = parse_proxy_url(url);
  if (!p) return p.error();
  ProxySettings out;
  out.http = *p;
  out.https = std::move(*p);
  out.no_proxy = std::move(no_proxy);
  return out;
}

const ProxyServer* ProxySettings::select(const Url& target) const {
  const auto& p = target.tls ? https : http;
  if (!p) return nullptr;
  if (no_proxy_matches(no_proxy, target.host, target.port)) return nullptr;
  return &*p;
}

bool no_proxy_matches(std::string_view no_proxy, std::string_view host_in, uint16_t port) {
  std::string host = lower(host_in);
  while (!host.empty() && host.back() == '.') host.pop_back();
  const bool is_ip = host.find(':') != std::string::npos ||
                     host.find_first_not_of("0123456789.") == std::string::npos;
  size_t start = 0;
  while (start <= no_proxy.size()) {
    size_t comma = no_proxy.find(',', start);
    std::string entry = lower(trim(no_proxy.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start)));
    start = comma == std::string_view::npos ? no_proxy.size() + 1 : comma + 1;
    if (entry.empty()) continue;
    if (entry == "*") return true;
    // An optional ":port" (not for bracketed or bare IPv6 literals).
    if (entry.front() == '[') {
      size_t close = entry.find(']');
      if (close == std::string::npos) continue;
      std::string rest = entry.substr(close + 1);
      entry = entry.substr(1, close - 1);
      if (rest.size() > 1 && rest[0] == ':' && std::to_string(port) != rest.substr(1)) continue;
    } else if (std::count(entry.begin(), entry.end(), ':') == 1) {
      size_t colon = entry.find(':');
      if (entry.substr(colon + 1) != std::to_string(port)) continue;
      entry.resize(colon);
    }
    if (!entry.empty() && entry.front() == '.') entry.erase(0, 1);
    while (!entry.empty() && entry.back() == '.') entry.pop_back();
    if (entry.empty()) continue;
    if (host == entry) return true;
    if (is_ip) continue;  // IP literals match exactly, never as a domain suffix
    if (host.size() > entry.size() && host.ends_with(entry) &&
        host[host.size() - entry.size() - 1] == '.')
      return true;
  }
  return false;
}

}  // namespace smmf::net
