#include "worker/control_plane.h"

#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "protocol/openai_client_json.h"

namespace smmf::worker {

boost::asio::awaitable<Status> LocalControlPlane::put(const registry::InstanceRecord& rec) {
  co_return registry_.put(rec);
}

boost::asio::awaitable<Status> LocalControlPlane::heartbeat(const std::string& id,
                                                            const std::string& state,
                                                            int in_flight) {
  co_return registry_.heartbeat(id, state, in_flight);
}

boost::asio::awaitable<Status> LocalControlPlane::remove(const std::string& id) {
  co_return registry_.remove(id);
}

boost::asio::awaitable<Result<std::string>> HttpControlPlane::call(net::ClientRequest req) {
  auto res = co_await client_->send(controller_, std::move(req));
  if (!res) co_return res.error().error;
  if (res->status >= 300)
    co_return protocol::upstream_error(res->status, res->body, controller_.origin());
  co_return std::move(res->body);
}

namespace {
int64_t parse_interval(const std::string& body) {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return 0;
  const boost::json::value* ms = v.get_object().if_contains("heartbeat_interval_ms");
  return ms && ms->is_int64() ? ms->get_int64() : 0;
}
}  // namespace

boost::asio::awaitable<Status> HttpControlPlane::put(const registry::InstanceRecord& rec) {
  auto body = co_await call(net::ClientRequest::post(
      "/api/v1/instances", boost::json::serialize(registry::to_json(rec))));
  if (!body) co_return body.error();
  if (auto ms = parse_interval(*body); ms > 0) announced_ms_ = ms;
  co_return Status{};
}

boost::asio::awaitable<Status> HttpControlPlane::heartbeat(const std::string& id,
                                                           const std::string& state,
                                                           int in_flight) {
  auto req = net::ClientRequest::post(
      fmt::format("/api/v1/instances/{}/heartbeat", net::encode_component(id)),
      boost::json::serialize(boost::json::object{{"state", state}, {"in_flight", in_flight}}));
  req.method = net::http::verb::put;
  auto body = co_await call(std::move(req));
  if (!body) co_return body.error();
  co_return Status{};
}

boost::asio::awaitable<Status> HttpControlPlane::remove(const std::string& id) {
  auto req =
      net::ClientRequest::get(fmt::format("/api/v1/instances/{}", net::encode_component(id)));
  req.method = net::http::verb::delete_;
  auto body = co_await call(std::move(req));
  if (!body) co_return body.error();
  co_return Status{};
}

}  // namespace smmf::worker
