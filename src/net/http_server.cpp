#include "net/http_server.h"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/json/serialize.hpp>

#include <fmt/format.h>

namespace smmf::net {
namespace {
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
using Clock = std::chrono::steady_clock;
}  // namespace

struct HttpServer::Connection {
  explicit Connection(asio::ip::tcp::socket s) : stream(std::move(s)) {}
  beast::tcp_stream stream;
  bool busy = false;     // an exchange is being read or answered (strand-confined)
  bool closing = false;  // stop() asked this connection to end after its exchange
};

HttpServer::HttpServer(asio::io_context& ioc, ServerConfig cfg,
                       std::shared_ptr<const Router> router, ErrorBody error_body,
                       AccessLog access_log)
    : ioc_(ioc),
      cfg_(std::move(cfg)),
      router_(std::move(router)),
      error_body_(std::move(error_body)),
      access_log_(std::move(access_log)),
      acceptor_(asio::make_strand(ioc)) {}

HttpServer::~HttpServer() = default;

Status HttpServer::listen() {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(cfg_.host, ec);
  if (ec) return Error::invalid(fmt::format("invalid listen address '{}'", cfg_.host), "host");
  asio::ip::tcp::endpoint ep(addr, cfg_.port);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return Error::unavailable(
        fmt::format("cannot listen on {}:{}: {}", cfg_.host, cfg_.port, ec.message()));
  port_ = acceptor_.local_endpoint().port();
  return {};
}

void HttpServer::start() {
  asio::co_spawn(acceptor_.get_executor(), accept_loop(), asio::detached);
}

asio::awaitable<void> HttpServer::accept_loop() {
  auto self = shared_from_this();
  while (!stopping_) {
    // Named locals, not structured bindings: GCC 12 double-destroys non-trivial bindings of
    // a co_await result.
    // One I/O thread serialises every handler already: a strand per connection would only add
    // a dispatch to each completion (measured in bench/gateway).
    asio::any_io_executor conn_ex = asio::make_strand(ioc_);
    if (cfg_.threads == 1) conn_ex = ioc_.get_executor();
    auto accepted = co_await acceptor_.async_accept(conn_ex, kTuple);
    boost::system::error_code ec = std::get<0>(accepted);
    asio::ip::tcp::socket sock = std::move(std::get<1>(accepted));
    if (ec) {
      if (stopping_ || ec == asio::error::operation_aborted) break;
      // EMFILE and friends: back off briefly instead of spinning.
      spdlog::warn("accept failed: {}", ec.message());
      asio::steady_timer t(acceptor_.get_executor(), std::chrono::milliseconds(50));
      co_await t.async_wait(kTuple);
      continue;
    }
    sock.set_option(asio::ip::tcp::no_delay(true), ec);
    auto conn = std::make_shared<Connection>(std::move(sock));
    size_t n = ++connections_;
    {
      std::lock_guard lock(mu_);
      live_.insert(conn.get());
    }
    auto exec = conn->stream.get_executor();
    if (n > cfg_.max_connections) {
      asio::co_spawn(
          exec,
          [this, self, conn]() -> asio::awaitable<void> {
            spdlog::warn("connection limit ({}) reached: answering 503", cfg_.max_connections);
            co_await reject(conn->stream, http::status::service_unavailable,
                            "the server has too many open connections; retry later");
            on_connection_closed(conn.get());
          },
          asio::detached);
      continue;
    }
    // The completion handler holds `conn` so that it outlives its entry in live_.
    asio::co_spawn(exec, serve(conn), [this, self, conn](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          spdlog::error("connection ended by an exception: {}", ex.what());
        }
      }
      on_connection_closed(conn.get());
    });
  }
}

asio::awaitable<void> HttpServer::reject(beast::tcp_stream& stream, http::status status,
                                         std::string_view message) {
  // Answered before any route ran, so the access log would not see it: log it here, once.
  boost::system::error_code rec;
  auto remote = stream.socket().remote_endpoint(rec);
  spdlog::info("- - {} {} (from {})", static_cast<unsigned>(status), message,
               rec ? std::string("?") : remote.address().to_string());
  Response res{status, 11};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::server, "smmf/" SMMF_VERSION);
  res.keep_alive(false);
  res.body() = boost::json::serialize(error_body_(status, message));
  res.prepare_payload();
  stream.expires_after(cfg_.write_timeout);
  co_await http::async_write(stream, res, kTuple);
  boost::system::error_code ec;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  stream.close();
}

