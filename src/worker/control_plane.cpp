#include "worker/control_plane.h"

#include <fmt/format.h>
#include <boost/json/serialize.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

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

namespace {
std::string encode_id(const std::string& id) {
  return boost::urls::encode(id, boost::urls::unreserved_chars);
}
}  // namespace

boost::asio::awaitable<Status> HttpControlPlane::call(net::ClientRequest req) {
  auto res = co_await client_->send(controller_, std::move(req));
  if (!res) co_return res.error().error;
  if (res->status >= 300)
    co_return protocol::upstream_error(res->status, res->body, controller_.origin());
  co_return Status{};
}

boost::asio::awaitable<Status> HttpControlPlane::put(const registry::InstanceRecord& rec) {
  co_return co_await call(net::ClientRequest::post("/api/v1/instances",
                                                   boost::json::serialize(registry::to_json(rec))));
}

boost::asio::awaitable<Status> HttpControlPlane::heartbeat(const std::string& id,
                                                           const std::string& state,
                                                           int in_flight) {
  auto req = net::ClientRequest::post(
      fmt::format("/api/v1/instances/{}/heartbeat", encode_id(id)),
      boost::json::serialize(boost::json::object{{"state", state}, {"in_flight", in_flight}}));
  req.method = net::http::verb::put;
  co_return co_await call(std::move(req));
}

boost::asio::awaitable<Status> HttpControlPlane::remove(const std::string& id) {
  auto req = net::ClientRequest::get(fmt::format("/api/v1/instances/{}", encode_id(id)));
  req.method = net::http::verb::delete_;
  co_return co_await call(std::move(req));
}

}  // namespace smmf::worker
