#pragma once
/// The reads and writes of the HTTP server and client, without Beast's composed operations.
/// - read_message: an HTTP message head (or a whole request) into a flat_buffer with Beast's
///   parser: what is already buffered is parsed first, synchronously, and each network read is
///   one plain read_some on the stream (no composed operation, no beast::tcp_stream timer per
///   step; the caller's LazyDeadline bounds it). The parser's header and body limits apply as
///   with http::async_read.
/// - write_now, then write_rest for what is left: on plain TCP, the bytes are sent at once by a
///   non-blocking send, so that a write the socket takes whole (the usual case) completes
///   without a trip through the executor (and its epoll poll), and, called directly, without a
///   coroutine frame; what the socket's send buffer cannot take goes through the reactor as
///   asio::async_write does. TLS writes are asio::async_write.
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

/// read_message's synchronous step: parses what `buf` holds. True when the parser has the
/// header (`header_only`) or the whole message, or on an error (`ec`); false when the network
/// must be read first. A caller whose bytes came with an earlier read (a request read with the
/// wait for it, a response head with its body) is then done without read_message's frame.
template <bool IsRequest, class Body>
bool parse_buffered(beast::flat_buffer& buf, http::parser<IsRequest, Body>& p, bool header_only,
                    boost::system::error_code& ec) {
  ec = {};
  while (buf.size() > 0) {
    size_t used = p.put(buf.data(), ec);
    buf.consume(used);
    if (ec == http::error::need_more) {
      ec = {};
      return false;
    }
    if (ec || (header_only ? p.is_header_done() : p.is_done())) return true;
    if (used == 0) return false;
  }
  return false;
}

/// The outcome of a read that met the end of the stream: http::error::end_of_stream if nothing
/// was read, else what put_eof says (partial_message when the message is incomplete).
template <bool IsRequest, class Body>
boost::system::error_code at_eof(http::parser<IsRequest, Body>& p, bool header_only) {
  if (!p.got_some()) return http::error::end_of_stream;
  boost::system::error_code ec;
  p.put_eof(ec);
  if (!ec && !(header_only ? p.is_header_done() : p.is_done())) ec = http::error::partial_message;
  return ec;
}

/// Until the parser has the header (`header_only`) or the whole message. At end of stream:
/// http::error::end_of_stream if nothing was read, else what put_eof says (partial_message
/// when the message is incomplete). `stream` is what io_stream() returns.
template <class Stream, bool IsRequest, class Body>
asio::awaitable<boost::system::error_code> read_message(Stream& stream, beast::flat_buffer& buf,
                                                        http::parser<IsRequest, Body>& p,
                                                        bool header_only) {
  while (true) {
    boost::system::error_code pec;
    if (parse_buffered(buf, p, header_only, pec)) co_return pec;
    auto [ec, n] = co_await stream.async_read_some(buf.prepare(beast::read_size(buf, 65536)),
                                                   asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::eof) co_return at_eof(p, header_only);
    if (ec) co_return ec;
    buf.commit(n);
  }
}

/// A write's first step, synchronous (no coroutine frame): a non-blocking send of what the
/// socket takes now. Returns the bytes sent; `ec` is set on a failure (a full send buffer is
/// not one). A caller that sees fewer bytes sent than it has and no error awaits write_rest.
template <class Buffers>
size_t write_now(asio::ip::tcp::socket& sock, const Buffers& bufs, boost::system::error_code& ec) {
  ec = {};
  if (!sock.non_blocking()) sock.non_blocking(true, ec);
  if (ec) return 0;
  const size_t n = sock.write_some(bufs, ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) ec = {};
  return n;
}
/// TLS: nothing is sent synchronously (the record layer writes through its own operation).
template <class Buffers>
size_t write_now(TlsStream&, const Buffers&, boost::system::error_code& ec) {
  ec = {};
  return 0;
}

/// The bytes of `bufs` after the first `sent`, through the reactor as asio::async_write does.
/// Returns what asio::async_write would for the whole sequence. The buffer sequence is taken by
/// value (the coroutine starts when awaited, after a temporary sequence would be gone); the
/// bytes it points to must outlive the write.
template <class Stream, class Buffers>
asio::awaitable<std::tuple<boost::system::error_code, size_t>> write_rest(Stream& stream,
                                                                          Buffers bufs,
                                                                          size_t sent) {
  beast::buffers_suffix<Buffers> rest(bufs);
  rest.consume(sent);
  auto [ec, n] = co_await asio::async_write(stream, rest, asio::as_tuple(asio::use_awaitable));
  co_return std::tuple{ec, sent + n};
}

}  // namespace smmf::net
