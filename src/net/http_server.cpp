#include "net/http_server.h"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/json/serialize.hpp>

#include <fmt/format.h>
#include <openssl/ssl.h>
#include <optional>
#include <variant>

#include "net/as_tuple.h"
#include "net/lazy_deadline.h"
#include "net/read_loop.h"

namespace smmf::net {
namespace {
using Clock = std::chrono::steady_clock;
constexpr std::chrono::seconds kTlsShutdownTimeout{5};
}  // namespace

struct HttpServer::Connection {
  Connection(asio::ip::tcp::socket s, asio::ssl::context* tls)
      : stream(make(std::move(s), tls)),
        io(tcp().get_executor(),
           [this] {
             io_timed_out = true;
             boost::system::error_code ec;
             tcp().socket().cancel(ec);
           }),
        watch(tcp().get_executor(),
              [this] {
                if (exchange) exchange->start_watch();
              }),
        call(tcp().get_executor(), [this] {
          if (on_call_timeout) on_call_timeout();
        }) {}
  std::variant<beast::tcp_stream, TlsStream> stream;
  Clock::time_point accepted = Clock::now();
  bool busy = false;     // an exchange is being read or answered (strand-confined)
  bool closing = false;  // stop() asked this connection to end after its exchange
  // The deadline of the read or write under way (idle wait, request read, response writes):
  // when it passes, the socket's operations are cancelled and io_timed_out says why.
  LazyDeadline io;
  bool io_timed_out = false;
  // Starts the current exchange's disconnect watch once its call has run kWatchDelay.
  LazyDeadline watch;
  HttpExchange* exchange = nullptr;  // the exchange being handled (strand-confined)
  // The request timeout of the exchange being handled (HttpServer::request_timed_out).
  std::function<void()> on_call_timeout;
  LazyDeadline call;

  beast::tcp_stream& tcp() {
    return std::visit([](auto& s) -> beast::tcp_stream& { return beast::get_lowest_layer(s); },
                      stream);
  }

