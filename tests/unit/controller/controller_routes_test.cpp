// The controller's HTTP API over real loopback sockets: registration, heartbeats, listing,
// long-poll watches, expiry, and management commands relayed to a fake worker.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <future>
#include <mutex>
#include <thread>

#include "controller/controller_routes.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "protocol/http_errors.h"
#include "registry/memory_registry.h"

namespace smmf::controller {
namespace {

namespace json = boost::json;
using net::http::status;
using net::http::verb;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct Reply {
  unsigned status = 0;
  json::value body;
};

std::string instance_json(const std::string& id, const std::string& model,
                          const std::string& worker = "", const std::string& worker_address = "") {
  json::object o;
  o["id"] = id;
  o["model"] = model;
  o["address"] = "http://127.0.0.1:9";
  if (!worker.empty()) o["worker"] = worker;
  if (!worker_address.empty()) o["worker_address"] = worker_address;
  return json::serialize(o);
}

/// A worker stand-in: records the management calls it gets and answers `answer_status`.
struct FakeWorker {
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> calls;  // target, body
  unsigned answer_status = 200;
};

class ControllerTest : public testing::Test {
 protected:
  void SetUp() override {
    registry_ = std::make_unique<registry::MemoryRegistry>();
    cfg_.heartbeat_interval = milliseconds(1000);
  }

  void start() {
    client_ = std::make_shared<net::HttpClient>(ioc_.get_executor());
    routes_ = std::make_unique<ControllerRoutes>(*registry_, cfg_, client_);
    auto router = std::make_shared<net::Router>();
    routes_->install(*router);
    server_ = make_server(router);
    url_ = *net::parse_url("http://127.0.0.1:" + std::to_string(server_->port()));
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { ioc_.run(); });
  }

  std::shared_ptr<net::HttpServer> make_server(std::shared_ptr<net::Router> router) {
    ServerConfig sc;
    sc.port = 0;
    sc.shutdown_grace = std::chrono::seconds(2);
    auto s = std::make_shared<net::HttpServer>(
        ioc_, sc, router,
        [](status st, std::string_view m) -> json::value { return protocol::error_body(st, m); });
    EXPECT_TRUE(s->listen());
    s->start();
    return s;
  }

  std::string start_fake_worker() {
    auto router = std::make_shared<net::Router>();
    router->add_prefix(
        verb::post, "/api/v1/models/", [this](net::HttpExchange& ex) -> asio::awaitable<void> {
          unsigned st;
          {
            std::lock_guard lock(worker_.mu);
            worker_.calls.emplace_back(std::string(ex.request().target()), ex.request().body());
            st = worker_.answer_status;
          }
          co_await ex.send_text(static_cast<status>(st), R"({"ok":true})", "application/json");
        });
    worker_server_ = make_server(router);
    return "http://127.0.0.1:" + std::to_string(worker_server_->port());
  }

  void TearDown() override {
    if (routes_) routes_->stop();
    for (auto* s : {&server_, &worker_server_}) {
      if (!*s) continue;
      std::promise<void> stopped;
      (*s)->stop([&] { stopped.set_value(); });
      stopped.get_future().wait_for(std::chrono::seconds(10));
    }
    client_.reset();
    ioc_.stop();
    for (auto& t : threads_) t.join();
  }

  template <class T>
  T run(asio::awaitable<T> a) {
    return asio::co_spawn(ioc_, std::move(a), asio::use_future).get();
  }

  asio::awaitable<Reply> call_async(verb method, std::string target, std::string body = "") {
    net::ClientRequest req;
    req.method = method;
    req.target = std::move(target);
    req.body = std::move(body);
    auto r = co_await client_->send(url_, std::move(req));
    Reply out;
    if (!r) {
      ADD_FAILURE() << r.error().error.message;
      co_return out;
    }
    out.status = r->status;
    boost::system::error_code ec;
    out.body = json::parse(r->body, ec);
    if (ec) out.body = json::value(r->body);
    co_return out;
  }

  Reply call(verb method, std::string target, std::string body = "") {
    return run(call_async(method, std::move(target), std::move(body)));
  }