asio::awaitable<void> HttpServer::serve(std::shared_ptr<Connection> conn) {
  auto& stream = conn->stream;
  beast::flat_buffer buffer;
  bool first = true;
  while (true) {
    if (buffer.size() == 0) {
      conn->busy = false;
      if (conn->closing || stopping_) break;
      // Waiting for the next request costs nothing but a socket; the first request of a
      // connection must start within the header timeout.
      stream.expires_after(first ? cfg_.header_timeout : cfg_.idle_timeout);
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(8192), kTuple);
      if (ec) break;
      buffer.commit(n);
    }
    first = false;
    conn->busy = true;

    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<uint32_t>(cfg_.max_header_bytes));
    parser.body_limit(cfg_.max_body_bytes);
    // Our own timer rather than the stream's expiry, which would close the socket and leave no
    // way to answer 408. It runs on the connection's strand and only cancels the read.
    stream.expires_never();
    // 0 = reading, 1 = read in time, 2 = timed out; shared because a handler already queued
    // when the read finishes may still run.
    auto phase = std::make_shared<int>(0);
    asio::steady_timer deadline(stream.get_executor(), cfg_.header_timeout);
    deadline.async_wait([conn, phase](boost::system::error_code tec) {
      if (tec || *phase != 0) return;
      *phase = 2;
      conn->stream.socket().cancel();
    });
    auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, kTuple);
    if (!hec && parser.get()[http::field::expect] == "100-continue") {
      static constexpr std::string_view k100 = "HTTP/1.1 100 Continue\r\n\r\n";
      co_await asio::async_write(stream, asio::buffer(k100), kTuple);
    }
    boost::system::error_code ec = hec;
    if (!ec && !parser.is_done()) {
      auto [bec, bn] = co_await http::async_read(stream, buffer, parser, kTuple);
      ec = bec;
    }
    if (*phase == 2) ec = beast::error::timeout;
    *phase = 1;
    deadline.cancel();
    if (ec) {
      if (ec == http::error::body_limit) {
        co_await reject(
            stream, http::status::payload_too_large,
            fmt::format("the request body exceeds the limit of {} bytes", cfg_.max_body_bytes));
      } else if (ec == http::error::header_limit) {
        co_await reject(
            stream, http::status::request_header_fields_too_large,
            fmt::format("the request header exceeds the limit of {} bytes", cfg_.max_header_bytes));
      } else if (ec == beast::error::timeout) {
        co_await reject(stream, http::status::request_timeout,
                        "the request was not received within the header timeout");
      } else if (ec != http::error::end_of_stream && ec != asio::error::eof &&
                 ec != asio::error::connection_reset && ec != asio::error::operation_aborted) {
        co_await reject(stream, http::status::bad_request,
                        fmt::format("malformed HTTP request: {}", ec.message()));
      }
      break;
    }
    Request req = parser.release();
    co_await handle(conn, req);
    if (conn->closing || stopping_) break;
  }
  boost::system::error_code ec;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  stream.close();
}

asio::awaitable<void> HttpServer::handle(std::shared_ptr<Connection> conn, Request& req) {
  auto start = Clock::now();
  ++in_flight_;
  HttpExchange ex(conn->stream, req, cfg_.write_timeout, &stopping_);
  if (stopping_) ex.set_keep_alive(false);
  std::string error;
  try {
    const Handler* h = nullptr;
    switch (router_->find(req.method(), ex.target_path(), h)) {
      case Router::Match::kFound:
        co_await (*h)(ex);
        break;
      case Router::Match::kNoPath:
        co_await ex.send_json(
            http::status::not_found,
            error_body_(http::status::not_found,
                        fmt::format("no route for {} {}", std::string_view(req.method_string()),
                                    ex.target_path())));
        break;
      case Router::Match::kNoMethod:
        co_await ex.send_json(
            http::status::method_not_allowed,
            error_body_(http::status::method_not_allowed,
                        fmt::format("method {} is not allowed on {}",
                                    std::string_view(req.method_string()), ex.target_path())));
        break;
    }
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (!error.empty()) {
    spdlog::error("unhandled exception in {} {}: {}", std::string_view(req.method_string()),
                  ex.target_path(), error);
    if (!ex.responded())
      co_await ex.send_json(
          http::status::internal_server_error,
          error_body_(http::status::internal_server_error, "internal server error"));
    else
      ex.set_keep_alive(false);
  } else if (!ex.responded()) {
    spdlog::error("handler for {} answered nothing", ex.target_path());
    co_await ex.send_json(
        http::status::internal_server_error,
        error_body_(http::status::internal_server_error, "internal server error"));
  }
  if (!ex.keep_alive()) conn->closing = true;
  --in_flight_;
  if (access_log_)
    access_log_(ex, std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start));
}

void HttpServer::on_connection_closed(Connection* c) {
  std::function<void()> done;
  {
    std::lock_guard lock(mu_);
    live_.erase(c);
    --connections_;
    if (stopping_ && live_.empty() && on_stopped_) {
      done = std::move(on_stopped_);
      on_stopped_ = nullptr;
      if (grace_timer_) grace_timer_->cancel();
    }
  }
  if (done) done();
}

void HttpServer::stop(std::function<void()> on_stopped) {
  auto self = shared_from_this();
  asio::post(acceptor_.get_executor(), [this, self, cb = std::move(on_stopped)]() mutable {
    if (stopping_.exchange(true)) return;
    boost::system::error_code ec;
    acceptor_.close(ec);
    std::vector<Connection*> conns;
    {
      std::lock_guard lock(mu_);
      if (live_.empty()) {
        if (cb) asio::post(ioc_, std::move(cb));
        return;
      }
      on_stopped_ = std::move(cb);
      conns.assign(live_.begin(), live_.end());
      grace_timer_ = std::make_unique<asio::steady_timer>(ioc_, cfg_.shutdown_grace);
    }
    // A connection stays alive while it is in live_ (see accept_loop), so the posted handler
    // checks membership under the lock before touching it.
    auto close_if = [this, self](bool only_idle) {
      std::lock_guard lock(mu_);
      for (Connection* c : live_) {
        asio::post(c->stream.get_executor(), [this, self, c, only_idle] {
          std::lock_guard inner(mu_);
          if (!live_.contains(c)) return;
          c->closing = true;
          if (!only_idle || !c->busy) c->stream.cancel();
        });
      }
    };
    close_if(true);
    grace_timer_->async_wait([close_if](boost::system::error_code e) {
      if (e) return;
      spdlog::warn("shutdown grace period over: closing the remaining connections");
      close_if(false);
    });
  });
}

}  // namespace smmf::net
