// Server and client limits and the middleware chain over real loopback sockets: the request
// timeout (504), the client's response size limit and default headers, middleware order.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/value.hpp>

#include <future>
#include <mutex>
#include <thread>

#include "net/http_client.h"
#include "net/http_server.h"

namespace smmf::net {
namespace {

class HttpLimitsTest : public testing::Test {
 protected:
  void SetUp() override {
    router_ = std::make_shared<Router>();
    router_->add(http::verb::get, "/big", [](HttpExchange& ex) -> asio::awaitable<void> {
      co_await ex.send_text(http::status::ok, std::string(10000, 'x'));
    });
    router_->add(http::verb::get, "/header", [](HttpExchange& ex) -> asio::awaitable<void> {
      co_await ex.send_text(http::status::ok, std::string(ex.header("x-token")));
    });
    router_->add(http::verb::get, "/slow", [this](HttpExchange& ex) -> asio::awaitable<void> {
      ex.watch_disconnect([this] { cancelled_ = true; });
      asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::seconds(3));
      co_await t.async_wait(asio::use_awaitable);
      auto st = co_await ex.send_text(http::status::ok, "late");
      late_send_failed_ = !st;
    });
  }

  void start(ServerConfig cfg = {}, ClientOptions copts = {}) {
    cfg.port = 0;
    server_ = std::make_shared<HttpServer>(
        ioc_, cfg, router_, [](http::status, std::string_view m) -> boost::json::value {
          return boost::json::value(m);
        });
    ASSERT_TRUE(server_->listen());
    server_->start();
    url_ = *parse_url("http://127.0.0.1:" + std::to_string(server_->port()));
    client_ = std::make_shared<HttpClient>(ioc_.get_executor(), copts);
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { ioc_.run(); });
  }

  void TearDown() override {
    if (server_) {
      std::promise<void> stopped;
      server_->stop([&] { stopped.set_value(); });
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

  asio::io_context ioc_;
  std::vector<std::thread> threads_;
  std::shared_ptr<Router> router_;
  std::shared_ptr<HttpServer> server_;
  std::shared_ptr<HttpClient> client_;
  Url url_;
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> late_send_failed_{false};
};

TEST_F(HttpLimitsTest, RequestTimeoutAnswers504AndCancelsTheCall) {
  ServerConfig cfg;
  cfg.request_timeout = std::chrono::seconds(1);
  start(cfg);
  auto t0 = std::chrono::steady_clock::now();
  auto res = run(client_->send(url_, ClientRequest::get("/slow")));
  auto elapsed = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 504u);
  EXPECT_NE(res->body.find("request timeout"), std::string::npos) << res->body;
  EXPECT_GE(elapsed, std::chrono::milliseconds(900));
  EXPECT_LT(elapsed, std::chrono::milliseconds(2900));  // before the handler's own answer
  EXPECT_TRUE(cancelled_.load());
  // The handler's late answer is dropped, not written after the 504.
  for (int i = 0; i < 100 && !late_send_failed_; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(late_send_failed_.load());
}

TEST_F(HttpLimitsTest, ClientResponseSizeLimit) {
  ClientOptions copts;
  copts.max_response_bytes = 1024;
  start({}, copts);
  auto res = run(client_->send(url_, ClientRequest::get("/big")));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().error.code, ErrorCode::kResourceExhausted);
  EXPECT_FALSE(res.error().before_response);
}

TEST_F(HttpLimitsTest, ClientDefaultHeadersAreSentAndRequestHeadersWin) {
  ClientOptions copts;
  copts.default_headers.emplace_back("x-token", "default");
  start({}, copts);
  auto res = run(client_->send(url_, ClientRequest::get("/header")));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "default");
  auto req = ClientRequest::get("/header");
  req.headers.emplace_back("x-token", "mine");
  res = run(client_->send(url_, std::move(req)));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "mine");
}

TEST_F(HttpLimitsTest, MiddlewareRunsOutermostFirstAndMayAnswerAlone) {
  // The middleware runs on the server's threads: the log is guarded, and the outer one's "A"
  // is appended after the response was sent, so the test waits for it (bounded).
  struct Log {
    std::mutex mu;
    std::string text;
    void add(const char* s) {
      std::lock_guard lock(mu);
      text += s;
    }
    std::string get() {
      std::lock_guard lock(mu);
      return text;
    }
  };
  auto order = std::make_shared<Log>();
  router_->use([order](HttpExchange& ex, const Handler& next) -> asio::awaitable<void> {
    order->add("a");
    co_await next(ex);
    order->add("A");
  });
  router_->use([order](HttpExchange& ex, const Handler& next) -> asio::awaitable<void> {
    order->add("b");
    if (ex.header("x-token") == "stop") {
      co_await ex.send_text(http::status::forbidden, "no");
      co_return;
    }
    co_await next(ex);
  });
  start();
  auto res = run(client_->send(url_, ClientRequest::get("/header")));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200u);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (order->get().size() < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(order->get(), "abA");
  auto req = ClientRequest::get("/header");
  req.headers.emplace_back("x-token", "stop");
  res = run(client_->send(url_, std::move(req)));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403u);
  EXPECT_EQ(res->body, "no");
  // Unknown routes skip the middleware: 404 from the server.
  res = run(client_->send(url_, ClientRequest::get("/nothing")));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404u);
}

}  // namespace
}  // namespace smmf::net
