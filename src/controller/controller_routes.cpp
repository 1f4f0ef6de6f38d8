#include "controller/controller_routes.h"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>

#include <fmt/format.h>
#include <charconv>
#include <map>
#include <set>

#include "protocol/http_errors.h"
#include "protocol/openai_json.h"

namespace smmf::controller {
using protocol::error_body;
using protocol::error_status;
namespace json = boost::json;
using net::http::status;
using net::http::verb;

namespace {

constexpr std::string_view kInstancesPrefix = "/api/v1/instances/";
constexpr std::string_view kModelsPrefix = "/api/v1/models/";
constexpr std::string_view kHeartbeatSuffix = "/heartbeat";

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

asio::awaitable<void> send_error(net::HttpExchange& ex, const Error& e) {
  ex.add_log_field("error", fmt::format("\"{}\"", e.message));
  co_await ex.send_json(error_status(e), error_body(e));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> pct_decode(std::string_view s, std::string_view what) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    int hi = i + 2 < s.size() ? hex_value(s[i + 1]) : -1;
    int lo = i + 2 < s.size() ? hex_value(s[i + 2]) : -1;
    if (hi < 0 || lo < 0)
      return Error::invalid(fmt::format("the {} in the path has a malformed %-escape", what));
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

using Query = std::map<std::string, std::string, std::less<>>;

Result<Query> query_params(std::string_view target) {
  auto u = boost::urls::parse_origin_form(target);
  if (!u) return Error::invalid("malformed request target");
  Query q;
  for (auto p : u->params()) q[std::string(p.key)] = p.has_value ? std::string(p.value) : "";
  return q;
}

std::string_view param(const Query& q, std::string_view key) {
  auto it = q.find(key);
  return it == q.end() ? std::string_view{} : std::string_view(it->second);
}

Result<uint64_t> parse_uint(std::string_view s, std::string_view name) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size())
    return Error::invalid(fmt::format("{} must be a non-negative integer", name),
                          std::string(name));
  return v;
}

// JSON bodies are built here, outside coroutines (GCC 12 rejects string-literal initializer
// lists in coroutine frames).

json::object ok_body() {
  return {{"status", "ok"}};
}

json::object registered_body(const std::string& id, uint64_t revision, int64_t interval_ms) {
  return {{"id", id}, {"revision", revision}, {"heartbeat_interval_ms", interval_ms}};
}

json::object revision_body(uint64_t revision) {
  return {{"revision", revision}};
}

json::object deleted_body(const std::string& id, uint64_t revision) {
  return {{"id", id}, {"deleted", true}, {"revision", revision}};
}

json::object list_body(uint64_t revision, const std::vector<registry::InstanceRecord>& records) {
  json::array data;
  data.reserve(records.size());
  for (const auto& r : records) data.push_back(registry::to_json(r));
  return {{"revision", revision}, {"data", std::move(data)}};
}

json::object watch_body(const registry::Changes& c) {
  json::array events;
  events.reserve(c.events.size());
  for (const auto& e : c.events) events.push_back(registry::to_json(e));
  return {{"revision", c.revision}, {"snapshot", c.snapshot}, {"events", std::move(events)}};
}

std::string worker_key(const registry::InstanceRecord& r) {
  return r.worker.empty() ? r.worker_address : r.worker;
}

json::object workers_body(const std::vector<registry::InstanceRecord>& records) {
  struct Worker {
    std::string address;
    std::set<std::string> models;
    int instances = 0;
    bool healthy = false;
    int64_t last_heartbeat_ms = 0;
  };
  std::map<std::string, Worker> workers;
  for (const auto& r : records) {
    if (r.worker.empty() && r.worker_address.empty()) continue;  // external instance
    auto& w = workers[worker_key(r)];
    if (w.address.empty()) w.address = r.worker_address;
    w.models.insert(r.model);
    ++w.instances;
    w.healthy = w.healthy || r.healthy;
    w.last_heartbeat_ms = std::max(w.last_heartbeat_ms, r.last_heartbeat_ms);
  }
  json::array data;
  for (const auto& [id, w] : workers) {
    json::array models;
    for (const auto& m : w.models) models.emplace_back(m);
    data.push_back(json::object{{"id", id},
                                {"address", w.address},
                                {"models", std::move(models)},
                                {"instances", w.instances},
                                {"healthy", w.healthy},
                                {"last_heartbeat_ms", w.last_heartbeat_ms}});
  }
  return {{"data", std::move(data)}};
}

// ---- relaying management commands to workers ------------------------------------------------

struct RelayTarget {
  std::string worker;
  std::string address;
};

struct RelayResult {
  std::string worker;
  std::string address;
  unsigned status = 0;
  json::value body;
};

json::object relay_result_json(const RelayResult& r) {
  return {{"worker", r.worker}, {"address", r.address}, {"status", r.status}, {"body", r.body}};
}

json::object relay_body(const std::string& model, const std::vector<RelayResult>& results,
                        const RelayResult* failed) {
  json::array list;
  for (const auto& r : results) list.push_back(relay_result_json(r));
  json::object out{{"model", model}, {"results", std::move(list)}};
  if (failed) {
    // Keep the OpenAI error shape on failure so SDK-style clients read a message.
    std::string message;
    if (auto* o = failed->body.if_object())
      if (auto* e = o->if_contains("error"); e && e->is_object())
        if (auto* m = e->get_object().if_contains("message"); m && m->is_string())
          message = std::string(m->get_string());
    if (message.empty()) message = fmt::format("status {}", failed->status);
    Error err{ErrorCode::kUnavailable, fmt::format("worker {}: {}", failed->worker, message), {}};
    auto eb = error_body(err);
    out["error"] = std::move(eb["error"]);
  }
  return out;
}

json::value parse_or_string(const std::string& body) {
  if (body.empty()) return nullptr;
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return json::value(body);
  return v;
}

asio::awaitable<RelayResult> relay_one(std::shared_ptr<net::HttpClient> client, RelayTarget t,
                                       std::string target, std::string body) {
  RelayResult r;
  r.worker = t.worker;
  r.address = t.address;
  auto url = net::parse_url(t.address);
  if (!url) {
    r.status = 502;
    r.body = error_body(Error::invalid(
        fmt::format("worker address '{}' is not a URL: {}", t.address, url.error().message)));
    co_return r;
  }
  auto res = co_await client->send(*url, net::ClientRequest::post(std::move(target), body));
  if (!res) {
    const Error& e = res.error().error;
    r.status = static_cast<unsigned>(error_status(e));
    r.body = error_body(e);
    spdlog::warn("relay to worker {} ({}) failed: {}", t.worker, t.address, e.message);
    co_return r;
  }
  r.status = res->status;
  r.body = parse_or_string(res->body);
  co_return r;
}

/// Collects the relays' results in target order; completions run on the relaying strand.
struct RelayJoin {
  RelayJoin(asio::any_io_executor ex, const std::vector<RelayTarget>& targets)
      : all_done(ex, asio::steady_timer::time_point::max()),
        results(targets.size()),
        remaining(targets.size()) {
    for (size_t i = 0; i < targets.size(); ++i) {
      results[i].worker = targets[i].worker;
      results[i].address = targets[i].address;
    }
  }
  void done(size_t i, std::exception_ptr e, RelayResult r) {
    if (e) {
      results[i].status = 500;
      results[i].body = error_body(Error::internal("relay failed unexpectedly"));
    } else {
      results[i] = std::move(r);
    }
    if (--remaining == 0) all_done.cancel();
  }
  asio::steady_timer all_done;
  std::vector<RelayResult> results;
  size_t remaining;
};

Error no_worker_error(const std::string& model, const std::string& worker) {
  if (worker.empty())
    return Error::not_found(fmt::format("no worker hosts model '{}'", model), "model");
  return Error::not_found(fmt::format("worker '{}' does not host model '{}'", worker, model),
                          "worker");
}

}  // namespace

