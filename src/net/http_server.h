#pragma once
/// HTTP/1.1 server on Boost.Beast with C++20 coroutines.
/// Threading: runs on the io_context it is given (run by N threads by the caller); each
/// connection is a coroutine on its own strand. Handlers must not block.
/// Plain HTTP, or HTTPS only when ServerConfig has tls_cert/tls_key (one session template serves
/// both streams). CORS preflights are answered here, before routing (net/cors.h).
/// Limits: body (413), header (431), header/body read timeout counted from the connection's
/// accept for its first request (408 then close: a slowloris client cannot hold a connection
/// longer), keep-alive idle timeout, write timeout, request timeout (504, or a cut stream),
/// max connections (503 and close at once; TLS: closed at once). Errors the server itself
/// answers use `error_body` so the caller decides their shape (the gateway uses OpenAI's).
/// Shutdown: stop() closes the listener and idle connections at once, lets in-flight exchanges
/// finish until the grace deadline, then closes everything; `on_stopped` fires once when no
/// connection remains.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <set>

#include "common/config.h"
#include "net/cors.h"
#include "net/router.h"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace smmf::net {

class HttpServer : public std::enable_shared_from_this<HttpServer> {
 public:
  /// Builds the body of an error the server answers by itself (status, message).
  using ErrorBody = std::function<boost::json::value(http::status, std::string_view)>;
  using AccessLog = std::function<void(const HttpExchange&, std::chrono::microseconds)>;

  HttpServer(asio::io_context& ioc, ServerConfig cfg, std::shared_ptr<const Router> router,
             ErrorBody error_body, AccessLog access_log = {});
  ~HttpServer();

  /// Loads the TLS certificate and key (if configured), binds and listens; port 0 picks a free
  /// port (see port()).
  Status listen();
  void start();
  uint16_t port() const { return port_; }
  /// "https" when TLS is on, else "http".
  std::string_view scheme() const { return tls_ ? "https" : "http"; }
  /// Graceful stop; safe from any thread; `on_stopped` runs on an I/O thread.
  void stop(std::function<void()> on_stopped = {});
  size_t connections() const { return connections_.load(); }
  size_t in_flight() const { return in_flight_.load(); }

 private:
  struct Connection;
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(std::shared_ptr<Connection> conn);
  template <class Stream>
  asio::awaitable<void> session(std::shared_ptr<Connection> conn, Stream& stream);
  template <class Stream>
  asio::awaitable<void> handle(std::shared_ptr<Connection> conn, Stream& stream, Request& req);
  /// Answers an error by itself and ends the connection (Connection: close).
  template <class Stream>
  asio::awaitable<void> reject(Stream& stream, http::status status, std::string_view message);
  void on_connection_closed(Connection* c);
  /// The request timeout of the connection's current exchange passed (on its strand).
  void request_timed_out(const std::shared_ptr<Connection>& conn);

  asio::io_context& ioc_;
  ServerConfig cfg_;
  std::shared_ptr<const Router> router_;
  ErrorBody error_body_;
  AccessLog access_log_;
  Cors cors_;
  std::unique_ptr<asio::ssl::context> tls_;
  asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<size_t> connections_{0};
  std::atomic<size_t> in_flight_{0};
  std::atomic<bool> stopping_{false};

  std::mutex mu_;  // guards the fields below
  std::set<Connection*> live_;
  std::function<void()> on_stopped_;
  std::unique_ptr<asio::steady_timer> grace_timer_;
};

}  // namespace smmf::net
