#include "net/http_exchange.h"

#include <sys/socket.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <cerrno>

#include "net/as_tuple.h"
#include "net/lazy_deadline.h"
#include "net/read_loop.h"
#include "net/wire.h"

namespace smmf::net {
namespace {
constexpr std::string_view kServer = "smmf/" SMMF_VERSION;

Status write_status(const boost::system::error_code& ec) {
  if (!ec) return {};
  return Error::cancelled("client connection lost: " + ec.message());
}

Status expired_status() {
  return Error{ErrorCode::kDeadlineExceeded, "the request timeout passed", {}};
}

/// Runs one async write on whichever stream the exchange has (io_stream: the socket itself
/// for plain TCP).
template <class Fn>
auto on_stream(HttpExchange::Stream& s, Fn&& fn) {
  return std::visit([&](auto* stream) { return fn(io_stream(*stream)); }, s);
}

/// Writes `bufs` whole: synchronously when the socket takes them at once (no coroutine frame
/// for the usual case), else the rest through the reactor. The caller co_awaits only then:
///   size_t n = send_now(stream_, bufs, ec);
///   if (!ec && n < asio::buffer_size(bufs)) ec = co_await send_rest(stream_, bufs, n);
template <class Buffers>
size_t send_now(HttpExchange::Stream& s, const Buffers& bufs, boost::system::error_code& ec) {
  return std::visit([&](auto* stream) { return write_now(io_stream(*stream), bufs, ec); }, s);
}
template <class Buffers>
asio::awaitable<boost::system::error_code> send_rest(HttpExchange::Stream& s, Buffers bufs,
                                                     size_t sent) {
  auto r = co_await on_stream(s, [&](auto& stream) { return write_rest(stream, bufs, sent); });
  co_return std::get<0>(r);
}
}  // namespace

struct HttpExchange::Watch {
  asio::cancellation_signal signal;
  bool active = true;
};

HttpExchange::HttpExchange(Stream stream, Request& req, std::chrono::seconds write_timeout,
                           const std::atomic<bool>* server_stopping, ConnectionTimers timers)
    : stream_(stream),
      req_(req),
      write_timeout_(write_timeout),
      server_stopping_(server_stopping),
      timers_(timers),
      keep_alive_(req.keep_alive()) {}

HttpExchange::~HttpExchange() {
  stop_watch();
}

beast::tcp_stream& HttpExchange::tcp() {
  return std::visit([](auto* s) -> beast::tcp_stream& { return beast::get_lowest_layer(*s); },
                    stream_);
}

bool HttpExchange::expire() {
  if (finished_ || expired_) return false;
  expired_ = true;
  keep_alive_ = false;
  stop_watch();
  if (on_gone_) {
    auto cb = std::move(on_gone_);
    on_gone_ = nullptr;
    cb();
  }
  if (status_ == 0) {
    status_ = static_cast<unsigned>(http::status::gateway_timeout);  // the caller answers it
    return true;
  }
  // A stream already started: there is no way to say so in HTTP; end the connection so the
  // client sees a truncated response rather than waiting.
  if (streaming_) {
    boost::system::error_code ec;
    tcp().socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  }
  return false;
}

std::string_view HttpExchange::target_path() const {
  std::string_view t(req_.target().data(), req_.target().size());
  return t.substr(0, t.find('?'));
}

std::string_view HttpExchange::header(http::field f) const {
  auto it = req_.find(f);
  return it == req_.end() ? std::string_view{} : std::string_view(it->value());
}

std::string_view HttpExchange::header(std::string_view name) const {
  auto it = req_.find(name);
  return it == req_.end() ? std::string_view{} : std::string_view(it->value());
}

void HttpExchange::add_log_field(std::string_view key, std::string_view value) {
  if (log_fields_.empty())
    log_fields_.reserve(96);  // model, instance, tokens: one allocation for the call's fields
  else
    log_fields_ += ' ';
  log_fields_ += key;
  log_fields_ += '=';
  log_fields_ += value;
}

void HttpExchange::add_response_header(std::string_view name, std::string_view value) {
  if (added_text_.empty()) added_text_.reserve(192);
  const auto at = static_cast<uint32_t>(added_text_.size());
  added_text_ += name;
  added_text_ += value;
  added_.push_back({at, static_cast<uint32_t>(name.size()), at + static_cast<uint32_t>(name.size()),
                    static_cast<uint32_t>(value.size())});
}

void HttpExchange::decorate(Response& res) {
  res.set(http::field::server, kServer);
  for (const auto& h : added_) res.set(added_name(h), added_value(h));
  if (server_stopping_ && server_stopping_->load()) keep_alive_ = false;
  res.keep_alive(keep_alive_);
}

asio::awaitable<Status> HttpExchange::send(Response res) {
  stop_watch();
  if (expired_) co_return expired_status();
  res.version(req_.version());
  decorate(res);
  res.prepare_payload();
  status_ = res.result_int();
  std::string head;
  head.reserve(256);
  wire::append_head(head, res.base());
  const std::array<asio::const_buffer, 2> bufs{asio::buffer(head), asio::buffer(res.body())};
  boost::system::error_code ec;
  const size_t n = write_response_now(bufs, ec);
  if (!ec && n < asio::buffer_size(bufs)) ec = co_await send_rest(stream_, bufs, n);
  co_return response_written(ec);
}

size_t HttpExchange::write_response_now(const std::array<asio::const_buffer, 2>& bufs,
                                        boost::system::error_code& ec) {
  bytes_sent_ += bufs[1].size();
  if (timers_.io) timers_.io->expires_after(write_timeout_);
  return send_now(stream_, bufs, ec);
}

Status HttpExchange::response_written(const boost::system::error_code& ec) {
  if (timers_.io) timers_.io->clear();
  finished_ = true;
  if (ec) keep_alive_ = false;
  return write_status(ec);
}

asio::awaitable<Status> HttpExchange::send_json(http::status status,
                                                const boost::json::value& body) {
  co_return co_await send_text(status, boost::json::serialize(body), "application/json");
}

asio::awaitable<Status> HttpExchange::send_text(http::status status, std::string body,
                                                std::string_view content_type) {
  const unsigned code = static_cast<unsigned>(status);
  if (code < 200 || code == 204 || code == 304) {
    // No body and no length for these: the general path.
    Response res{status, req_.version()};
    res.set(http::field::content_type, content_type);
    res.body() = std::move(body);
    co_return co_await send(std::move(res));
  }
  stop_watch();
  if (expired_) co_return expired_status();
  if (server_stopping_ && server_stopping_->load()) keep_alive_ = false;
  status_ = code;
  // The head written directly, as send() would write it (no Beast field list): the same
  // fields, an added header replacing an earlier one of the same name as Response::set does.
  std::string head;
  head.reserve(160 + added_text_.size() + 4 * added_.size());
  wire::append_status_line(head, req_.version(), status);
  wire::append_field(head, "Content-Type", content_type);
  wire::append_field(head, "Server", kServer);
  for (size_t i = 0; i < added_.size(); ++i) {
    const std::string_view k = added_name(added_[i]);
    bool replaced = false;
    for (size_t j = i + 1; j < added_.size() && !replaced; ++j)
      replaced = beast::iequals(added_name(added_[j]), k);
    if (!replaced) wire::append_field(head, k, added_value(added_[i]));
  }
  wire::append_content_length(head, body.size());
  if (req_.version() >= 11) {
    if (!keep_alive_) wire::append_field(head, "Connection", "close");
  } else if (keep_alive_) {
    wire::append_field(head, "Connection", "keep-alive");
  }
  head.append("\r\n");
  const std::array<asio::const_buffer, 2> bufs{asio::buffer(head), asio::buffer(body)};
  boost::system::error_code ec;
  const size_t n = write_response_now(bufs, ec);
  if (!ec && n < asio::buffer_size(bufs)) ec = co_await send_rest(stream_, bufs, n);
  co_return response_written(ec);
}

asio::awaitable<Status> HttpExchange::start_stream(http::status status,
                                                   std::string_view content_type,
                                                   std::function<void(Response&)> add_headers) {
  Response res{status, req_.version()};
  res.set(http::field::content_type, content_type);
  res.set(http::field::cache_control, "no-cache");
  res.set("x-accel-buffering", "no");
  if (add_headers) add_headers(res);
  if (expired_) co_return expired_status();
  decorate(res);
  res.chunked(true);
  status_ = res.result_int();
  streaming_ = true;
  std::string head;
  head.reserve(256);
  wire::append_head(head, res.base());
  if (timers_.io) timers_.io->expires_after(write_timeout_);
  boost::system::error_code ec;
  const size_t n = send_now(stream_, asio::buffer(head), ec);
  if (!ec && n < head.size()) ec = co_await send_rest(stream_, asio::buffer(head), n);
  if (timers_.io) timers_.io->clear();
  if (ec) write_failed();
  co_return write_status(ec);
}

asio::awaitable<Status> HttpExchange::write_chunk(std::string_view data) {
  if (data.empty()) co_return Status{};
  if (expired_) co_return expired_status();
  bytes_sent_ += data.size();
  if (timers_.io) timers_.io->expires_after(write_timeout_);
  std::array<char, 24> size_line;
  auto chunk = wire::chunk(data, size_line);
  boost::system::error_code ec;
  const size_t n = send_now(stream_, chunk, ec);
  if (!ec && n < asio::buffer_size(chunk)) ec = co_await send_rest(stream_, chunk, n);
  if (timers_.io) timers_.io->clear();
  if (ec) write_failed();
  co_return write_status(ec);
}

asio::awaitable<Status> HttpExchange::end_stream() {
  stop_watch();
  if (expired_) co_return expired_status();
  finished_ = true;
  if (timers_.io) timers_.io->expires_after(write_timeout_);
  boost::system::error_code ec;
  const auto last = asio::buffer(wire::kLastChunk);
  const size_t n = send_now(stream_, last, ec);
  if (!ec && n < last.size()) ec = co_await send_rest(stream_, last, n);
  if (timers_.io) timers_.io->clear();
  if (ec) keep_alive_ = false;
  co_return write_status(ec);
}

void HttpExchange::watch_disconnect(std::function<void()> on_gone) {
  stop_watch();
  on_gone_ = std::move(on_gone);
  watch_wanted_ = true;
  if (timers_.watch)
    timers_.watch->expires_after(kWatchDelay);
  else
    start_watch();
}

void HttpExchange::start_watch() {
  if (!watch_wanted_ || watch_ || finished_ || expired_) return;
  auto w = std::make_shared<Watch>();
  watch_ = w;
  auto& sock = tcp().socket();
  bool tls = this->tls();
  sock.async_wait(asio::ip::tcp::socket::wait_read,
                  asio::bind_cancellation_slot(w->signal.slot(), [w, &sock, tls, this](auto ec) {
                    // Runs on the connection's strand; `active` guards the socket's and this
                    // object's life (both are stopped before they go away).
                    if (ec || !w->active) return;
                    w->active = false;
                    unsigned char c = 0;
                    ssize_t n = ::recv(sock.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
                    // A TLS client that goes away first sends a close_notify alert (record type
                    // 21).
                    bool gone = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) ||
                                (tls && n == 1 && c == 21);
                    if (gone && on_gone_) {
                      auto cb = std::move(on_gone_);
                      on_gone_ = nullptr;
                      cb();
                    }
                    // Otherwise a pipelined request is waiting; stop watching.
                  }));
}

void HttpExchange::write_failed() {
  keep_alive_ = false;
  // A write that fails mid-stream means the client is gone: tell the watcher even when the
  // watch itself has not started yet (a call younger than kWatchDelay).
  if (watch_wanted_ && on_gone_) {
    stop_watch();
    auto cb = std::move(on_gone_);
    on_gone_ = nullptr;
    cb();
  }
}

void HttpExchange::stop_watch() {
  if (watch_wanted_) {
    watch_wanted_ = false;
    if (timers_.watch) timers_.watch->clear();
  }
  if (!watch_) return;
  if (watch_->active) {
    watch_->active = false;
    watch_->signal.emit(asio::cancellation_type::all);
  }
  watch_.reset();
}

}  // namespace smmf::net
