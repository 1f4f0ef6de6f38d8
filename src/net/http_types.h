#pragma once
/// Beast type aliases shared by the server, the router and handlers.
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

namespace boost::beast {
template <class NextLayer>
class ssl_stream;
}  // namespace boost::beast

namespace smmf::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

/// What reads and writes go through: the socket itself for plain TCP (no beast::tcp_stream
/// layer and its per-operation timer; deadlines are the connection's LazyDeadline), the TLS
/// stream otherwise.
inline asio::ip::tcp::socket& io_stream(beast::tcp_stream& s) {
  return s.socket();
}
inline TlsStream& io_stream(TlsStream& s) {
  return s;
}

}  // namespace smmf::net