ControllerRoutes::ControllerRoutes(registry::Registry& registry, ControllerConfig cfg,
                                   std::shared_ptr<net::HttpClient> client)
    : registry_(registry),
      cfg_(std::move(cfg)),
      client_(std::move(client)),
      hub_(std::make_shared<WatchHub>()) {
  // The registry has no unsubscribe: hold the hub weakly so a registry that outlives us is safe.
  registry_.subscribe([weak = std::weak_ptr<WatchHub>(hub_)](uint64_t) {
    if (auto hub = weak.lock()) hub->notify_all();
  });
}

ControllerRoutes::~ControllerRoutes() {
  stop();
}

void ControllerRoutes::install(net::Router& router) {
  auto bind = [this](auto fn) {
    return [this, fn](net::HttpExchange& ex) { return (this->*fn)(ex); };
  };
  router.add(verb::post, "/api/v1/instances", bind(&ControllerRoutes::register_instance));
  router.add(verb::get, "/api/v1/instances", bind(&ControllerRoutes::list_instances));
  for (verb v : {verb::get, verb::put, verb::delete_})
    router.add_prefix(v, std::string(kInstancesPrefix), bind(&ControllerRoutes::instance_route));
  router.add(verb::get, "/api/v1/watch", bind(&ControllerRoutes::watch));
  router.add(verb::get, "/api/v1/workers", bind(&ControllerRoutes::workers));
  router.add_prefix(verb::post, std::string(kModelsPrefix), bind(&ControllerRoutes::relay));
  router.add(verb::get, "/healthz", [](net::HttpExchange& ex) -> asio::awaitable<void> {
    co_await ex.send_json(status::ok, ok_body());
  });
}

