#pragma once
/// One request/response exchange on a server connection, handed to route handlers.
/// Threading: lives on its connection's strand; handlers call it from their coroutine only.
/// A handler answers exactly once: either `send` or `start_stream`/`write_chunk`/`end_stream`.
/// Write errors are returned (the client went away); handlers then stop and return.
/// The stream is plain TCP or TLS; handlers cannot tell the difference.
/// Deadline: when the server's request_timeout passes, `expire()` cancels the call (the
/// `watch_disconnect` callback) and later writes fail; the server answers 504 if nothing was sent.
#include <array>
#include <boost/container/small_vector.hpp>
#include <boost/json/value.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <typeindex>
#include <unordered_map>
#include <variant>

#include "common/error.h"
#include "net/http_types.h"

namespace smmf::net {

class LazyDeadline;

class HttpExchange {
 public:
  using Stream = std::variant<beast::tcp_stream*, TlsStream*>;
  /// The connection's timers the exchange uses: `io` bounds each write (write_timeout; when it
  /// passes the connection's socket operations are cancelled), `watch` starts the disconnect
  /// watch (start_watch) once a call has run a little while.
  struct ConnectionTimers {
    LazyDeadline* io = nullptr;
    LazyDeadline* watch = nullptr;
  };
  /// `server_stopping`, when given, turns keep-alive off for responses sent once it is set.
  HttpExchange(Stream stream, Request& req, std::chrono::seconds write_timeout,
               const std::atomic<bool>* server_stopping, ConnectionTimers timers);
  /// Without connection timers (writes then have no deadline): for tests.
  HttpExchange(beast::tcp_stream& stream, Request& req, std::chrono::seconds write_timeout)
      : HttpExchange(Stream(&stream), req, write_timeout, nullptr, {}) {}
  ~HttpExchange();
  HttpExchange(const HttpExchange&) = delete;
  HttpExchange& operator=(const HttpExchange&) = delete;

  const Request& request() const { return req_; }
  std::string_view target_path() const;  ///< the target without its query string
  std::string_view header(http::field f) const;
  std::string_view header(std::string_view name) const;

  /// Full response. Content-Length, Server and keep-alive are set here.
  asio::awaitable<Status> send(Response res);
  asio::awaitable<Status> send_json(http::status status, const boost::json::value& body);
  asio::awaitable<Status> send_text(http::status status, std::string body,
                                    std::string_view content_type = "text/plain; charset=utf-8");

  /// Chunked streaming response (e.g. text/event-stream).
  asio::awaitable<Status> start_stream(http::status status, std::string_view content_type,
                                       std::function<void(Response&)> add_headers = {});
  asio::awaitable<Status> write_chunk(std::string_view data);
  asio::awaitable<Status> end_stream();

  /// Calls `on_gone` once if the client closes the connection before the response ends
  /// (watched through the socket's readability, so it works while nothing is being written).
  /// The watch itself starts once the call has run kWatchDelay (the connection's `watch` timer
  /// calls start_watch), so a quick answer never pays for it.
  void watch_disconnect(std::function<void()> on_gone);
  void start_watch();
  static constexpr std::chrono::milliseconds kWatchDelay{50};

  bool responded() const { return status_ != 0; }
  unsigned status() const { return status_; }
  size_t bytes_sent() const { return bytes_sent_; }
  bool keep_alive() const { return keep_alive_; }
  void set_keep_alive(bool v) { keep_alive_ = v; }
  /// Extra fields for the access log line (e.g. "model=qwen").
  void add_log_field(std::string_view key, std::string_view value);
  const std::string& log_fields() const { return log_fields_; }
  /// Headers added to whatever response is sent (e.g. x-request-id); a later one replaces an
  /// earlier one of the same name.
  void add_response_header(std::string_view name, std::string_view value);

  /// Per-exchange state a middleware leaves for the handler (e.g. the authenticated caller),
  /// one object per type, owned by the exchange.
  template <class T>
  void set_local(std::shared_ptr<T> value) {
    locals_[std::type_index(typeid(T))] = std::move(value);
  }
  template <class T>
  T* local() const {
    auto it = locals_.find(std::type_index(typeid(T)));
    return it == locals_.end() ? nullptr : static_cast<T*>(it->second.get());
  }

  /// The request deadline passed (called by the server on the connection's strand): cancels
  /// the call and makes later writes fail. Returns true when no byte of a response was sent,
  /// so the caller must answer 504 itself (the exchange then counts as answered 504); a started
  /// stream is cut (the connection closes).
  bool expire();
  bool expired() const { return expired_; }
  bool finished() const { return finished_; }

 private:
  void stop_watch();
  void write_failed();
  void decorate(Response& res);
  // A whole response (head, body): write_response_now sends what the socket takes at once
  // (usually all; the caller then awaits send_rest for the rest), response_written ends it.
  size_t write_response_now(const std::array<asio::const_buffer, 2>& bufs,
                            boost::system::error_code& ec);
  Status response_written(const boost::system::error_code& ec);
  beast::tcp_stream& tcp();
  bool tls() const { return std::holds_alternative<TlsStream*>(stream_); }

  Stream stream_;
  Request& req_;
  std::chrono::seconds write_timeout_;
  const std::atomic<bool>* server_stopping_;
  ConnectionTimers timers_;
  bool watch_wanted_ = false;
  unsigned status_ = 0;
  size_t bytes_sent_ = 0;
  bool keep_alive_;
  bool streaming_ = false;
  bool finished_ = false;
  bool expired_ = false;
  std::function<void()> on_gone_;
  std::unordered_map<std::type_index, std::shared_ptr<void>> locals_;
  std::string log_fields_;
  // The added headers' names and values, back to back in one buffer (a call adds three or
  // four: one allocation instead of one per long value).
  struct AddedHeader {
    uint32_t name_at, name_size, value_at, value_size;
  };
  std::string added_text_;
  boost::container::small_vector<AddedHeader, 4> added_;
  std::string_view added_name(const AddedHeader& h) const {
    return std::string_view(added_text_).substr(h.name_at, h.name_size);
  }
  std::string_view added_value(const AddedHeader& h) const {
    return std::string_view(added_text_).substr(h.value_at, h.value_size);
  }
  struct Watch;
  std::shared_ptr<Watch> watch_;
};

}  // namespace smmf::net
