#include "dashboard/dashboard_routes.h"

#include "dashboard/web_assets.h"
#include "protocol/http_errors.h"

namespace smmf::dashboard {
namespace asio = boost::asio;
namespace http = net::http;

namespace {

const WebAsset* find_asset(std::string_view path) {
  if (path.empty()) path = "index.html";
  for (const auto& a : web_assets())
    if (a.path == path) return &a;
  return nullptr;
}

net::Response asset_response(const WebAsset& a) {
  net::Response res{http::status::ok, 11};
  res.set(http::field::content_type, a.content_type);
  // The files change with the binary: revalidate rather than cache stale code after an upgrade.
  res.set(http::field::cache_control, "no-cache");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("X-Frame-Options", "DENY");
  // Everything is same-origin: no CDN, no inline script, so the page works offline.
  res.set("Content-Security-Policy",
          "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
          "connect-src 'self'; frame-ancestors 'none'");
  res.body() = std::string(a.body);
  return res;
}

asio::awaitable<void> serve_asset(net::HttpExchange& ex) {
  std::string_view path = ex.target_path().substr(std::string_view("/ui/").size());
  const WebAsset* a = find_asset(path);
  if (!a) {
    Error e = Error::not_found("no such dashboard file");
    co_await ex.send_json(protocol::error_status(e), protocol::error_body(e));
    co_return;
  }
  net::Response res = asset_response(*a);
  co_await ex.send(std::move(res));
}

asio::awaitable<void> redirect_to_ui(net::HttpExchange& ex) {
  net::Response res{http::status::permanent_redirect, 11};
  res.set(http::field::location, "/ui/");
  co_await ex.send(std::move(res));
}

}  // namespace

void install_dashboard(net::Router& router) {
  router.add(http::verb::get, "/ui", redirect_to_ui);
  router.add(http::verb::get, "/ui/", serve_asset);  // a prefix route needs a longer path
  router.add_prefix(http::verb::get, "/ui/", serve_asset);
}

}  // namespace smmf::dashboard
