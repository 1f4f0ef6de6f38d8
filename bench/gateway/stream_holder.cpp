// Opens N streaming chat requests to a gateway and holds them open, reading whatever arrives,
// for the open-streams test of bench/gateway. Opens at most `--parallel` at a time. Prints
// "open N" once every stream has its response header, then "alive N bytes B" every second
// (streams still open, SSE bytes received) until --hold-seconds pass; exits 0 if every stream
// opened with status 200, else 1. One thread.
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <charconv>
#include <cstdio>
#include <string>
#include <string_view>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

struct State {
  int opened = 0;    // got a 200 response header
  int failed = 0;    // connect, write or header error, or a non-200 status
  int alive = 0;     // opened and not yet ended
  size_t bytes = 0;  // body bytes received
};
State g;

asio::awaitable<void> stream_one(tcp::endpoint ep, std::string target, std::string model) {
  auto tok = asio::as_tuple(asio::use_awaitable);
  tcp::socket sock(co_await asio::this_coro::executor);
  auto [cec] = co_await sock.async_connect(ep, tok);
  if (cec) {
    ++g.failed;
    co_return;
  }
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::content_type, "application/json");
  req.body() = R"({"model":")" + model +
               R"(","stream":true,"messages":[{"role":"user","content":"hold this stream"}]})";
  req.prepare_payload();
  auto [wec, wn] = co_await http::async_write(sock, req, tok);
  if (wec) {
    ++g.failed;
    co_return;
  }
  beast::flat_buffer buf;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  auto [hec, hn] = co_await http::async_read_header(sock, buf, parser, tok);
  if (hec || parser.get().result_int() != 200) {
    ++g.failed;
    co_return;
  }
  ++g.opened;
  ++g.alive;
  char data[4096];
  while (!parser.is_done()) {
    parser.get().body().data = data;
    parser.get().body().size = sizeof(data);
    auto [rec, rn] = co_await http::async_read_some(sock, buf, parser, tok);
    if (rec && rec != http::error::need_buffer) break;
    g.bytes += sizeof(data) - parser.get().body().size;
  }
  --g.alive;
}

int to_int(const char* s) {
  int v = 0;
  std::from_chars(s, s + std::char_traits<char>::length(s), v);
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0, n = 10000, parallel = 256, hold = 30;
  std::string target = "/v1/chat/completions", model = "mock";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view k = argv[i];
    if (k == "--port")
      port = to_int(argv[i + 1]);
    else if (k == "--streams")
      n = to_int(argv[i + 1]);
    else if (k == "--parallel")
      parallel = to_int(argv[i + 1]);
    else if (k == "--hold-seconds")
      hold = to_int(argv[i + 1]);
    else if (k == "--model")
      model = argv[i + 1];
    else {
      std::fprintf(stderr,
                   "usage: stream_holder --port P [--streams N] [--parallel K] "
                   "[--hold-seconds S] [--model M]\n");
      return 2;
    }
  }
  asio::io_context ioc(1);
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port));
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer t(ioc);
        for (int i = 0; i < n; ++i) {
          while (i - g.opened - g.failed >= parallel) {
            t.expires_after(std::chrono::milliseconds(1));
            co_await t.async_wait(asio::use_awaitable);
          }
          asio::co_spawn(ioc, stream_one(ep, target, model), asio::detached);
        }
        while (g.opened + g.failed < n) {
          t.expires_after(std::chrono::milliseconds(5));
          co_await t.async_wait(asio::use_awaitable);
        }
        std::printf("open %d failed %d\n", g.opened, g.failed);
        std::fflush(stdout);
        for (int s = 0; s < hold; ++s) {
          t.expires_after(std::chrono::seconds(1));
          co_await t.async_wait(asio::use_awaitable);
          std::printf("alive %d bytes %zu\n", g.alive, g.bytes);
          std::fflush(stdout);
        }
        ioc.stop();
      },
      asio::detached);
  ioc.run();
  return g.failed == 0 ? 0 : 1;
}
