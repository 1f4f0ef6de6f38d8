#include "net/http_client.h"

#include <fmt/format.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <array>
#include <charconv>
#include <functional>
#include <optional>
#include <variant>

#include "net/as_tuple.h"
#include "net/lazy_deadline.h"
#include "net/read_loop.h"
#include "net/wire.h"

namespace smmf::net {
namespace {
using Clock = std::chrono::steady_clock;
using SslStream = TlsStream;

ClientError fail(ErrorCode code, std::string msg, bool before_response = true) {
  return ClientError{Error{code, std::move(msg), {}}, before_response};
}

// The earlier of `now + timeout` and the call's deadline.
Clock::time_point expiry(std::chrono::milliseconds timeout, Clock::time_point deadline) {
  auto now = Clock::now();
  return deadline - now < timeout ? deadline : now + timeout;
}

Error cancelled_error() {
  return Error::cancelled("the upstream call was cancelled");
}

ClientError io_error(const boost::system::error_code& ec, std::string_view what, bool before,
                     const CancelToken* cancel = nullptr) {
  // A cancel closes the socket: the operation then fails with whatever error that gave.
  if (cancel && cancel->cancelled()) return ClientError{cancelled_error(), before};
  if (ec == beast::error::timeout)
    return fail(ErrorCode::kDeadlineExceeded, fmt::format("{}: timed out", what), before);
  return fail(ErrorCode::kUnavailable, fmt::format("{}: {}", what, ec.message()), before);
}
}  // namespace

std::string Url::origin() const {
  std::string out = tls ? "https://" : "http://";
  out += host;
  out += ':';
  out += std::to_string(port);
  return out;
}

std::string encode_component(std::string_view s) {
  return boost::urls::encode(s, boost::urls::unreserved_chars);
}

Result<Url> parse_url(std::string_view text) {
  auto u = boost::urls::parse_uri(text);
  if (!u) return Error::invalid(fmt::format("'{}' is not a valid URL", text));
  Url out;
  if (u->scheme() == "https")
    out.tls = true;
  else if (u->scheme() != "http")
    return Error::invalid(fmt::format("'{}': only http and https URLs are supported", text));
  out.host = u->host();
  if (out.host.empty()) return Error::invalid(fmt::format("'{}' has no host", text));
  // Bracketed IPv6 literals are connected to without their brackets.
  if (out.host.front() == '[' && out.host.back() == ']')
    out.host = out.host.substr(1, out.host.size() - 2);
  out.port = u->has_port() ? u->port_number() : (out.tls ? 443 : 80);
  out.path = u->encoded_path();
  while (!out.path.empty() && out.path.back() == '/') out.path.pop_back();
  return out;
}

struct ResponseStream::Conn {
  std::string key;
  std::variant<beast::tcp_stream, SslStream> stream;
  beast::flat_buffer buffer;
  std::optional<http::response_parser<http::buffer_body>> parser;
  Clock::time_point last_used = Clock::now();
  bool reused = false;
  // Body bytes land here: one buffer per connection rather than a large array in every read()
  // coroutine frame, which cost a large malloc and free per read.
  std::array<char, 8192> body_buf;

  // Reads take what fits in the buffer's free capacity (Beast reads 512 bytes into an empty
  // flat_buffer): room for a few KB lets one read collect every SSE event the upstream has
  // written since the last one, so a busy relay makes fewer reads and fewer client writes.
  static constexpr size_t kReadCapacity = 4096;

  // The deadline of the write or read under way; when it passes the socket's operations are
  // cancelled and `timed_out` says why. Moved without timer operations (net/lazy_deadline.h).
  // Its timer runs on the executor of the coroutine doing the I/O (a strand when the caller
  // has several threads), so that its expiry never runs beside that coroutine: made again
  // only when a call comes from another executor.
  std::optional<LazyDeadline> io;
  asio::any_io_executor io_ex;
  bool timed_out = false;

  template <class S>
  Conn(std::string k, S&& s) : key(std::move(k)), stream(std::forward<S>(s)) {
    buffer.reserve(kReadCapacity);
  }

  LazyDeadline& deadline_on(const asio::any_io_executor& ex) {
    if (!io || io_ex != ex) {
      io.emplace(ex, [this] {
        timed_out = true;
        boost::system::error_code ec;
        tcp().socket().cancel(ec);
      });
      io_ex = ex;
    }
    timed_out = false;
    return *io;
  }

