#include "worker/worker_routes.h"

#include <fmt/format.h>

#include <boost/json/parse.hpp>
#include "protocol/http_errors.h"

namespace smmf::worker {
namespace json = boost::json;
using net::http::status;

boost::json::object to_json(const ModelStatus& m) {
  json::object o;
  o["name"] = m.name;
  o["type"] = m.type;
  o["engine"] = m.engine;
  o["state"] = to_string(m.state);
  o["failure"] = m.failure;
  o["replicas"] = m.replicas;
  o["running"] = m.running;
  o["in_flight"] = m.in_flight;
  o["loaded"] = m.loaded;
  o["load"] = m.on_demand ? "on_demand" : "eager";
  o["weight"] = m.weight;
  o["context_length"] = m.context_length;
  json::object labels;
  for (const auto& [k, v] : m.labels) labels[k] = v;
  o["labels"] = std::move(labels);
  return o;
}

namespace {
json::object list_body(const std::vector<ModelStatus>& models) {
  json::array data;
  for (const auto& m : models) data.push_back(to_json(m));
  json::object o;
  o["data"] = std::move(data);
  return o;
}
}  // namespace

void WorkerRoutes::install(net::Router& router) {
  router.add(net::http::verb::get, "/api/v1/models",
             [this](net::HttpExchange& ex) { return list(ex); });
  router.add_prefix(net::http::verb::post, "/api/v1/models/",
                    [this](net::HttpExchange& ex) { return action(ex); });
}

asio::awaitable<void> WorkerRoutes::fail(net::HttpExchange& ex, const Error& e) {
  ex.add_log_field("error", fmt::format("\"{}\"", e.message));
  if (e.retry_after_s > 0) ex.add_response_header("retry-after", std::to_string(e.retry_after_s));
  co_await ex.send_json(protocol::error_status(e), protocol::error_body(e));
}

asio::awaitable<void> WorkerRoutes::list(net::HttpExchange& ex) {
  co_await ex.send_json(status::ok, list_body(models_.list()));
}

asio::awaitable<void> WorkerRoutes::action(net::HttpExchange& ex) {
  std::string_view rest = ex.target_path().substr(std::string_view("/api/v1/models/").size());
  size_t slash = rest.rfind('/');
  if (slash == std::string_view::npos || slash == 0) {
    co_await fail(ex, Error::not_found("expected /api/v1/models/{name}/{action}"));
    co_return;
  }
  std::string name(rest.substr(0, slash));
  std::string_view verb = rest.substr(slash + 1);
  ex.add_log_field("model", name);
  Status st;
  if (verb == "start") {
    st = co_await models_.start(name);
  } else if (verb == "stop") {
    st = co_await models_.stop(name);
  } else if (verb == "restart") {
    st = co_await models_.restart(name);
  } else if (verb == "scale") {
    boost::system::error_code ec;
    auto body = json::parse(ex.request().body(), ec);
    const json::value* r =
        !ec && body.is_object() ? body.get_object().if_contains("replicas") : nullptr;
    if (!r || !r->is_int64()) {
      co_await fail(ex, Error::invalid("body must be {\"replicas\": N}", "replicas"));
      co_return;
    }
    st = co_await models_.scale(name, static_cast<int>(r->get_int64()));
  } else {
    co_await fail(ex, Error::not_found(fmt::format("unknown action '{}'", verb)));
    co_return;
  }
  if (!st) {
    co_await fail(ex, st.error());
    co_return;
  }
  for (const auto& m : models_.list()) {
    if (m.name == name) {
      co_await ex.send_json(status::ok, to_json(m));
      co_return;
    }
  }
  co_await fail(ex, Error::not_found(fmt::format("no model '{}'", name), "model"));
}

}  // namespace smmf::worker
