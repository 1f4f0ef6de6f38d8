#include "gateway/controller_watch.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>

namespace smmf::gateway {
namespace json = boost::json;

namespace {
Result<registry::Changes> parse_changes(std::string_view body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return Error::unavailable("the controller sent invalid JSON");
  const auto& o = v.get_object();
  registry::Changes c;
  const json::value* rev = o.if_contains("revision");
  const json::value* snap = o.if_contains("snapshot");
  const json::value* events = o.if_contains("events");
  if (!rev || !rev->is_number() || !events || !events->is_array())
    return Error::unavailable("the controller's watch answer lacks revision or events");
  c.revision = rev->to_number<uint64_t>();
  c.snapshot = snap && snap->is_bool() && snap->get_bool();
  for (const auto& e : events->get_array()) {
    auto ev = registry::event_from_json(e);
    if (!ev) return ev.error();
    c.events.push_back(std::move(*ev));
  }
  return c;
}
}  // namespace

ControllerWatch::ControllerWatch(std::shared_ptr<net::HttpClient> client, net::Url controller,
                                 ClusterDirectory& directory)
    : client_(std::move(client)), controller_(std::move(controller)), directory_(directory) {}

asio::awaitable<void> ControllerWatch::run() {
  asio::steady_timer backoff(co_await asio::this_coro::executor);
  uint64_t since = 0;
  int epoch = 0;
  int failures = 0;
  bool first = true;
  while (!stopped_) {
    auto res = co_await client_->send(
        controller_,
        net::ClientRequest::get(fmt::format("/api/v1/watch?since={}&timeout_ms=25000", since)));
    Result<registry::Changes> changes =
        !res ? Result<registry::Changes>(res.error().error)
        : res->status != 200
            ? Result<registry::Changes>(Error::unavailable(fmt::format("HTTP {}", res->status)))
            : parse_changes(res->body);
    if (!changes) {
      if (failures++ == 0)
        spdlog::warn(
            "watching the controller at {} failed: {}; routing from the last known "
            "state and retrying",
            controller_.origin(), changes.error().message);
      backoff.expires_after(
          std::chrono::milliseconds(std::min(200 * (1 << std::min(failures, 5)), 5000)));
      co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    if (failures > 0) spdlog::info("watching the controller at {} again", controller_.origin());
    failures = 0;
    if (changes->snapshot && !first) ++epoch;
    first = false;
    since = changes->revision;
    directory_.apply(*changes, std::to_string(epoch));
  }
}

}  // namespace smmf::gateway