  beast::tcp_stream& tcp() {
    return std::visit([](auto& s) -> beast::tcp_stream& { return beast::get_lowest_layer(s); },
                      stream);
  }
};

/// While alive, a cancel of `token` (from any thread) runs `stop` on `ex`: the executor of the
/// coroutine waiting on the I/O that `stop` interrupts, so that the two never run at once. A
/// stop posted before the scope ends but run after it finds it gone and does nothing.
struct ResponseStream::CancelScope::State : std::enable_shared_from_this<State> {
  State(asio::any_io_executor e, std::function<void()> s) : ex(std::move(e)), stop(std::move(s)) {}
  asio::any_io_executor ex;
  std::function<void()> stop;
};

ResponseStream::CancelScope::CancelScope(CancelToken& token, asio::any_io_executor ex,
                                         std::function<void()> stop)
    : state_(std::make_shared<State>(std::move(ex), std::move(stop))) {
  // The token's callback holds a plain pointer (no allocation of its own): it cannot outlive
  // the state, since the subscription ends first, and a cancel runs callbacks under the token's
  // lock. `ex` never changes, so reading it from the cancelling thread is safe. What it posts
  // holds a weak pointer: the scope may be gone by the time that runs.
  sub_ = token.on_cancel([state = state_.get()] {
    asio::post(state->ex, [weak = state->weak_from_this()] {
      if (auto live = weak.lock()) live->stop();
    });
  });
}

void ResponseStream::CancelScope::retarget(std::function<void()> stop) {
  state_->stop = std::move(stop);
}

HttpClient::HttpClient(asio::any_io_executor ex, ClientOptions opts)
    : ex_(std::move(ex)), opts_(std::move(opts)) {
  tls_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  tls_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                    asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                    asio::ssl::context::no_tlsv1_1);
  boost::system::error_code ec;
  tls_->set_default_verify_paths(ec);
  if (ec) spdlog::warn("TLS: cannot load the system CA store: {}", ec.message());
  if (!opts_.ca_file.empty()) {
    tls_->load_verify_file(opts_.ca_file, ec);
    if (ec) spdlog::error("TLS: cannot load CA file {}: {}", opts_.ca_file, ec.message());
  }
  tls_->set_verify_mode(opts_.verify_tls ? asio::ssl::verify_peer : asio::ssl::verify_none);
}

HttpClient::~HttpClient() = default;

size_t HttpClient::idle_connections() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [k, v] : idle_) n += v.size();
  return n;
}

std::unique_ptr<ResponseStream::Conn> HttpClient::take_idle(std::string_view key) {
  std::lock_guard lock(mu_);
  auto it = idle_.find(key);
  if (it == idle_.end()) return nullptr;
  auto& v = it->second;
  while (!v.empty()) {
    auto c = std::move(v.back());
    v.pop_back();
    if (Clock::now() - c->last_used < opts_.idle_expiry) {
      c->reused = true;
      return c;
    }
  }
  return nullptr;
}

void HttpClient::give_back(std::unique_ptr<Conn> conn) {
  conn->last_used = Clock::now();
  conn->parser.reset();
  // An idle pooled connection holds no timer (io_context::run can return), unless the process
  // runs until stopped (keep_idle_timers: no cancel now and re-arm on the next call).
  if (conn->io) {
    if (opts_.keep_idle_timers)
      conn->io->clear();
    else
      conn->io->cancel();
  }
  std::lock_guard lock(mu_);
  auto& v = idle_[conn->key];
  if (v.size() < opts_.max_idle_per_host) v.push_back(std::move(conn));
}

