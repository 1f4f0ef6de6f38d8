// The HTTP server and client against each other over real loopback sockets.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/value.hpp>

#include <atomic>
#include <optional>
#include <thread>

#include "net/http_client.h"
#include "net/http_server.h"

namespace smmf::net {
namespace {

class HttpTest : public testing::Test {
 protected:
  void SetUp() override {
    router_ = std::make_shared<Router>();
    router_->add(http::verb::get, "/hello", [](HttpExchange& ex) -> asio::awaitable<void> {
      co_await ex.send_text(http::status::ok, "hi");
    });
    router_->add(http::verb::post, "/echo", [](HttpExchange& ex) -> asio::awaitable<void> {
      co_await ex.send_text(http::status::created, ex.request().body());
    });
    router_->add(http::verb::get, "/stream", [this](HttpExchange& ex) -> asio::awaitable<void> {
      ex.watch_disconnect([this] { disconnected_ = true; });
      if (!co_await ex.start_stream(http::status::ok, "text/event-stream")) co_return;
      for (int i = 0; i < stream_chunks_; ++i) {
        asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(20));
        co_await t.async_wait(asio::use_awaitable);
        if (!co_await ex.write_chunk("data: " + std::to_string(i) + "\n\n")) co_return;
      }
      co_await ex.end_stream();
    });
    // Answer nothing (or one chunk) until the client goes away (5 s at most).
    router_->add(http::verb::get, "/stall", [this](HttpExchange& ex) { return stall(ex, false); });
    router_->add(http::verb::get, "/stall-body",
                 [this](HttpExchange& ex) { return stall(ex, true); });
    // More than the socket's send buffer takes at once: the write goes on through the reactor.
    router_->add(http::verb::get, "/big", [](HttpExchange& ex) -> asio::awaitable<void> {
      std::string body(8 << 20, 'x');
      for (size_t i = 0; i < body.size(); i += 4096) body[i] = static_cast<char>('a' + i % 26);
      co_await ex.send_text(http::status::ok, std::move(body));
    });
    router_->add(http::verb::get, "/throw", [](HttpExchange&) -> asio::awaitable<void> {
      throw std::runtime_error("boom");
      co_return;
    });
  }

  asio::awaitable<void> stall(HttpExchange& ex, bool body) {
    ex.watch_disconnect([this] { disconnected_ = true; });
    if (body) {
      if (!co_await ex.start_stream(http::status::ok, "text/event-stream")) co_return;
      if (!co_await ex.write_chunk("data: 0\n\n")) co_return;
    }
    for (int i = 0; i < 250 && !disconnected_; ++i) {
      asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(20));
      co_await t.async_wait(asio::use_awaitable);
    }
  }

  void start(ServerConfig cfg = {}) {
    cfg.port = 0;
    server_ = std::make_shared<HttpServer>(
        ioc_, cfg, router_, [](http::status, std::string_view m) -> boost::json::value {
          return boost::json::value(m);
        });
    ASSERT_TRUE(server_->listen());
    server_->start();
    url_ = *parse_url("http://127.0.0.1:" + std::to_string(server_->port()));
    client_ = std::make_shared<HttpClient>(ioc_.get_executor());
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

  /// Opens `target` with a CancelToken, on a strand as the gateway does, reads until the body
  /// ends or fails, and cancels the token from this thread after `after`. Returns the call's
  /// error (none when it ended without one) and how long the cancel took to end it.
  std::pair<std::optional<ErrorCode>, std::chrono::milliseconds> cancel_after(
      std::string target, std::chrono::milliseconds after) {
    auto token = std::make_shared<CancelToken>();
    // Parameters, not captures: the coroutine outlives the lambda object.
    auto call = [](std::shared_ptr<HttpClient> client, Url url, std::string path,
                   std::shared_ptr<CancelToken> tok) -> asio::awaitable<std::optional<ErrorCode>> {
      auto req = ClientRequest::get(std::move(path));
      req.cancel = std::move(tok);
      auto s = co_await client->open(url, std::move(req));
      if (!s) co_return s.error().error.code;
      for (;;) {
        auto piece = co_await (*s)->read();
        if (!piece) co_return piece.error().code;
        if (piece->empty()) co_return std::nullopt;
      }
    };
    auto fut = asio::co_spawn(asio::make_strand(ioc_), call(client_, url_, target, token),
                              asio::use_future);
    std::this_thread::sleep_for(after);
    auto t0 = std::chrono::steady_clock::now();
    token->cancel();
    auto code = fut.get();
    return {code, std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - t0)};
  }

  bool wait_disconnected() {
    for (int i = 0; i < 200 && !disconnected_; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return disconnected_;
  }

  asio::io_context ioc_;
  std::vector<std::thread> threads_;
  std::shared_ptr<Router> router_;
  std::shared_ptr<HttpServer> server_;
  std::shared_ptr<HttpClient> client_;
  Url url_;
  std::atomic<bool> disconnected_{false};
  int stream_chunks_ = 5;
};

TEST(ParseUrl, Forms) {
  auto u = parse_url("https://api.example.com/v1/");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->path, "/v1");
  auto l = parse_url("http://127.0.0.1:8001");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->port, 8001);
  EXPECT_EQ(l->path, "");
  EXPECT_FALSE(parse_url("ftp://x"));
  EXPECT_FALSE(parse_url("not a url"));
}