  /// Watches on a separate client connection, returning the reply and when it arrived.
  std::future<std::pair<Reply, Clock::time_point>> watch_async(const std::string& query) {
    return asio::co_spawn(
        ioc_,
        [this, query]() -> asio::awaitable<std::pair<Reply, Clock::time_point>> {
          auto r = co_await call_async(verb::get, "/api/v1/watch?" + query);
          co_return std::pair{std::move(r), Clock::now()};
        },
        asio::use_future);
  }

  uint64_t revision_of(const Reply& r) { return r.body.at("revision").to_number<uint64_t>(); }

  void wait_parked(size_t n) {
    auto deadline = Clock::now() + std::chrono::seconds(5);
    while (routes_->parked_watches() < n && Clock::now() < deadline)
      std::this_thread::sleep_for(milliseconds(2));
    ASSERT_EQ(routes_->parked_watches(), n);
  }

  asio::io_context ioc_;
  std::vector<std::thread> threads_;
  std::unique_ptr<registry::MemoryRegistry> registry_;
  ControllerConfig cfg_;
  std::shared_ptr<net::HttpClient> client_;
  std::unique_ptr<ControllerRoutes> routes_;
  std::shared_ptr<net::HttpServer> server_;
  std::shared_ptr<net::HttpServer> worker_server_;
  FakeWorker worker_;
  net::Url url_;
};

TEST_F(ControllerTest, RegisterListHeartbeatDelete) {
  start();
  auto reg = call(verb::post, "/api/v1/instances", instance_json("w1/qwen", "qwen", "w1"));
  ASSERT_EQ(reg.status, 200u) << json::serialize(reg.body);
  EXPECT_EQ(reg.body.at("id").as_string(), "w1/qwen");
  EXPECT_EQ(reg.body.at("revision").to_number<int>(), 1);
  EXPECT_EQ(reg.body.at("heartbeat_interval_ms").to_number<int>(), 1000);
  ASSERT_EQ(call(verb::post, "/api/v1/instances", instance_json("e1", "bge")).status, 200u);

  auto all = call(verb::get, "/api/v1/instances");
  ASSERT_EQ(all.status, 200u);
  EXPECT_EQ(revision_of(all), 2u);
  EXPECT_EQ(all.body.at("data").as_array().size(), 2u);
  auto only = call(verb::get, "/api/v1/instances?model=qwen&healthy=true");
  ASSERT_EQ(only.body.at("data").as_array().size(), 1u);
  EXPECT_EQ(only.body.at("data").at(0).at("id").as_string(), "w1/qwen");
  EXPECT_EQ(call(verb::get, "/api/v1/instances?healthy=false").body.at("data").as_array().size(),
            0u);
  EXPECT_EQ(call(verb::get, "/api/v1/instances?healthy=maybe").status, 400u);

  // Ids with '/' travel percent-encoded; a raw '/' is accepted too.
  auto one = call(verb::get, "/api/v1/instances/w1%2Fqwen");
  ASSERT_EQ(one.status, 200u);
  EXPECT_EQ(one.body.at("model").as_string(), "qwen");
  EXPECT_EQ(call(verb::get, "/api/v1/instances/w1/qwen").status, 200u);

  auto hb = call(verb::put, "/api/v1/instances/w1%2Fqwen/heartbeat",
                 R"({"state":"running","in_flight":3})");
  ASSERT_EQ(hb.status, 200u) << json::serialize(hb.body);
  EXPECT_EQ(revision_of(hb), 2u);  // liveness only: no new revision
  EXPECT_EQ(registry_->get("w1/qwen")->in_flight, 3);
  EXPECT_EQ(call(verb::put, "/api/v1/instances/w1/qwen/heartbeat", "").status, 200u);
  auto bad_state = call(verb::put, "/api/v1/instances/w1%2Fqwen/heartbeat", R"({"state":"up"})");
  EXPECT_EQ(bad_state.status, 400u);
  EXPECT_EQ(bad_state.body.at("error").at("param").as_string(), "state");

  auto unknown = call(verb::put, "/api/v1/instances/nope/heartbeat", R"({"state":"running"})");
  EXPECT_EQ(unknown.status, 404u);
  EXPECT_EQ(unknown.body.at("error").at("code").as_string(), "not_found");

  auto del = call(verb::delete_, "/api/v1/instances/w1%2Fqwen");
  ASSERT_EQ(del.status, 200u);
  EXPECT_EQ(revision_of(del), 3u);
  EXPECT_EQ(call(verb::delete_, "/api/v1/instances/w1%2Fqwen").status, 404u);
  EXPECT_EQ(call(verb::get, "/api/v1/instances/w1%2Fqwen").status, 404u);
  EXPECT_EQ(call(verb::get, "/healthz").status, 200u);
}

TEST_F(ControllerTest, InvalidRegistrationIs400WithParam) {
  start();
  json::object o;
  o["id"] = "a";
  o["model"] = "m";
  o["address"] = "ftp://example.com";
  auto r = call(verb::post, "/api/v1/instances", json::serialize(o));
  ASSERT_EQ(r.status, 400u);
  const auto& err = r.body.at("error");
  EXPECT_EQ(err.at("param").as_string(), "address");
  EXPECT_EQ(err.at("message").as_string(), "address must be an http(s) URL");
  EXPECT_EQ(err.at("type").as_string(), "invalid_request_error");
  EXPECT_EQ(call(verb::post, "/api/v1/instances", "{not json").status, 400u);
  EXPECT_EQ(call(verb::post, "/api/v1/instances", R"({"id":"a"})")
                .body.at("error")
                .at("param")
                .as_string(),
            "model");
  EXPECT_EQ(registry_->revision(), 0u);
}

TEST_F(ControllerTest, WatchAnswersAtOnceWhenBehind) {
  start();
  ASSERT_TRUE(registry_->put(
      *registry::instance_from_json(json::parse(instance_json("a", "m")))));  // revision 1
  ASSERT_TRUE(registry_->put(
      *registry::instance_from_json(json::parse(instance_json("b", "m")))));  // revision 2

  auto t0 = Clock::now();
  auto snap = call(verb::get, "/api/v1/watch?since=0");
  ASSERT_EQ(snap.status, 200u);
  EXPECT_TRUE(snap.body.at("snapshot").as_bool());
  EXPECT_EQ(revision_of(snap), 2u);
  EXPECT_EQ(snap.body.at("events").as_array().size(), 2u);

  auto inc = call(verb::get, "/api/v1/watch?since=1");
  EXPECT_FALSE(inc.body.at("snapshot").as_bool());
  ASSERT_EQ(inc.body.at("events").as_array().size(), 1u);
  const auto& e = inc.body.at("events").at(0);
  EXPECT_EQ(e.at("type").as_string(), "put");
  EXPECT_EQ(e.at("revision").to_number<int>(), 2);
  EXPECT_EQ(e.at("instance").at("id").as_string(), "b");
  EXPECT_TRUE(registry::event_from_json(e));
  EXPECT_LT(Clock::now() - t0, milliseconds(1000));

  EXPECT_EQ(call(verb::get, "/api/v1/watch?since=x").status, 400u);
  EXPECT_EQ(call(verb::get, "/api/v1/watch?timeout_ms=-5").status, 400u);
}

TEST_F(ControllerTest, WatchWaitsAndWakesOnAChange) {
  start();
  auto t0 = Clock::now();
  auto fut = watch_async("since=0&timeout_ms=0");  // snapshot of nothing, at once
  auto first = fut.get().first;
  EXPECT_EQ(revision_of(first), 0u);

  fut = watch_async("since=0");  // since=0 always answers: a fresh watcher needs its snapshot
  EXPECT_TRUE(fut.get().first.body.at("snapshot").as_bool());

  ASSERT_EQ(call(verb::post, "/api/v1/instances", instance_json("a", "m")).status, 200u);
  t0 = Clock::now();
  fut = watch_async("since=1&timeout_ms=5000");
  wait_parked(1);
  std::this_thread::sleep_for(milliseconds(300) - (Clock::now() - t0));
  auto put_at = Clock::now();
  ASSERT_TRUE(registry_->remove("a"));
  auto [reply, at] = fut.get();
  auto after_put = std::chrono::duration_cast<milliseconds>(at - put_at);
  std::cout << "watch answered " << after_put.count() << " ms after the change\n";
  EXPECT_GE(at - t0, milliseconds(290));
  EXPECT_LT(after_put, milliseconds(100));
  ASSERT_EQ(reply.status, 200u);
  EXPECT_FALSE(reply.body.at("snapshot").as_bool());
  ASSERT_EQ(reply.body.at("events").as_array().size(), 1u);
  EXPECT_EQ(reply.body.at("events").at(0).at("type").as_string(), "delete");
  EXPECT_EQ(routes_->parked_watches(), 0u);
}

TEST_F(ControllerTest, WatchTimesOutWithNoEvents) {
  start();
  ASSERT_EQ(call(verb::post, "/api/v1/instances", instance_json("a", "m")).status, 200u);
  auto t0 = Clock::now();
  auto r = call(verb::get, "/api/v1/watch?since=1&timeout_ms=200");
  auto took = Clock::now() - t0;
  ASSERT_EQ(r.status, 200u);
  EXPECT_GE(took, milliseconds(195));
  EXPECT_LT(took, milliseconds(2000));
  EXPECT_EQ(revision_of(r), 1u);
  EXPECT_FALSE(r.body.at("snapshot").as_bool());
  EXPECT_TRUE(r.body.at("events").as_array().empty());
}

TEST_F(ControllerTest, ManyWatchersWakeOnOneChange) {
  start();
  constexpr int kWatchers = 40;
  std::vector<std::future<std::pair<Reply, Clock::time_point>>> futs;
  for (int i = 0; i < kWatchers; ++i) futs.push_back(watch_async("since=0&timeout_ms=0"));
  for (auto& f : futs) f.get();
  futs.clear();
  // A registry change made before any watch is parked advances the revision to 1.
  ASSERT_TRUE(registry_->put(*registry::instance_from_json(json::parse(instance_json("a", "m")))));
  for (int i = 0; i < kWatchers; ++i) futs.push_back(watch_async("since=1&timeout_ms=10000"));
  wait_parked(kWatchers);
  ASSERT_TRUE(registry_->remove("a"));
  for (auto& f : futs) {
    ASSERT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready);
    auto [r, at] = f.get();
    ASSERT_EQ(r.status, 200u);
    EXPECT_EQ(r.body.at("events").as_array().size(), 1u);
  }
}