asio::awaitable<boost::system::result<std::unique_ptr<ResponseStream::Conn>, ClientError>>
HttpClient::connect(const Url& url, const ProxyServer* proxy, std::string key,
                    Clock::time_point deadline, CancelToken* cancel) {
  const std::string& host = proxy ? proxy->host : url.host;
  const uint16_t port = proxy ? proxy->port : url.port;
  const std::string peer = proxy ? fmt::format("proxy {}", proxy->origin()) : url.origin();
  // On the caller's executor (a strand when the server runs several I/O threads): the stream's
  // connect and handshake timer then fires in turn with this coroutine, never beside it.
  auto here = co_await asio::this_coro::executor;
  asio::ip::tcp::resolver resolver(here);
  beast::tcp_stream tcp(here);
  beast::tcp_stream* live = &tcp;  // the socket a cancel closes (inside the TLS stream later)
  std::optional<ResponseStream::CancelScope> scope;
  if (cancel) {
    scope.emplace(*cancel, here, [&resolver, &live] {
      resolver.cancel();
      live->close();
    });
  }
  // Named locals, not structured bindings: GCC 12 double-destroys non-trivial bindings of a
  // co_await result.
  auto resolved = co_await resolver.async_resolve(host, std::to_string(port), kTuple);
  boost::system::error_code rec = std::get<0>(resolved);
  asio::ip::tcp::resolver::results_type results = std::move(std::get<1>(resolved));
  if (rec) co_return io_error(rec, fmt::format("cannot resolve {}", host), true, cancel);
  if (cancel && cancel->cancelled()) co_return ClientError{cancelled_error(), true};
  tcp.expires_at(expiry(opts_.connect_timeout, deadline));
  auto [cec, ep] = co_await tcp.async_connect(results, kTuple);
  if (cec) co_return io_error(cec, fmt::format("cannot connect to {}", peer), true, cancel);
  tcp.socket().set_option(asio::ip::tcp::no_delay(true));
  if (!url.tls) {
    tcp.expires_never();
    co_return std::make_unique<Conn>(std::move(key), std::move(tcp));
  }
  if (proxy) {
    // An HTTP CONNECT tunnel; TLS then runs end to end with the upstream through it.
    std::string authority = url.host.find(':') != std::string::npos
                                ? fmt::format("[{}]:{}", url.host, url.port)
                                : fmt::format("{}:{}", url.host, url.port);
    http::request<http::empty_body> creq{http::verb::connect, authority, 11};
    creq.set(http::field::host, authority);
    creq.set(http::field::user_agent, "smmf/" SMMF_VERSION);
    if (!proxy->authorization.empty())
      creq.set(http::field::proxy_authorization, proxy->authorization);
    auto [wec, wn] = co_await http::async_write(tcp, creq, kTuple);
    if (wec) co_return io_error(wec, fmt::format("CONNECT through {} failed", peer), true, cancel);
    beast::flat_buffer buf;
    http::response_parser<http::empty_body> cres;
    cres.skip(true);  // a 2xx answer to CONNECT has no body: the tunnel starts after the header
    auto [rec2, rn] = co_await http::async_read_header(tcp, buf, cres, kTuple);
    if (rec2)
      co_return io_error(rec2, fmt::format("CONNECT through {} failed", peer), true, cancel);
    unsigned st = cres.get().result_int();
    if (st / 100 != 2)
      co_return fail(ErrorCode::kUnavailable,
                     fmt::format("{} refused CONNECT to {}: HTTP {}", peer, authority, st));
    if (buf.size() != 0)
      co_return fail(ErrorCode::kUnavailable,
                     fmt::format("{} sent data before the TLS handshake", peer));
  }
  SslStream ssl(std::move(tcp), *tls_);
  live = &beast::get_lowest_layer(ssl);
  if (!SSL_set_tlsext_host_name(ssl.native_handle(), url.host.c_str()))
    co_return fail(ErrorCode::kUnavailable, fmt::format("TLS: cannot set SNI for {}", url.host));
  if (opts_.verify_tls) ssl.set_verify_callback(asio::ssl::host_name_verification(url.host));
  auto [hec] = co_await ssl.async_handshake(asio::ssl::stream_base::client, kTuple);
  if (hec)
    co_return io_error(hec, fmt::format("TLS handshake with {} failed", url.origin()), true,
                       cancel);
  beast::get_lowest_layer(ssl).expires_never();
  co_return std::make_unique<Conn>(std::move(key), std::move(ssl));
}

