#include "net/wire.h"

#include <gtest/gtest.h>
#include <boost/beast/core/buffers_to_string.hpp>

namespace smmf::net {
namespace {

// The hand-written heads must be byte for byte what Beast's serializer writes.
template <class Message>
std::string beast_head(Message& m) {
  http::serializer<Message::is_request::value, typename Message::body_type> sr{m};
  sr.split(true);
  std::string out;
  boost::system::error_code ec;
  while (!sr.is_header_done()) {
    sr.next(ec, [&](boost::system::error_code&, const auto& bufs) {
      out += beast::buffers_to_string(bufs);
      sr.consume(beast::buffer_bytes(bufs));
    });
  }
  return out;
}

TEST(Wire, ResponseHeadMatchesBeast) {
  Response res{http::status::ok, 11};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::server, "smmf/test");
  res.set("x-request-id", "chatcmpl-1");
  res.keep_alive(false);
  res.body() = R"({"a":1})";
  res.prepare_payload();
  std::string head;
  wire::append_head(head, res.base());
  EXPECT_EQ(head, beast_head(res));
  EXPECT_TRUE(head.starts_with("HTTP/1.1 200 OK\r\n"));
  EXPECT_TRUE(head.ends_with("\r\n\r\n"));
}

TEST(Wire, ChunkedHttp10AndCustomReason) {
  Response res{http::status::too_many_requests, 10};
  res.reason("Slow Down");
  res.chunked(true);
  res.keep_alive(true);
  std::string head;
  wire::append_head(head, res.base());
  EXPECT_EQ(head, beast_head(res));
  EXPECT_TRUE(head.starts_with("HTTP/1.0 429 Slow Down\r\n"));
}

TEST(Wire, RequestHeadMatchesBeast) {
  http::request<http::string_body> req{http::verb::post, "/v1/chat/completions?x=1", 11};
  req.set(http::field::host, "127.0.0.1:8000");
  req.set(http::field::authorization, "Bearer k");
  req.body() = "{}";
  req.keep_alive(true);
  req.prepare_payload();
  std::string head;
  wire::append_head(head, req.base());
  EXPECT_EQ(head, beast_head(req));
}

TEST(Wire, ChunkFraming) {
  std::array<char, 24> scratch;
  std::string data(300, 'x');
  auto bufs = wire::chunk(data, scratch);
  EXPECT_EQ(beast::buffers_to_string(bufs), "12c\r\n" + data + "\r\n");
  EXPECT_EQ(beast::buffers_to_string(wire::chunk("", scratch)), "0\r\n\r\n");
}

}  // namespace
}  // namespace smmf::net
