#pragma once
/// The reads and writes of the HTTP server and client, without Beast's composed operations.
/// - read_message: an HTTP message head (or a whole request) into a flat_buffer with Beast's
///   parser: what is already buffered is parsed first, synchronously, and each network read is
///   one plain read_some on the stream (no composed operation, no beast::tcp_stream timer per
///   step; the caller's LazyDeadline bounds it). The parser's header and body limits apply as
///   with http::async_read.
/// - write_all: on plain TCP, the bytes are sent at once by a non-blocking send, so that a
///   write the socket takes whole (the usual case) completes without a trip through the
///   executor (and its epoll poll); what the socket's send buffer cannot take goes through the
///   reactor as asio::async_write does. TLS writes are asio::async_write.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>

#include <tuple>

#include "net/http_types.h"

namespace smmf::net {

/// Until the parser has the header (`header_only`) or the whole message. At end of stream:
/// http::error::end_of_stream if nothing was read, else what put_eof says (partial_message
/// when the message is incomplete). `stream` is what io_stream() returns.
template <class Stream, bool IsRequest, class Body>
asio::awaitable<boost::system::error_code> read_message(Stream& stream, beast::flat_buffer& buf,
                                                        http::parser<IsRequest, Body>& p,
                                                        bool header_only) {
  auto done = [&] { return header_only ? p.is_header_done() : p.is_done(); };
  while (true) {
    if (buf.size() > 0) {
      boost::system::error_code ec;
      size_t used = p.put(buf.data(), ec);
      buf.consume(used);
      if (ec && ec != http::error::need_more) co_return ec;
      if (!ec && done()) co_return ec;
      if (!ec && used > 0 && buf.size() > 0) continue;
    }
    auto [ec, n] = co_await stream.async_read_some(buf.prepare(beast::read_size(buf, 65536)),
                                                   asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::eof) {
      if (!p.got_some()) co_return http::error::end_of_stream;
      boost::system::error_code eof_ec;
      p.put_eof(eof_ec);
      if (!eof_ec && !done()) eof_ec = http::error::partial_message;
      co_return eof_ec;
    }
    if (ec) co_return ec;
    buf.commit(n);
  }
}

/// Writes every byte of `bufs` (see above). Returns what asio::async_write would. The buffer
/// sequence is taken by value (the coroutine starts when awaited, after a temporary sequence
/// would be gone); the bytes it points to must outlive the write.
template <class Buffers>
asio::awaitable<std::tuple<boost::system::error_code, size_t>> write_all(
    asio::ip::tcp::socket& sock, Buffers bufs) {
  boost::system::error_code ec;
  if (!sock.non_blocking()) sock.non_blocking(true, ec);
  const size_t total = asio::buffer_size(bufs);
  size_t n = ec ? 0 : sock.write_some(bufs, ec);
  if (!ec && n == total) co_return std::tuple{ec, n};
  if (ec && ec != asio::error::would_block && ec != asio::error::try_again)
    co_return std::tuple{ec, n};
  beast::buffers_suffix<Buffers> rest(bufs);
  rest.consume(n);
  auto [wec, wn] = co_await asio::async_write(sock, rest, asio::as_tuple(asio::use_awaitable));
  co_return std::tuple{wec, n + wn};
}

template <class Buffers>
asio::awaitable<std::tuple<boost::system::error_code, size_t>> write_all(TlsStream& stream,
                                                                         Buffers bufs) {
  return asio::async_write(stream, bufs, asio::as_tuple(asio::use_awaitable));
}

}  // namespace smmf::net