TEST_F(HttpTest, KeepAliveReusesOneConnection) {
  start();
  for (int i = 0; i < 3; ++i) {
    auto r = run(client_->send(url_, ClientRequest::get("/hello")));
    ASSERT_TRUE(r) << r.error().error.message;
    EXPECT_EQ(r->status, 200u);
    EXPECT_EQ(r->body, "hi");
  }
  EXPECT_EQ(client_->idle_connections(), 1u);
  EXPECT_EQ(server_->connections(), 1u);
}

TEST_F(HttpTest, PostBodyAndErrors) {
  start();
  auto r = run(client_->send(url_, ClientRequest::post("/echo", "payload")));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201u);
  EXPECT_EQ(r->body, "payload");
  auto nf = run(client_->send(url_, ClientRequest::get("/missing")));
  ASSERT_TRUE(nf);
  EXPECT_EQ(nf->status, 404u);
  auto na = run(client_->send(url_, ClientRequest::post("/hello", "")));
  ASSERT_TRUE(na);
  EXPECT_EQ(na->status, 405u);
  auto ex = run(client_->send(url_, ClientRequest::get("/throw")));
  ASSERT_TRUE(ex);
  EXPECT_EQ(ex->status, 500u);
}

TEST_F(HttpTest, BodyLimitGives413) {
  ServerConfig cfg;
  cfg.max_body_bytes = 64;
  start(cfg);
  auto r = run(client_->send(url_, ClientRequest::post("/echo", std::string(1000, 'x'))));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413u);
}

TEST_F(HttpTest, ResponseLargerThanTheSendBufferArrivesWhole) {
  start();
  for (int i = 0; i < 2; ++i) {  // twice: the connection stays usable after a partial send
    auto r = run(client_->send(url_, ClientRequest::get("/big")));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200u);
    ASSERT_EQ(r->body.size(), size_t{8 << 20});
    for (size_t j = 0; j < r->body.size(); j += 4096)
      ASSERT_EQ(r->body[j], static_cast<char>('a' + j % 26)) << j;
    EXPECT_EQ(r->body[1], 'x');
  }
}

TEST_F(HttpTest, StreamsChunksAsTheyArrive) {
  start();
  auto chunks = run([&]() -> asio::awaitable<std::vector<std::string>> {
    std::vector<std::string> out;
    auto s = co_await client_->open(url_, ClientRequest::get("/stream"));
    if (!s) co_return out;
    while (true) {
      auto piece = co_await (*s)->read();
      if (!piece || piece->empty()) break;
      out.push_back(*piece);
    }
    co_return out;
  }());
  // Chunks are 20 ms apart, so each arrives in its own read.
  ASSERT_EQ(chunks.size(), 5u);
  EXPECT_EQ(chunks[0], "data: 0\n\n");
  EXPECT_EQ(chunks[4], "data: 4\n\n");
  EXPECT_FALSE(disconnected_);
}

TEST_F(HttpTest, ClientGoneIsDetectedWhileStreaming) {
  stream_chunks_ = 200;
  start();
  run([&]() -> asio::awaitable<int> {
    auto s = co_await client_->open(url_, ClientRequest::get("/stream"));
    if (s) co_await (*s)->read();
    co_return 0;  // the stream is dropped unfinished: its connection is closed
  }());
  for (int i = 0; i < 100 && !disconnected_; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(disconnected_);
}

TEST_F(HttpTest, ConnectRefusedIsUnavailableBeforeResponse) {
  start();
  auto dead = *parse_url("http://127.0.0.1:1");
  auto r = run(client_->send(dead, ClientRequest::get("/")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.code, ErrorCode::kUnavailable);
  EXPECT_TRUE(r.error().before_response);
}

TEST_F(HttpTest, GracefulStopLetsAStreamFinish) {
  start();
  // No captures: the lambda object dies at the end of this statement, before the coroutine
  // resumes (a capturing lambda's coroutine would read freed stack: ASan found it).
  auto read_stream = [](HttpClient* client, Url url) -> asio::awaitable<std::string> {
    auto s = co_await client->open(url, ClientRequest::get("/stream"));
    if (!s) co_return "open failed";
    auto body = co_await (*s)->read_all();
    co_return body ? *body : "read failed";
  };
  auto fut = asio::co_spawn(ioc_, read_stream(client_.get(), url_), asio::use_future);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  std::promise<void> stopped;
  server_->stop([&] { stopped.set_value(); });
  EXPECT_EQ(fut.get(), "data: 0\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\n");
  EXPECT_EQ(stopped.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  server_.reset();
}

TEST_F(HttpTest, CancelEndsAPendingHeaderReadAndClosesTheConnection) {
  start();
  auto [code, took] = cancel_after("/stall", std::chrono::milliseconds(150));
  EXPECT_EQ(code, ErrorCode::kCancelled);
  EXPECT_LT(took.count(), 1000);
  EXPECT_TRUE(wait_disconnected());  // the server saw the connection close
}

TEST_F(HttpTest, CancelEndsAPendingBodyReadAndClosesTheConnection) {
  start();
  auto [code, took] = cancel_after("/stall-body", std::chrono::milliseconds(150));
  EXPECT_EQ(code, ErrorCode::kCancelled);
  EXPECT_LT(took.count(), 1000);
  EXPECT_TRUE(wait_disconnected());
  EXPECT_EQ(client_->idle_connections(), 0u);  // a cancelled connection is not pooled
}

TEST_F(HttpTest, AnAlreadyCancelledCallSendsNothing) {
  start();
  auto token = std::make_shared<CancelToken>();
  token->cancel();
  auto req = ClientRequest::get("/hello");
  req.cancel = token;
  auto r = run(client_->send(url_, std::move(req)));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.code, ErrorCode::kCancelled);
}

}  // namespace
}  // namespace smmf::net