void ControllerRoutes::start(asio::any_io_executor ex) {
  auto strand = asio::make_strand(ex);
  auto timer = std::make_shared<asio::steady_timer>(strand);
  {
    std::lock_guard lock(timer_mu_);
    expiry_timer_ = timer;
  }
  asio::co_spawn(strand, expiry_loop(timer), asio::detached);
}

void ControllerRoutes::stop() {
  stopping_ = true;
  hub_->close();
  std::lock_guard lock(timer_mu_);
  if (expiry_timer_)
    asio::post(expiry_timer_->get_executor(), [t = expiry_timer_] { t->cancel(); });
  expiry_timer_.reset();
}

asio::awaitable<void> ControllerRoutes::expiry_loop(std::shared_ptr<asio::steady_timer> timer) {
  auto period = std::max<std::chrono::milliseconds>(cfg_.heartbeat_interval / 2,
                                                    std::chrono::milliseconds(10));
  while (!stopping_) {
    timer->expires_after(period);
    co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
    if (stopping_) break;
    try {
      expire_once(unix_ms());
    } catch (const std::exception& e) {
      spdlog::error("registry expiry failed: {}", e.what());
    }
  }
}

void ControllerRoutes::expire_once(int64_t now_ms) {
  const int64_t interval = cfg_.heartbeat_interval.count();
  const int64_t unhealthy_after = interval * cfg_.unhealthy_after_missed;
  const int64_t remove_after = interval * cfg_.remove_after_missed;
  // The Registry reports changes only as events, so remember each instance's last heartbeat to
  // tell expiry's events from concurrent deregistrations in the log.
  std::map<std::string, int64_t> last;
  for (const auto& r : registry_.list()) last[r.id] = r.last_heartbeat_ms;
  uint64_t before = registry_.revision();
  registry_.expire(now_ms, unhealthy_after, remove_after);
  if (registry_.revision() == before) return;
  auto changes = registry_.changes_since(before);
  if (changes.snapshot) return;  // more changes than the history holds; nothing precise to say
  for (const auto& e : changes.events) {
    auto it = last.find(e.record.id);
    if (it == last.end()) continue;
    int64_t age = now_ms - it->second;
    if (e.kind == registry::EventKind::kDelete && age > remove_after)
      spdlog::warn("instance {} (model {}) removed: no heartbeat for {} ms", e.record.id,
                   e.record.model, age);
    else if (e.kind == registry::EventKind::kPut && !e.record.healthy)
      spdlog::warn("instance {} (model {}) unhealthy: no heartbeat for {} ms", e.record.id,
                   e.record.model, age);
  }
}

// ---- instances ------------------------------------------------------------------------------

asio::awaitable<void> ControllerRoutes::register_instance(Exchange& ex) {
  auto body = protocol::parse_json(ex.request().body());
  if (!body) {
    co_await send_error(ex, body.error());
    co_return;
  }
  auto rec = registry::instance_from_json(*body);
  if (!rec) {
    co_await send_error(ex, rec.error());
    co_return;
  }
  std::string id = rec->id;
  ex.add_log_field("instance", id);
  if (auto st = registry_.put(std::move(*rec)); !st) {
    co_await send_error(ex, st.error());
    co_return;
  }
  co_await ex.send_json(status::ok,
                        registered_body(id, registry_.revision(), cfg_.heartbeat_interval.count()));
}