asio::awaitable<boost::system::result<std::unique_ptr<ResponseStream>, ClientError>>
HttpClient::open(const Url& url, ClientRequest req) {
  const ProxyServer* proxy = opts_.proxy.select(url);
  // Through a proxy, plain http requests name the whole URL (absolute form).
  const bool absolute = proxy && !url.tls;
  // The origin ("http://host:port"), which is also the pool's key (with " via <proxy>" through
  // a proxy) and holds the Host field's "host:port": written into this frame, not allocated.
  fmt::memory_buffer key_buf;
  auto add = [&key_buf](std::string_view text) {
    key_buf.append(text.data(), text.data() + text.size());
  };
  const std::string_view scheme = url.tls ? "https://" : "http://";
  add(scheme);
  add(url.host);
  add(":");
  add(fmt::format_int(url.port).c_str());
  const size_t origin_size = key_buf.size();
  if (proxy) {
    add(" via ");
    add(proxy->origin());
  }
  const std::string_view key(key_buf.data(), key_buf.size());
  const std::string_view origin(key_buf.data(), origin_size);
  const std::string_view host = url.port == (url.tls ? 443 : 80)
                                    ? std::string_view(url.host)
                                    : origin.substr(scheme.size());  // host:port
  std::string head;
  {
    // Written directly (no Beast field list); a later field replaces an earlier one of the same
    // name, so a model's headers can override the defaults. The target: the Url's base path
    // and the request's (after the origin, in absolute form through a proxy).
    wire::RequestHead h(req.method, {absolute ? origin : std::string_view(), url.path, req.target});
    h.set("Host", host);
    h.set("User-Agent", "smmf/" SMMF_VERSION);
    for (const auto& [k, v] : opts_.default_headers) h.set(k, v);
    for (const auto& [k, v] : req.headers) h.set(k, v);
    if (absolute && !proxy->authorization.empty())
      h.set("Proxy-Authorization", proxy->authorization);
    // As Beast's prepare_payload: a length for a body, and for an empty POST, PUT or OPTIONS.
    std::optional<size_t> length;
    const bool post = req.method == http::verb::post;
    if (!req.body.empty() || post) h.set("Content-Type", req.content_type);
    if (!req.body.empty() || post || req.method == http::verb::put ||
        req.method == http::verb::options)
      length = req.body.size();
    head.reserve(256 + origin.size() + url.path.size() + req.target.size());
    h.append_to(head, length);
  }
  std::array<asio::const_buffer, 2> wire_bufs{asio::buffer(head), asio::buffer(req.body)};

  const auto deadline = opts_.total_timeout.count() > 0 ? Clock::now() + opts_.total_timeout
                                                        : Clock::time_point::max();
  CancelToken* cancel = req.cancel.get();
  auto here = co_await asio::this_coro::executor;
  for (int attempt = 0;; ++attempt) {
    if (cancel && cancel->cancelled()) co_return ClientError{cancelled_error(), true};
    std::unique_ptr<Conn> conn = attempt == 0 ? take_idle(key) : nullptr;
    if (!conn) {
      auto c = co_await connect(url, proxy, std::string(key), deadline, cancel);
      if (!c) co_return c.error();
      conn = std::move(*c);
    }
    std::optional<ResponseStream::CancelScope> scope;
    if (cancel) scope.emplace(*cancel, here, [&conn] { conn->tcp().close(); });
    conn->deadline_on(here).expires_at(expiry(opts_.first_byte_timeout, deadline));
    boost::system::error_code ec;
    const size_t sent =
        std::visit([&](auto& s) { return write_now(io_stream(s), wire_bufs, ec); }, conn->stream);
    if (!ec && sent < asio::buffer_size(wire_bufs)) {
      auto r = co_await std::visit(
          [&](auto& s) { return write_rest(io_stream(s), wire_bufs, sent); }, conn->stream);
      ec = std::get<0>(r);
    }
    if (!ec) {
      conn->parser.emplace();
      conn->parser->body_limit(boost::none);
      conn->parser->header_limit(static_cast<uint32_t>(opts_.max_header_bytes));
      // The wait for the head, inline (no read_message frame): parse what is here, else read.
      while (!parse_buffered(conn->buffer, *conn->parser, true, ec)) {
        auto [rec, n] = co_await std::visit(
            [&](auto& s) {
              return io_stream(s).async_read_some(
                  conn->buffer.prepare(beast::read_size(conn->buffer, 65536)), kTuple);
            },
            conn->stream);
        if (rec) {
          ec = rec == asio::error::eof ? at_eof(*conn->parser, true) : rec;
          break;
        }
        conn->buffer.commit(n);
      }
    }
    conn->io->clear();
    if (ec && conn->timed_out) ec = beast::error::timeout;
    if (ec) {
      if (cancel && cancel->cancelled()) co_return ClientError{cancelled_error(), true};
      // A pooled connection the peer closed while idle fails at once: try a fresh one.
      if (conn->reused && ec != beast::error::timeout && conn->buffer.size() == 0) continue;
      co_return io_error(ec, fmt::format("request to {} failed", url.origin()), true);
    }
    auto stream =
        std::unique_ptr<ResponseStream>(new ResponseStream(shared_from_this(), std::move(conn)));
    stream->deadline_ = deadline;
    if (scope) stream->watch_cancel(std::move(req.cancel), std::move(*scope));  // the stream's now
    co_return stream;
  }
}