 private:
  static std::variant<beast::tcp_stream, TlsStream> make(asio::ip::tcp::socket s,
                                                         asio::ssl::context* tls) {
    if (!tls)
      return std::variant<beast::tcp_stream, TlsStream>(std::in_place_index<0>, std::move(s));
    return std::variant<beast::tcp_stream, TlsStream>(std::in_place_index<1>, std::move(s), *tls);
  }
};

HttpServer::HttpServer(asio::io_context& ioc, ServerConfig cfg,
                       std::shared_ptr<const Router> router, ErrorBody error_body,
                       AccessLog access_log)
    : ioc_(ioc),
      cfg_(std::move(cfg)),
      router_(std::move(router)),
      error_body_(std::move(error_body)),
      access_log_(std::move(access_log)),
      cors_(cfg_.cors_origins),
      acceptor_(asio::make_strand(ioc)) {}

HttpServer::~HttpServer() = default;

Status HttpServer::listen() {
  boost::system::error_code ec;
  if (!cfg_.tls_cert.empty() || !cfg_.tls_key.empty()) {
    auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                     asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
    ctx->use_certificate_chain_file(cfg_.tls_cert, ec);
    if (ec)
      return Error::invalid(
          fmt::format("cannot load TLS certificate '{}': {}", cfg_.tls_cert, ec.message()),
          "server.tls_cert");
    ctx->use_private_key_file(cfg_.tls_key, asio::ssl::context::pem, ec);
    if (ec)
      return Error::invalid(
          fmt::format("cannot load TLS private key '{}': {}", cfg_.tls_key, ec.message()),
          "server.tls_key");
    if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
      return Error::invalid(fmt::format("TLS private key '{}' does not match certificate '{}'",
                                        cfg_.tls_key, cfg_.tls_cert),
                            "server.tls_key");
    tls_ = std::move(ctx);
  }
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
    size_t n = ++connections_;
    if (n > cfg_.max_connections) {
      // Refused at once, before any read, so a flood of idle connections cannot starve the
      // ones already served: plain HTTP gets a 503, TLS (which would need a handshake) a close.
      spdlog::warn("connection limit ({}) reached: refusing a connection", cfg_.max_connections);
      if (tls_) {
        sock.close(ec);
        --connections_;
        continue;
      }
      auto conn = std::make_shared<Connection>(std::move(sock), nullptr);
      {
        std::lock_guard lock(mu_);
        live_.insert(conn.get());
      }
      asio::co_spawn(
          conn->tcp().get_executor(),
          [this, self, conn]() -> asio::awaitable<void> {
            auto& plain = std::get<beast::tcp_stream>(conn->stream);
            co_await reject(plain, http::status::service_unavailable,
                            "the server has too many open connections; retry later");
            boost::system::error_code cec;
            plain.socket().shutdown(asio::ip::tcp::socket::shutdown_send, cec);
            plain.close();
            on_connection_closed(conn.get());
          },
          asio::detached);
      continue;
    }
    auto conn = std::make_shared<Connection>(std::move(sock), tls_.get());
    {
      std::lock_guard lock(mu_);
      live_.insert(conn.get());
    }
    // The completion handler holds `conn` so that it outlives its entry in live_.
    asio::co_spawn(conn->tcp().get_executor(), serve(conn),
                   [this, self, conn](std::exception_ptr e) {
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

template <class Stream>
asio::awaitable<void> HttpServer::reject(Stream& stream, http::status status,
                                         std::string_view message) {
  // Answered before any route ran, so the access log would not see it: log it here, once.
  auto& tcp = beast::get_lowest_layer(stream);
  boost::system::error_code rec;
  auto remote = tcp.socket().remote_endpoint(rec);
  spdlog::info("- - {} {} (from {})", static_cast<unsigned>(status), message,
               rec ? std::string("?") : remote.address().to_string());
  Response res{status, 11};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::server, "smmf/" SMMF_VERSION);
  res.keep_alive(false);
  res.body() = boost::json::serialize(error_body_(status, message));
  res.prepare_payload();
  tcp.expires_after(cfg_.write_timeout);
  co_await http::async_write(stream, res, kTuple);
  tcp.expires_never();
}

asio::awaitable<void> HttpServer::serve(std::shared_ptr<Connection> conn) {
  auto& tcp = conn->tcp();
  if (auto* tls = std::get_if<TlsStream>(&conn->stream)) {
    // The handshake counts against the first request's header timeout.
    tcp.expires_at(conn->accepted + cfg_.header_timeout);
    auto [hec] = co_await tls->async_handshake(asio::ssl::stream_base::server, kTuple);
    if (hec) {
      spdlog::debug("TLS handshake failed: {}", hec.message());
    } else {
      // From here on the connection's LazyDeadline bounds each read and write.
      tcp.expires_never();
      co_await session(conn, *tls);
      // close_notify, bounded: a peer that neither answers nor closes cannot hold us.
      tcp.expires_after(std::min<std::chrono::seconds>(cfg_.write_timeout, kTlsShutdownTimeout));
      co_await tls->async_shutdown(kTuple);
    }
  } else {
    co_await session(conn, std::get<beast::tcp_stream>(conn->stream));
    boost::system::error_code ec;
    tcp.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  }
  tcp.close();
}

template <class Stream>
asio::awaitable<void> HttpServer::session(std::shared_ptr<Connection> conn, Stream& stream) {
  beast::flat_buffer buffer;
  bool first = true;
  while (true) {
    if (buffer.size() == 0) {
      conn->busy = false;
      if (conn->closing || stopping_) break;
      // Waiting for the next request costs nothing but a socket; the first request of a
      // connection must arrive within the header timeout of its accept.
      conn->io_timed_out = false;
      conn->io.expires_at(first ? conn->accepted + cfg_.header_timeout
                                : Clock::now() + cfg_.idle_timeout);
      auto [ec, n] = co_await io_stream(stream).async_read_some(buffer.prepare(8192), kTuple);
      if (ec) break;
      buffer.commit(n);
    }
    // A whole request (header and body) within header_timeout: of the accept for the first
    // request, of its first byte for the next ones. When it passes, the read is cancelled and
    // the client gets a 408.
    conn->io_timed_out = false;
    conn->io.expires_at(first ? conn->accepted + cfg_.header_timeout
                              : Clock::now() + cfg_.header_timeout);
    first = false;
    conn->busy = true;

    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<uint32_t>(cfg_.max_header_bytes));
    parser.body_limit(cfg_.max_body_bytes);
    // Usually the whole request came with the read above: parsed without read_message's frame.
    boost::system::error_code ec;
    if (!parse_buffered(buffer, parser, true, ec))
      ec = co_await read_message(io_stream(stream), buffer, parser, true);
    if (!ec && parser.get()[http::field::expect] == "100-continue") {
      static constexpr std::string_view k100 = "HTTP/1.1 100 Continue\r\n\r\n";
      co_await asio::async_write(io_stream(stream), asio::buffer(k100), kTuple);
    }
    if (!ec && !parser.is_done() && !parse_buffered(buffer, parser, false, ec))
      ec = co_await read_message(io_stream(stream), buffer, parser, false);
    conn->io.clear();
    if (ec && conn->io_timed_out) ec = beast::error::timeout;
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
                 ec != asio::error::connection_reset && ec != asio::error::operation_aborted &&
                 ec != asio::ssl::error::stream_truncated) {
        co_await reject(stream, http::status::bad_request,
                        fmt::format("malformed HTTP request: {}", ec.message()));
      }
      break;
    }
    Request req = parser.release();
    co_await handle(conn, stream, req);
    if (conn->closing || stopping_) break;
  }
}