asio::awaitable<void> ControllerRoutes::list_instances(Exchange& ex) {
  auto q = query_params(ex.request().target());
  if (!q) {
    co_await send_error(ex, q.error());
    co_return;
  }
  registry::ListFilter filter;
  filter.model = std::string(param(*q, "model"));
  filter.type = std::string(param(*q, "type"));
  if (auto h = param(*q, "healthy"); !h.empty()) {
    if (h != "true" && h != "false") {
      co_await send_error(ex, Error::invalid("healthy must be true or false", "healthy"));
      co_return;
    }
    filter.healthy = h == "true";
  }
  // The revision is read first: a client that lists and then watches from it may see a change
  // twice, never miss one.
  uint64_t revision = registry_.revision();
  auto records = registry_.list(filter);
  json::value body = list_body(revision, records);
  co_await ex.send_json(status::ok, body);
}

asio::awaitable<void> ControllerRoutes::instance_route(Exchange& ex) {
  std::string_view rest = ex.target_path().substr(kInstancesPrefix.size());
  const verb method = ex.request().method();
  bool heartbeat = false;
  if (method == verb::put) {
    if (!rest.ends_with(kHeartbeatSuffix) || rest.size() == kHeartbeatSuffix.size()) {
      co_await ex.send_json(status::not_found,
                            error_body(status::not_found, "PUT is only for /{id}/heartbeat"));
      co_return;
    }
    rest.remove_suffix(kHeartbeatSuffix.size());
    heartbeat = true;
  }
  auto id = pct_decode(rest, "instance id");
  if (!id) {
    co_await send_error(ex, id.error());
    co_return;
  }
  ex.add_log_field("instance", *id);

  if (heartbeat) {
    registry::HeartbeatBody hb;
    Status st;
    if (!ex.request().body().empty()) {
      auto body = protocol::parse_json(ex.request().body());
      auto parsed = body ? registry::heartbeat_from_json(*body)
                         : Result<registry::HeartbeatBody>(body.error());
      if (parsed)
        hb = *parsed;
      else
        st = parsed.error();
    }
    if (st) st = registry_.heartbeat(*id, hb.state, hb.in_flight);
    if (!st) {
      co_await send_error(ex, st.error());
      co_return;
    }
    co_await ex.send_json(status::ok, revision_body(registry_.revision()));
    co_return;
  }
  if (method == verb::delete_) {
    if (auto st = registry_.remove(*id); !st) {
      co_await send_error(ex, st.error());
      co_return;
    }
    co_await ex.send_json(status::ok, deleted_body(*id, registry_.revision()));
    co_return;
  }
  auto rec = registry_.get(*id);
  if (!rec) {
    co_await send_error(
        ex, Error::not_found(fmt::format("instance '{}' is not registered", *id), "id"));
    co_return;
  }
  co_await ex.send_json(status::ok, registry::to_json(*rec));
}

// ---- watch ----------------------------------------------------------------------------------

asio::awaitable<void> ControllerRoutes::watch(Exchange& ex) {
  auto q = query_params(ex.request().target());
  if (!q) {
    co_await send_error(ex, q.error());
    co_return;
  }
  uint64_t since = 0;
  auto timeout = kDefaultWatchTimeout;
  if (auto s = param(*q, "since"); !s.empty()) {
    auto v = parse_uint(s, "since");
    if (!v) {
      co_await send_error(ex, v.error());
      co_return;
    }
    since = *v;
  }
  if (auto s = param(*q, "timeout_ms"); !s.empty()) {
    auto v = parse_uint(s, "timeout_ms");
    if (!v) {
      co_await send_error(ex, v.error());
      co_return;
    }
    timeout = std::chrono::milliseconds(std::min<uint64_t>(*v, kMaxWatchTimeout.count()));
  }
  const auto deadline = asio::steady_timer::clock_type::now() + timeout;

  // Registered before the first check, so a change between the check and the wait wakes us.
  auto waiter = hub_->add(co_await asio::this_coro::executor);
  auto gone = std::make_shared<bool>(false);
  ex.watch_disconnect([waiter, gone] {  // runs on this connection's strand
    *gone = true;
    waiter->wake_here();
  });
  registry::Changes changes;
  while (true) {
    changes = registry_.changes_since(since);
    if (changes.snapshot || !changes.events.empty()) break;
    if (*gone || hub_->closed() || asio::steady_timer::clock_type::now() >= deadline) break;
    co_await waiter->wait_until(deadline);
  }
  hub_->remove(waiter);
  if (*gone) ex.set_keep_alive(false);
  ex.add_log_field("events", std::to_string(changes.events.size()));
  co_await ex.send_json(status::ok, watch_body(changes));
}

