#include "engines/tgi/upstream.h"

#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "protocol/openai_client_json.h"

namespace smmf::engines::tgi {
namespace json = boost::json;

net::ClientRequest Upstream::post(std::string target, const json::object& body,
                                  const CallContext& ctx) const {
  auto req = net::ClientRequest::post(std::move(target), json::serialize(body));
  if (!opts_.api_key.empty()) req.headers.emplace_back("Authorization", "Bearer " + opts_.api_key);
  for (const auto& h : opts_.headers) req.headers.push_back(h);
  if (!ctx.request_id.empty()) req.headers.emplace_back("x-request-id", ctx.request_id);
  req.cancel = ctx.cancel;
  return req;
}

asio::awaitable<Result<JsonAnswer>> Upstream::call(std::string target, const json::object& body,
                                                   const CallContext& ctx) const {
  auto res = co_await client_->send(opts_.base, post(std::move(target), body, ctx));
  if (!res) co_return res.error().error;
  if (res->status != 200) {
    Error e = protocol::upstream_error(res->status, res->body, opts_.base.origin());
    // TGI and TEI say 424 when the model itself failed: another instance may do better.
    if (res->status == 424) {
      e.code = ErrorCode::kUnavailable;
      e.http_status = 0;  // answered as 503
    }
    co_return e;
  }
  boost::system::error_code ec;
  JsonAnswer out;
  out.body = json::parse(res->body, ec);
  if (ec)
    co_return Error::unavailable(fmt::format("{} answered invalid JSON", opts_.base.origin()));
  out.headers = std::move(res->headers);
  co_return out;
}

asio::awaitable<Status> Upstream::check_health() const {
  auto req = net::ClientRequest::get("/health");
  if (!opts_.api_key.empty()) req.headers.emplace_back("Authorization", "Bearer " + opts_.api_key);
  auto res = co_await client_->send(opts_.base, std::move(req));
  if (!res) co_return res.error().error;
  if (res->status != 200)
    co_return Error::unavailable(
        fmt::format("{}/health answered {}", opts_.base.origin(), res->status));
  co_return Status{};
}

Error bad_param(const ModelConfig& cfg, std::string_view key, std::string_view why) {
  return Error::invalid(fmt::format("{}: params.{} {}", cfg.origin, key, why),
                        fmt::format("params.{}", key));
}

Error unknown_param(const ModelConfig& cfg, std::string_view engine, std::string_view key) {
  return bad_param(cfg, key, fmt::format("is not a known setting of the {} engine", engine));
}

Result<UpstreamOptions> take_upstream_params(const ModelConfig& cfg, json::object& params) {
  UpstreamOptions o;
  std::string base_url;
  if (const json::value* v = params.if_contains("base_url")) {
    if (!v->is_string()) return bad_param(cfg, "base_url", "must be a string");
    base_url = v->get_string();
    params.erase("base_url");
  }
  if (const json::value* v = params.if_contains("api_key")) {
    if (!v->is_string()) return bad_param(cfg, "api_key", "must be a string");
    o.api_key = v->get_string();
    params.erase("api_key");
  }
  if (const json::value* v = params.if_contains("headers")) {
    if (!v->is_object()) return bad_param(cfg, "headers", "must be a table of strings");
    for (const auto& [k, hv] : v->get_object()) {
      if (!hv.is_string()) return bad_param(cfg, "headers", "must be a table of strings");
      o.headers.emplace_back(std::string(k), std::string(hv.get_string()));
    }
    params.erase("headers");
  }
  if (base_url.empty()) return bad_param(cfg, "base_url", "is required");
  auto url = net::parse_url(base_url);
  if (!url) return bad_param(cfg, "base_url", url.error().message);
  o.base = std::move(*url);
  return o;
}

}  // namespace smmf::engines::tgi