template <class Stream>
asio::awaitable<void> HttpServer::handle(std::shared_ptr<Connection> conn, Stream& stream,
                                         Request& req) {
  auto start = Clock::now();
  ++in_flight_;
  HttpExchange ex(&stream, req, cfg_.write_timeout, &stopping_,
                  HttpExchange::ConnectionTimers{&conn->io, &conn->watch});
  conn->exchange = &ex;
  for (auto& [k, v] : cors_.response_headers(req)) ex.add_response_header(k, v);
  if (stopping_) ex.set_keep_alive(false);

  // The request deadline (the connection's `call` LazyDeadline, see request_timed_out):
  // cancels the call, and answers 504 when nothing was sent yet.
  if (cfg_.request_timeout.count() > 0) {
    if (!conn->on_call_timeout)
      conn->on_call_timeout = [this, weak = std::weak_ptr<Connection>(conn)] {
        if (auto c = weak.lock()) request_timed_out(c);
      };
    conn->call.expires_after(cfg_.request_timeout);
  }

  std::string error;
  try {
    const Handler* h = nullptr;
    if (cors_.enabled() && Cors::is_preflight(req)) {
      co_await ex.send(cors_.preflight(req));
    } else {
      switch (router_->find(req.method(), ex.target_path(), h)) {
        case Router::Match::kFound:
          co_await router_->call(*h, ex, 0);
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
    }
  } catch (const std::exception& e) {
    error = e.what();
  }
  conn->call.clear();
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
  conn->exchange = nullptr;
  conn->watch.clear();
  if (!ex.keep_alive()) conn->closing = true;
  --in_flight_;
  if (access_log_)
    access_log_(ex, std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start));
}

void HttpServer::request_timed_out(const std::shared_ptr<Connection>& conn) {
  HttpExchange* ex = conn->exchange;
  if (!ex) return;  // the exchange ended just before
  spdlog::warn("{} {} passed the request timeout of {}s",
               std::string_view(ex->request().method_string()), ex->target_path(),
               cfg_.request_timeout.count());
  if (!ex->expire()) return;
  Response res{http::status::gateway_timeout, ex->request().version()};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::server, "smmf/" SMMF_VERSION);
  for (auto& [k, v] : cors_.response_headers(ex->request())) res.set(k, v);
  res.keep_alive(false);
  res.body() = boost::json::serialize(
      error_body_(http::status::gateway_timeout,
                  fmt::format("the request was not answered within the request timeout of {}s",
                              cfg_.request_timeout.count())));
  res.prepare_payload();
  // `conn` keeps the stream alive for the write; the handler's own answer is dropped.
  std::visit(
      [&](auto& stream) {
        asio::co_spawn(
            stream.get_executor(),
            [this, conn, &stream, res = std::move(res)]() mutable -> asio::awaitable<void> {
              beast::get_lowest_layer(stream).expires_after(cfg_.write_timeout);
              co_await http::async_write(stream, res, kTuple);
            },
            asio::detached);
      },
      conn->stream);
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
        asio::post(c->tcp().get_executor(), [this, self, c, only_idle] {
          std::lock_guard inner(mu_);
          if (!live_.contains(c)) return;
          c->closing = true;
          if (!only_idle || !c->busy) c->tcp().cancel();
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