// ---- workers and relayed management commands ------------------------------------------------

asio::awaitable<void> ControllerRoutes::workers(Exchange& ex) {
  // Named locals, not temporaries or default arguments, in coroutines: GCC 12 may destroy
  // those twice.
  registry::ListFilter all;
  auto records = registry_.list(all);
  json::value body = workers_body(records);
  co_await ex.send_json(status::ok, body);
}

asio::awaitable<void> ControllerRoutes::relay(Exchange& ex) {
  std::string_view rest = ex.target_path().substr(kModelsPrefix.size());
  auto slash = rest.rfind('/');
  std::string_view action = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  if (slash == std::string_view::npos || slash == 0 ||
      (action != "start" && action != "stop" && action != "restart" && action != "scale")) {
    co_await ex.send_json(
        status::not_found,
        error_body(status::not_found,
                   "expected POST /api/v1/models/{name}/start|stop|restart|scale"));
    co_return;
  }
  auto name = pct_decode(rest.substr(0, slash), "model name");
  if (!name) {
    co_await send_error(ex, name.error());
    co_return;
  }
  ex.add_log_field("model", *name);
  auto q = query_params(ex.request().target());
  if (!q) {
    co_await send_error(ex, q.error());
    co_return;
  }
  if (action == "scale") {
    auto body = protocol::parse_json(ex.request().body());
    const json::value* n = nullptr;
    if (body && body->is_object()) n = body->get_object().if_contains("replicas");
    if (!n || !n->is_int64() || n->get_int64() < 0) {
      co_await send_error(ex,
                          Error::invalid("replicas must be a non-negative integer", "replicas"));
      co_return;
    }
  }

  std::string want(param(*q, "worker"));
  while (want.size() > 1 && want.back() == '/') want.pop_back();
  std::vector<RelayTarget> targets;
  std::set<std::string> seen;
  registry::ListFilter filter;
  filter.model = *name;
  auto records = registry_.list(filter);
  for (const auto& r : records) {
    if (r.worker_address.empty()) continue;  // external instance: nothing to manage
    if (!want.empty() && r.worker != want && r.worker_address != want) continue;
    if (seen.insert(worker_key(r)).second) targets.push_back({worker_key(r), r.worker_address});
  }
  if (targets.empty()) {
    co_await send_error(ex, no_worker_error(*name, want));
    co_return;
  }

  // Every worker at once: a start may take as long as loading the model.
  std::string target = fmt::format("/api/v1/models/{}/{}", net::encode_component(*name), action);
  auto exec = co_await asio::this_coro::executor;
  auto join = std::make_shared<RelayJoin>(exec, targets);
  for (size_t i = 0; i < targets.size(); ++i)
    asio::co_spawn(
        exec, relay_one(client_, targets[i], target, ex.request().body()),
        [join, i](std::exception_ptr e, RelayResult r) { join->done(i, e, std::move(r)); });
  // Completions run on this strand too, so none can slip in between the check and the wait.
  if (join->remaining > 0) co_await join->all_done.async_wait(asio::as_tuple(asio::use_awaitable));
  const RelayResult* failed = nullptr;
  for (const auto& r : join->results)
    if (!failed && (r.status < 200 || r.status >= 300)) failed = &r;
  status st = failed ? static_cast<status>(failed->status) : status::ok;
  json::value body = relay_body(*name, join->results, failed);
  co_await ex.send_json(st, body);
}

}  // namespace smmf::controller
