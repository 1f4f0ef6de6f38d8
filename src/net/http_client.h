#pragma once
/// HTTP/1.1 client for upstreams (workers, remote engines, cloud APIs): keep-alive connection
/// pools per (scheme, host, port), HTTPS with peer and host-name verification (system CA store
/// or a CA file) and SNI, connect / first-byte / idle timeouts, streaming response bodies, and
/// forward proxies (CONNECT tunnels for https, absolute-form requests for http; see proxy.h).
///
/// Threading: thread-safe; one client is shared by every I/O thread. A ResponseStream belongs
/// to one coroutine at a time. Lifetime: the client must outlive its streams.
/// Errors: connect failure, reset and timeouts are Error{kUnavailable} or {kDeadlineExceeded}
/// with `before_response` telling whether the peer answered anything (safe to retry elsewhere).
/// Cancellation: a request may carry a CancelToken; once it is cancelled (from any thread) the
/// pending step (resolve, connect, write, header or body read) ends at once with kCancelled and
/// the connection is closed, so the upstream sees the call abandoned. The cancel is carried out
/// on the executor of the coroutine that awaits the call (a connection's strand), never
/// concurrently with it.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/cancel_token.h"
#include "common/error.h"
#include "net/http_types.h"
#include "net/proxy.h"

namespace smmf::net {

struct Url {
  bool tls = false;
  std::string host;
  uint16_t port = 80;
  std::string path;            ///< base path without a trailing '/', e.g. "/v1" or ""
  std::string origin() const;  ///< "http://host:port"
};
/// Parses "http[s]://host[:port][/path]".
Result<Url> parse_url(std::string_view text);
/// Percent-encodes everything but RFC 3986 unreserved characters (for one path segment or
/// query value, e.g. an instance id "w1/qwen" -> "w1%2Fqwen").
std::string encode_component(std::string_view s);

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds first_byte_timeout{600'000};  ///< request sent -> response header
  std::chrono::milliseconds idle_timeout{300'000};        ///< between two body reads
  /// The whole call, connect to last body byte (0 = unbounded): ends an upstream that drips
  /// bytes forever, each just inside idle_timeout.
  std::chrono::milliseconds total_timeout{0};
  size_t max_idle_per_host = 64;
  std::chrono::seconds idle_expiry{50};  ///< pooled connections older than this are closed
  size_t max_response_bytes = 64 << 20;  ///< whole-body reads beyond it fail
  size_t max_sse_event_bytes = 8 << 20;  ///< one streamed event beyond it fails the stream
  size_t max_header_bytes = 64 << 10;    ///< a larger response header fails the call
  /// A pooled connection keeps its timer armed (it fires once per timeout period at most and
  /// finds no deadline) instead of cancelling it, and re-arming it for the next call. For
  /// servers, whose io_context runs until stopped: a pending timer keeps io_context::run() from
  /// returning, so clients that wait for run() to return (CLI commands, tests) leave it off.
  bool keep_idle_timers = false;
  /// Sent with every request (e.g. the cluster token); a request's own headers override them.
  std::vector<std::pair<std::string, std::string>> default_headers;
  std::string ca_file;  ///< extra CA bundle; empty = system store only
  bool verify_tls = true;
  ProxySettings proxy;  ///< none by default; engines for remote providers fill it from the env
};

struct ClientRequest {
  http::verb method = http::verb::get;
  std::string target;  ///< path + query, appended to the Url's base path
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  /// Cancels the call and closes its connection (null = not cancellable).
  std::shared_ptr<CancelToken> cancel;

  static ClientRequest get(std::string target) {
    ClientRequest r;
    r.target = std::move(target);
    return r;
  }
  static ClientRequest post(std::string target, std::string body) {
    ClientRequest r;
    r.method = http::verb::post;
    r.target = std::move(target);
    r.body = std::move(body);
    return r;
  }
};

struct ClientResponse {
  unsigned status = 0;
  http::fields headers;
  std::string body;
};

/// The failure of a call, with whether any byte of a response arrived.
struct ClientError {
  Error error;
  bool before_response = true;
};

class HttpClient;

/// A response whose body is read piece by piece as it arrives.
class ResponseStream {
 public:
  ~ResponseStream();
  unsigned status() const { return status_; }
  const http::fields& headers() const;
  /// Next piece of the body; an empty string means the body is complete.
  asio::awaitable<Result<std::string>> read();
  /// True when received bytes wait to be parsed (for a chunked body: a whole chunk), i.e. the
  /// next read() returns without waiting for the network.
  bool buffered() const;
  /// Reads the rest (bounded by max_response_bytes).
  asio::awaitable<Result<std::string>> read_all();
  /// The rest of the body when all of it is here already (a length-delimited body, the usual
  /// answer of a non-streamed call): no wait and no coroutine frame. Nullopt, consuming
  /// nothing, when read_all() must wait for the network.
  std::optional<Result<std::string>> read_all_now();
  /// Hands over a stream whose caller needs no more of it (e.g. after an SSE `[DONE]`): the
  /// rest of the body is read and dropped in the background, each read within `read_timeout`
  /// and at most `max_bytes` in all, so that a body that ends promptly returns its connection
  /// to the pool instead of costing a new connection (and DNS lookup) for the next call.
  /// The request's CancelToken no longer applies to it.
  static void finish_in_background(std::unique_ptr<ResponseStream> stream,
                                   std::chrono::milliseconds read_timeout = std::chrono::seconds(5),
                                   size_t max_bytes = 1 << 20);

 private:
  friend class HttpClient;
  struct Conn;
  /// Closes the call's connection when its CancelToken is cancelled: the cancel posts `stop`
  /// to the executor given, where it runs unless the scope is gone by then. Movable (the action
  /// stays put).
  class CancelScope {
   public:
    CancelScope(CancelToken& token, asio::any_io_executor ex, std::function<void()> stop);
    /// What a cancel does from now on; called on the executor the cancel posts to, so a cancel
    /// already posted runs the new action.
    void retarget(std::function<void()> stop);

   private:
    struct State;
    std::shared_ptr<State> state_;
    CancelToken::Subscription sub_;  // deregistered first
  };
  ResponseStream(std::shared_ptr<HttpClient> client, std::unique_ptr<Conn> conn);
  /// Takes over open()'s cancel subscription (one subscription for the whole call).
  void watch_cancel(std::shared_ptr<CancelToken> token, CancelScope scope);
  std::shared_ptr<HttpClient> client_;
  std::unique_ptr<Conn> conn_;
  std::shared_ptr<CancelToken> cancel_;
  std::optional<CancelScope> cancel_scope_;
  std::chrono::milliseconds read_timeout_;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  unsigned status_ = 0;
  http::fields headers_;  // copied from the parser when the connection is dropped
  void drop_connection();
  /// Parses the bytes already received, appending the body they hold to `out`: kBody when some
  /// came (or the body ended), kNeedRead when the network must be read first. An error for a
  /// malformed response (the connection is then dropped).
  enum class Parsed { kBody, kNeedRead };
  Result<Parsed> parse_buffered(std::string& out);
  bool done_ = false;
};

class HttpClient : public std::enable_shared_from_this<HttpClient> {
 public:
  HttpClient(asio::any_io_executor ex, ClientOptions opts = {});
  ~HttpClient();

  /// Sends a request and reads the whole response.
  asio::awaitable<boost::system::result<ClientResponse, ClientError>> send(const Url& url,
                                                                           ClientRequest req);
  /// Sends a request and returns once the response header arrived.
  asio::awaitable<boost::system::result<std::unique_ptr<ResponseStream>, ClientError>> open(
      const Url& url, ClientRequest req);

  const ClientOptions& options() const { return opts_; }
  const asio::any_io_executor& executor() const { return ex_; }
  size_t idle_connections() const;

 private:
  friend class ResponseStream;
  using Conn = ResponseStream::Conn;
  asio::awaitable<boost::system::result<std::unique_ptr<Conn>, ClientError>> connect(
      const Url& url, const ProxyServer* proxy, std::string key,
      std::chrono::steady_clock::time_point deadline, CancelToken* cancel);
  std::unique_ptr<Conn> take_idle(std::string_view key);
  void give_back(std::unique_ptr<Conn> conn);

  asio::any_io_executor ex_;
  ClientOptions opts_;
  std::unique_ptr<asio::ssl::context> tls_;
  mutable std::mutex mu_;
  std::map<std::string, std::vector<std::unique_ptr<Conn>>, std::less<>> idle_;
};

}  // namespace smmf::net