TEST_F(ControllerTest, StopAnswersParkedWatches) {
  start();
  ASSERT_EQ(call(verb::post, "/api/v1/instances", instance_json("a", "m")).status, 200u);
  auto fut = watch_async("since=1&timeout_ms=60000");
  wait_parked(1);
  auto t0 = Clock::now();
  routes_->stop();
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  auto [r, at] = fut.get();
  EXPECT_LT(at - t0, milliseconds(1000));
  EXPECT_TRUE(r.body.at("events").as_array().empty());
  // New watches answer without waiting once stopped.
  EXPECT_EQ(call(verb::get, "/api/v1/watch?since=1&timeout_ms=60000").status, 200u);
}

TEST_F(ControllerTest, ExpiryMarksUnhealthyThenRemoves) {
  start();
  ASSERT_EQ(call(verb::post, "/api/v1/instances", instance_json("a", "m")).status, 200u);
  auto ext = registry::instance_from_json(json::parse(instance_json("ext", "m")));
  ext->labels["heartbeat"] = "none";
  ASSERT_TRUE(registry_->put(*ext));
  int64_t t = registry_->get("a")->last_heartbeat_ms;
  routes_->expire_once(t + 3 * 1000 + 1);  // 3 missed heartbeats of 1000 ms
  EXPECT_FALSE(registry_->get("a")->healthy);
  EXPECT_EQ(call(verb::get, "/api/v1/instances?healthy=false").body.at("data").as_array().size(),
            1u);
  routes_->expire_once(t + 15 * 1000 + 1);
  EXPECT_EQ(call(verb::get, "/api/v1/instances/a").status, 404u);
  EXPECT_EQ(call(verb::get, "/api/v1/instances/ext").status, 200u);
  // The worker learns it must register again.
  EXPECT_EQ(call(verb::put, "/api/v1/instances/a/heartbeat", "{}").status, 404u);
}