asio::awaitable<boost::system::result<ClientResponse, ClientError>> HttpClient::send(
    const Url& url, ClientRequest req) {
  auto s = co_await open(url, std::move(req));
  if (!s) co_return s.error();
  auto body = co_await (*s)->read_all();
  if (!body) co_return ClientError{body.error(), false};
  co_return ClientResponse{(*s)->status(), (*s)->headers(), std::move(*body)};
}

ResponseStream::ResponseStream(std::shared_ptr<HttpClient> client, std::unique_ptr<Conn> conn)
    : client_(std::move(client)),
      conn_(std::move(conn)),
      read_timeout_(client_->opts_.idle_timeout) {
  auto& msg = conn_->parser->get();
  status_ = msg.result_int();
  if (conn_->parser->is_done()) done_ = true;
}

const http::fields& ResponseStream::headers() const {
  // The parser's own fields while the connection is held; a copy once it is dropped.
  if (conn_ && conn_->parser) return conn_->parser->get().base();
  return headers_;
}

void ResponseStream::drop_connection() {
  if (conn_ && conn_->parser)
    for (const auto& f : conn_->parser->get().base()) headers_.insert(f.name_string(), f.value());
  conn_.reset();
}

void ResponseStream::watch_cancel(std::shared_ptr<CancelToken> token, CancelScope scope) {
  cancel_ = std::move(token);
  cancel_scope_ = std::move(scope);
  // Closing the socket ends a pending read at once; a later read() sees the token.
  cancel_scope_->retarget([this] {
    if (conn_ && !done_) conn_->tcp().close();
  });
}

ResponseStream::~ResponseStream() {
  // A connection goes back to the pool only when its response was read to the end.
  if (conn_ && done_ && conn_->parser && conn_->parser->is_done() && conn_->parser->keep_alive())
    client_->give_back(std::move(conn_));
}

Result<ResponseStream::Parsed> ResponseStream::parse_buffered(std::string& out) {
  auto& parser = *conn_->parser;
  auto& buf = conn_->body_buf;
  // What is already buffered (the body that came with the header, the next chunks of a stream
  // that arrived together) is parsed here, synchronously: no composed operation and no trip
  // through the executor per chunk.
  while (conn_->buffer.size() > 0 && !parser.is_done()) {
    parser.get().body().data = buf.data();
    parser.get().body().size = buf.size();
    boost::system::error_code ec;
    size_t used = parser.put(conn_->buffer.data(), ec);
    conn_->buffer.consume(used);
    if (ec == http::error::need_buffer) ec = {};
    if (ec == http::error::need_more) break;  // a partial chunk: the rest is on the network
    if (ec) {
      drop_connection();
      return Error{ErrorCode::kUnavailable,
                   fmt::format("upstream sent an invalid response: {}", ec.message()),
                   {}};
    }
    size_t got = buf.size() - parser.get().body().size;
    if (parser.is_done()) done_ = true;
    out.append(buf.data(), got);
    if (got > 0 || done_) return Parsed::kBody;
    if (used == 0) break;
  }
  if (parser.is_done()) {
    done_ = true;
    return Parsed::kBody;
  }
  return Parsed::kNeedRead;
}

std::optional<Result<std::string>> ResponseStream::read_all_now() {
  if (done_ || !conn_ || !conn_->parser) return std::nullopt;
  auto& parser = *conn_->parser;
  const auto left = parser.content_length_remaining();
  if (!left || *left > conn_->buffer.size()) return std::nullopt;
  if (*left > client_->opts_.max_response_bytes) return std::nullopt;  // read_all's error
  std::string out;
  out.reserve(static_cast<size_t>(*left));
  while (!done_) {
    auto r = parse_buffered(out);
    if (!r) return Result<std::string>(r.error());
    if (*r == Parsed::kNeedRead) return std::nullopt;  // not reached: the whole body is here
  }
  return Result<std::string>(std::move(out));
}

