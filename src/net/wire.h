#pragma once
/// HTTP/1.1 message heads written straight into a string, for writes of one header buffer plus
/// the body (or chunk) buffers. Beast's serializer walks nested buffer views on every write,
/// which cost more than the rest of a relayed request (see docs/BENCHMARKS.md, Gateway).
/// Pure functions, no I/O; the caller sets Content-Length / Transfer-Encoding / Connection
/// (prepare_payload, chunked, keep_alive) before calling them.
#include <boost/container/small_vector.hpp>

#include <array>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/http_types.h"

namespace smmf::net::wire {

/// Appends the status line, every field and the blank line that ends the head.
void append_head(std::string& out, const http::response_header<>& head);
/// Appends the request line, every field and the blank line that ends the head.
void append_head(std::string& out, const http::request_header<>& head);

/// The pieces of a head written by hand: "HTTP/1.x <code> <reason>\r\n", "<name>: <value>\r\n",
/// "Content-Length: <n>\r\n" (the blank line that ends the head is the caller's).
void append_status_line(std::string& out, unsigned version, http::status status);
void append_field(std::string& out, std::string_view name, std::string_view value);
void append_content_length(std::string& out, size_t n);

/// A request head built field by field without Beast's allocating field list: `set` replaces
/// a field of the same name (ASCII case-insensitive), as http::fields::set does, else appends.
/// The views must outlive `append_to`.
class RequestHead {
 public:
  /// The request target is the pieces of `target` one after the other (e.g. a base path and a
  /// route), so that the caller need not join them.
  RequestHead(http::verb method, std::initializer_list<std::string_view> target) : method_(method) {
    for (auto piece : target)
      if (n_target_ < target_.size()) target_[n_target_++] = piece;
  }
  void set(std::string_view name, std::string_view value);
  /// Request line, the fields in order, Content-Length when `content_length` is set, and the
  /// blank line (HTTP/1.1, so keep-alive needs no Connection field).
  void append_to(std::string& out, std::optional<size_t> content_length) const;

 private:
  http::verb method_;
  std::array<std::string_view, 3> target_;
  size_t n_target_ = 0;
  boost::container::small_vector<std::pair<std::string_view, std::string_view>, 10> fields_;
};

/// One chunk of a chunked body: its size line, the data, and the CRLF after it.
/// `size_line` is scratch space that must outlive the write of the returned buffers.
std::array<asio::const_buffer, 3> chunk(std::string_view data, std::array<char, 24>& size_line);
/// The last chunk, with no trailers.
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace smmf::net::wire
