// A deliberately cheap OpenAI-compatible upstream for the gateway benchmark (bench/gateway).
// POST .../chat/completions answers a fixed chat.completion, or, when the body asks for
// "stream":true, a chunked text/event-stream of `--chunks` events (each its own write, as a
// model emits tokens) and `data: [DONE]`. `--interval-ms` spaces the events (slow streams).
// One thread, one io_context: pin it with taskset. Prints "listening on PORT" when ready.
// Not part of the product or its tests; no limits beyond what a benchmark needs.
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

struct Options {
  unsigned short port = 0;
  int chunks = 50;
  int interval_ms = 0;
};
Options g_opts;

constexpr std::string_view kJson =
    R"({"id":"chatcmpl-mock","object":"chat.completion","created":1700000000,"model":"mock",)"
    R"("choices":[{"index":0,"message":{"role":"assistant","content":"Hello! I am a mock )"
    R"(upstream that answers instantly, for benchmarking gateways."},"finish_reason":"stop"}],)"
    R"("usage":{"prompt_tokens":12,"completion_tokens":14,"total_tokens":26}})";

std::string chunk_event(int i, int n) {
  std::string s =
      R"(data: {"id":"chatcmpl-mock","object":"chat.completion.chunk","created":1700000000,)"
      R"("model":"mock","choices":[{"index":0,"delta":{)";
  if (i == 0) s += R"("role":"assistant",)";
  s += R"("content":"tok)" + std::to_string(i) + R"( "},"finish_reason":)";
  s += i + 1 == n ? R"("stop"}]})" : R"(null}]})";
  s += "\n\n";
  return s;
}

bool wants_stream(std::string_view body) {
  auto p = body.find("\"stream\"");
  if (p == std::string_view::npos) return false;
  p = body.find_first_not_of(" \t\r\n:", p + 8);
  return p != std::string_view::npos && body.substr(p, 4) == "true";
}

asio::awaitable<void> session(tcp::socket sock) {
  sock.set_option(tcp::no_delay(true));
  beast::flat_buffer buf;
  static const std::vector<std::string> events = [] {
    std::vector<std::string> v;
    for (int i = 0; i < g_opts.chunks; ++i) v.push_back(chunk_event(i, g_opts.chunks));
    v.push_back("data: [DONE]\n\n");
    return v;
  }();
  auto tok = asio::as_tuple(asio::use_awaitable);
  while (true) {
    http::request<http::string_body> req;
    auto [ec, n] = co_await http::async_read(sock, buf, req, tok);
    if (ec) co_return;
    bool keep = req.keep_alive();
    if (!wants_stream(req.body())) {
      http::response<http::string_body> res{http::status::ok, 11};
      res.set(http::field::content_type, "application/json");
      res.keep_alive(keep);
      res.body() = kJson;
      res.prepare_payload();
      auto [wec, wn] = co_await http::async_write(sock, res, tok);
      if (wec || !keep) co_return;
      continue;
    }
    http::response<http::empty_body> res{http::status::ok, 11};
    res.set(http::field::content_type, "text/event-stream");
    res.set(http::field::cache_control, "no-cache");
    res.keep_alive(keep);
    res.chunked(true);
    http::response_serializer<http::empty_body> sr{res};
    auto [hec, hn] = co_await http::async_write_header(sock, sr, tok);
    if (hec) co_return;
    asio::steady_timer timer(sock.get_executor());
    for (const auto& ev : events) {
      if (g_opts.interval_ms > 0 && &ev != &events.front()) {
        timer.expires_after(std::chrono::milliseconds(g_opts.interval_ms));
        co_await timer.async_wait(tok);
      }
      auto [cec, cn] = co_await asio::async_write(sock, http::make_chunk(asio::buffer(ev)), tok);
      if (cec) co_return;
    }
    auto [lec, ln] = co_await asio::async_write(sock, http::make_chunk_last(), tok);
    if (lec || !keep) co_return;
  }
}

asio::awaitable<void> listen(tcp::acceptor& acc) {
  while (true) {
    // A named local, not a structured binding: GCC 12 double-destroys those of a co_await.
    auto accepted = co_await acc.async_accept(asio::as_tuple(asio::use_awaitable));
    if (std::get<0>(accepted)) continue;  // EMFILE under the open-streams test: keep going
    asio::co_spawn(acc.get_executor(), session(std::move(std::get<1>(accepted))), asio::detached);
  }
}

int to_int(const char* s) {
  int v = 0;
  std::from_chars(s, s + std::char_traits<char>::length(s), v);
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view k = argv[i];
    if (k == "--port")
      g_opts.port = static_cast<unsigned short>(to_int(argv[i + 1]));
    else if (k == "--chunks")
      g_opts.chunks = to_int(argv[i + 1]);
    else if (k == "--interval-ms")
      g_opts.interval_ms = to_int(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: mock_upstream [--port P] [--chunks N] [--interval-ms MS]\n");
      return 2;
    }
  }
  asio::io_context ioc(1);
  tcp::acceptor acc(ioc);
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), g_opts.port);
  acc.open(ep.protocol());
  acc.set_option(asio::socket_base::reuse_address(true));
  acc.bind(ep);
  acc.listen(asio::socket_base::max_listen_connections);
  std::printf("listening on %u\n", acc.local_endpoint().port());
  std::fflush(stdout);
  asio::co_spawn(ioc, listen(acc), asio::detached);
  ioc.run();
}
