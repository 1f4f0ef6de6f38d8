#include "net/wire.h"

#include <fmt/format.h>
#include <boost/beast/core/string.hpp>

#include <charconv>

namespace smmf::net::wire {
namespace {

void append_fields(std::string& out, const http::fields& fields) {
  for (const auto& f : fields) {
    out.append(f.name_string().data(), f.name_string().size());
    out.append(": ");
    out.append(f.value().data(), f.value().size());
    out.append("\r\n");
  }
  out.append("\r\n");
}

std::string_view version(unsigned v) {
  return v == 10 ? "HTTP/1.0" : "HTTP/1.1";
}

}  // namespace

void append_head(std::string& out, const http::response_header<>& head) {
  out.append(version(head.version()));
  out.append(" ");
  fmt::format_to(std::back_inserter(out), "{}", head.result_int());
  out.append(" ");
  auto reason = head.reason();
  if (reason.empty()) reason = http::obsolete_reason(head.result());
  out.append(reason.data(), reason.size());
  out.append("\r\n");
  append_fields(out, head);
}

void append_head(std::string& out, const http::request_header<>& head) {
  auto method = head.method_string();
  out.append(method.data(), method.size());
  out.append(" ");
  out.append(head.target().data(), head.target().size());
  out.append(" ");
  out.append(version(head.version()));
  out.append("\r\n");
  append_fields(out, head);
}

void append_status_line(std::string& out, unsigned version_number, http::status status) {
  out.append(version(version_number));
  out += ' ';
  char buf[8];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<unsigned>(status));
  out.append(buf, static_cast<size_t>(end - buf));
  out += ' ';
  auto reason = http::obsolete_reason(status);
  out.append(reason.data(), reason.size());
  out.append("\r\n");
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

void append_content_length(std::string& out, size_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  out.append("Content-Length: ");
  out.append(buf, static_cast<size_t>(end - buf));
  out.append("\r\n");
}

void RequestHead::set(std::string_view name, std::string_view value) {
  for (auto& f : fields_) {
    if (beast::iequals(f.first, name)) {
      f.second = value;
      return;
    }
  }
  fields_.emplace_back(name, value);
}

void RequestHead::append_to(std::string& out, std::optional<size_t> content_length) const {
  auto method = http::to_string(method_);
  out.append(method.data(), method.size());
  out += ' ';
  for (size_t i = 0; i < n_target_; ++i) out.append(target_[i]);
  out.append(" HTTP/1.1\r\n");
  for (const auto& [k, v] : fields_) {
    out.append(k);
    out.append(": ");
    out.append(v);
    out.append("\r\n");
  }
  if (content_length) append_content_length(out, *content_length);
  out.append("\r\n");
}

std::array<asio::const_buffer, 3> chunk(std::string_view data, std::array<char, 24>& size_line) {
  auto end = fmt::format_to(size_line.data(), "{:x}\r\n", data.size());
  return {asio::buffer(size_line.data(), static_cast<size_t>(end - size_line.data())),
          asio::buffer(data.data(), data.size()), asio::buffer("\r\n", 2)};
}

}  // namespace smmf::net::wire