TEST_F(ControllerTest, ExpiryLoopRunsOnItsOwn) {
  cfg_.heartbeat_interval = milliseconds(50);
  cfg_.unhealthy_after_missed = 2;
  cfg_.remove_after_missed = 6;
  start();
  routes_->start(ioc_.get_executor());
  ASSERT_EQ(call(verb::post, "/api/v1/instances", instance_json("a", "m")).status, 200u);
  auto deadline = Clock::now() + std::chrono::seconds(5);
  bool went_unhealthy = false;
  while (Clock::now() < deadline) {
    auto r = registry_->get("a");
    if (!r) break;
    went_unhealthy = went_unhealthy || !r->healthy;
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_TRUE(went_unhealthy);
  EXPECT_FALSE(registry_->get("a"));
}

TEST_F(ControllerTest, RelaysManagementCommandsToTheWorker) {
  start();
  std::string worker = start_fake_worker();
  ASSERT_EQ(
      call(verb::post, "/api/v1/instances", instance_json("w1/qwen", "qwen", "w1", worker)).status,
      200u);
  // A stopped model still has its record, so it can be started again.
  auto stopped =
      registry::instance_from_json(json::parse(instance_json("w1/tiny", "tiny", "w1", worker)));
  stopped->state = "stopped";
  ASSERT_TRUE(registry_->put(*stopped));

  auto r = call(verb::post, "/api/v1/models/qwen/stop");
  ASSERT_EQ(r.status, 200u) << json::serialize(r.body);
  EXPECT_EQ(r.body.at("model").as_string(), "qwen");
  ASSERT_EQ(r.body.at("results").as_array().size(), 1u);
  const auto& res = r.body.at("results").at(0);
  EXPECT_EQ(res.at("worker").as_string(), "w1");
  EXPECT_EQ(res.at("status").to_number<int>(), 200);
  EXPECT_TRUE(res.at("body").at("ok").as_bool());

  EXPECT_EQ(call(verb::post, "/api/v1/models/tiny/start?worker=w1").status, 200u);
  EXPECT_EQ(call(verb::post, "/api/v1/models/qwen/scale", R"({"replicas":2})").status, 200u);
  EXPECT_EQ(call(verb::post, "/api/v1/models/qwen/scale", R"({"replicas":"x"})").status, 400u);
  {
    std::lock_guard lock(worker_.mu);
    ASSERT_EQ(worker_.calls.size(), 3u);
    EXPECT_EQ(worker_.calls[0].first, "/api/v1/models/qwen/stop");
    EXPECT_EQ(worker_.calls[1].first, "/api/v1/models/tiny/start");
    EXPECT_EQ(worker_.calls[2].first, "/api/v1/models/qwen/scale");
    EXPECT_EQ(worker_.calls[2].second, R"({"replicas":2})");
  }

  auto unknown = call(verb::post, "/api/v1/models/nope/start");
  EXPECT_EQ(unknown.status, 404u);
  EXPECT_EQ(unknown.body.at("error").at("param").as_string(), "model");
  EXPECT_EQ(call(verb::post, "/api/v1/models/qwen/start?worker=w2").status, 404u);
  EXPECT_EQ(call(verb::post, "/api/v1/models/qwen/explode").status, 404u);

  // The worker's failure status is passed on, with an OpenAI-shaped error.
  {
    std::lock_guard lock(worker_.mu);
    worker_.answer_status = 409;
  }
  auto conflict = call(verb::post, "/api/v1/models/qwen/restart");
  EXPECT_EQ(conflict.status, 409u);
  EXPECT_TRUE(conflict.body.at("error").at("message").is_string());
  EXPECT_EQ(conflict.body.at("results").at(0).at("status").to_number<int>(), 409);

  auto workers = call(verb::get, "/api/v1/workers");
  ASSERT_EQ(workers.status, 200u);
  ASSERT_EQ(workers.body.at("data").as_array().size(), 1u);
  const auto& w = workers.body.at("data").at(0);
  EXPECT_EQ(w.at("id").as_string(), "w1");
  EXPECT_EQ(w.at("address").as_string(), worker);
  EXPECT_EQ(w.at("models").as_array().size(), 2u);
  EXPECT_TRUE(w.at("healthy").as_bool());
}

TEST_F(ControllerTest, UnreachableWorkerIs503) {
  start();
  // A port that was just free: nothing listens there.
  std::string dead;
  {
    asio::io_context tmp;
    asio::ip::tcp::acceptor a(tmp, {asio::ip::make_address("127.0.0.1"), 0});
    dead = "http://127.0.0.1:" + std::to_string(a.local_endpoint().port());
  }
  ASSERT_EQ(call(verb::post, "/api/v1/instances", instance_json("w9/m", "m", "w9", dead)).status,
            200u);
  auto r = call(verb::post, "/api/v1/models/m/start");
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(r.body.at("results").at(0).at("status").to_number<int>(), 503);
}

}  // namespace
}  // namespace smmf::controller
