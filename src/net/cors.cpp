#include "net/cors.h"

#include <algorithm>

namespace smmf::net {
namespace {
constexpr std::string_view kMethods = "GET, POST, PUT, DELETE, OPTIONS";
constexpr std::string_view kDefaultHeaders =
    "authorization, api-key, content-type, x-request-id, x-session-id";
constexpr std::string_view kExposed = "x-request-id, retry-after";
constexpr std::string_view kMaxAge = "600";  // seconds a browser may cache a preflight answer
}  // namespace

Cors::Cors(std::vector<std::string> origins) : origins_(std::move(origins)) {
  any_ = std::find(origins_.begin(), origins_.end(), "*") != origins_.end();
  // Origins compare without a trailing slash ("https://app.example" == "https://app.example/").
  for (auto& o : origins_)
    while (o.size() > 1 && o.back() == '/') o.pop_back();
}

std::string Cors::allow_origin(std::string_view origin) const {
  if (!enabled() || origin.empty()) return {};
  if (any_) return "*";
  for (const auto& o : origins_)
    if (o == origin) return o;
  return {};
}

bool Cors::is_preflight(const Request& req) {
  return req.method() == http::verb::options && req.find(http::field::origin) != req.end() &&
         req.find(http::field::access_control_request_method) != req.end();
}

Response Cors::preflight(const Request& req) const {
  Response res{http::status::no_content, req.version()};
  std::string allowed = allow_origin(req[http::field::origin]);
  if (allowed.empty()) {
    res.result(http::status::forbidden);
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.body() = "origin not allowed\n";
    return res;
  }
  res.set(http::field::access_control_allow_origin, allowed);
  res.set(http::field::access_control_allow_methods, kMethods);
  auto requested = req[http::field::access_control_request_headers];
  res.set(http::field::access_control_allow_headers,
          requested.empty() ? kDefaultHeaders : std::string_view(requested));
  res.set(http::field::access_control_max_age, kMaxAge);
  if (allowed != "*") res.set(http::field::vary, "Origin");
  return res;
}

std::vector<std::pair<std::string, std::string>> Cors::response_headers(const Request& req) const {
  std::vector<std::pair<std::string, std::string>> out;
  std::string allowed = allow_origin(req[http::field::origin]);
  if (allowed.empty()) return out;
  out.emplace_back("access-control-allow-origin", allowed);
  out.emplace_back("access-control-expose-headers", std::string(kExposed));
  if (allowed != "*") out.emplace_back("vary", "Origin");
  return out;
}

}  // namespace smmf::net