asio::awaitable<Result<std::string>> ResponseStream::read() {
  if (done_ || !conn_) co_return std::string();
  auto& parser = *conn_->parser;
  while (true) {
    std::string piece;
    auto parsed = parse_buffered(piece);
    if (!parsed) co_return parsed.error();
    if (*parsed == Parsed::kBody) co_return piece;
    if (cancel_ && cancel_->cancelled()) {
      drop_connection();
      co_return cancelled_error();
    }
    if (Clock::now() >= deadline_) {
      drop_connection();
      co_return Error{ErrorCode::kDeadlineExceeded, "upstream response exceeded its deadline", {}};
    }
    // One plain read of whatever the upstream has sent (up to the buffer's free capacity).
    auto here = co_await asio::this_coro::executor;
    conn_->deadline_on(here).expires_at(expiry(read_timeout_, deadline_));
    auto [ec, n] = co_await std::visit(
        [&](auto& s) {
          return io_stream(s).async_read_some(
              conn_->buffer.prepare(beast::read_size(conn_->buffer, 65536)), kTuple);
        },
        conn_->stream);
    conn_->io->clear();
    if (ec == asio::error::eof && parser.got_some()) {
      // A body that ends with the connection (no length, not chunked) ends here.
      boost::system::error_code eof_ec;
      parser.put_eof(eof_ec);
      if (!eof_ec) {
        done_ = true;
        co_return std::string();
      }
    }
    if (ec) {
      const bool timed_out = conn_->timed_out;
      drop_connection();
      if (cancel_ && cancel_->cancelled()) co_return cancelled_error();
      if (timed_out)
        co_return Error{ErrorCode::kDeadlineExceeded,
                        Clock::now() >= deadline_ ? "upstream response exceeded its deadline"
                                                  : "upstream went silent mid-response",
                        {}};
      co_return Error{ErrorCode::kUnavailable,
                      fmt::format("upstream connection lost mid-response: {}", ec.message()),
                      {}};
    }
    conn_->buffer.commit(n);
  }
}

bool ResponseStream::buffered() const {
  if (done_ || !conn_ || conn_->buffer.size() == 0) return false;
  if (!conn_->parser->chunked()) return true;
  // A chunked body: true only if a whole chunk is here, so that a read never waits on the
  // network for the rest of a partly received one.
  auto d = conn_->buffer.data();
  std::string_view b(static_cast<const char*>(d.data()), d.size());
  if (b.starts_with("\r\n")) b.remove_prefix(2);  // the end of the previous chunk
  size_t eol = b.find("\r\n");
  if (eol == std::string_view::npos) return false;
  size_t size = 0;
  auto [end, ec] = std::from_chars(b.data(), b.data() + eol, size, 16);
  if (ec != std::errc() || end == b.data()) return false;
  return b.size() - (eol + 2) >= size;
}

void ResponseStream::finish_in_background(std::unique_ptr<ResponseStream> stream,
                                          std::chrono::milliseconds read_timeout,
                                          size_t max_bytes) {
  if (!stream || stream->done_ || !stream->conn_) return;  // nothing left: pooled or closed now
  // The drain runs on the client's executor, not the caller's: no cancel may touch it there.
  stream->cancel_scope_.reset();
  stream->cancel_.reset();
  stream->read_timeout_ = read_timeout;
  auto ex = stream->client_->ex_;
  asio::co_spawn(
      ex,
      [](std::unique_ptr<ResponseStream> s, size_t limit) -> asio::awaitable<void> {
        size_t seen = 0;
        while (seen <= limit) {
          auto piece = co_await s->read();
          if (!piece || piece->empty()) break;
          seen += piece->size();
        }
        // The destructor pools the connection if the body ended, else closes it.
      }(std::move(stream), max_bytes),
      asio::detached);
}

asio::awaitable<Result<std::string>> ResponseStream::read_all() {
  if (auto now = read_all_now()) co_return std::move(*now);
  std::string out;
  while (true) {
    auto piece = co_await read();
    if (!piece) co_return piece.error();
    if (piece->empty()) co_return out;
    out += *piece;
    if (out.size() > client_->opts_.max_response_bytes)
      co_return Error{
          ErrorCode::kResourceExhausted,
          fmt::format("upstream response exceeds {} bytes", client_->opts_.max_response_bytes),
          {}};
  }
}

}  // namespace smmf::net
