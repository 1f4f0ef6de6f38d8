#include "protocol/sse.h"

#include <cstring>

namespace smmf::protocol {

void append_sse(std::string& out, std::string_view data, std::string_view event) {
  if (!event.empty()) {
    out += "event: ";
    out += event;
    out += '\n';
  }
  size_t start = 0;
  while (true) {
    size_t nl = data.find('\n', start);
    out += "data: ";
    out += data.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    out += '\n';
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  out += '\n';
}

std::string format_sse(std::string_view data, std::string_view event) {
  std::string out;
  out.reserve(data.size() + 16);
  append_sse(out, data, event);
  return out;
}

namespace {
// The first CR or LF at or after `from` (npos if none): two memchr scans, not
// string_view::find_first_of, which calls memchr once per byte.
size_t line_end(std::string_view s, size_t from) {
  const char* b = s.data() + from;
  size_t n = s.size() - from;
  const void* lf = std::memchr(b, '\n', n);
  size_t limit = lf ? static_cast<size_t>(static_cast<const char*>(lf) - b) : n;
  const void* cr = std::memchr(b, '\r', limit);
  if (cr) return from + static_cast<size_t>(static_cast<const char*>(cr) - b);
  return lf ? from + limit : std::string_view::npos;
}
}  // namespace

bool SseParser::feed(std::string_view bytes, std::vector<SseEvent>& out) {
  if (failed_) return false;
  // Whole lines at a time: a line that arrives complete is handled in place, not copied.
  size_t i = 0;
  while (i < bytes.size()) {
    if (pending_cr_) {
      pending_cr_ = false;
      if (bytes[i] == '\n') {  // CRLF already ended the line at CR
        ++i;
        continue;
      }
    }
    size_t eol = line_end(bytes, i);
    std::string_view seg =
        bytes.substr(i, eol == std::string_view::npos ? std::string_view::npos : eol - i);
    if (line_.size() + seg.size() + current_.data.size() > max_event_bytes_) {
      failed_ = true;
      return false;
    }
    if (eol == std::string_view::npos) {
      line_ += seg;
      break;
    }
    if (line_.empty()) {
      on_line(seg, out);
    } else {
      line_ += seg;
      on_line(line_, out);
      line_.clear();
    }
    pending_cr_ = bytes[eol] == '\r';
    i = eol + 1;
  }
  return true;
}

void SseParser::on_line(std::string_view line, std::vector<SseEvent>& out) {
  if (line.empty()) {
    if (has_data_) out.push_back(std::move(current_));
    current_ = SseEvent{};
    has_data_ = false;
    return;
  }
  if (line.front() == ':') return;
  size_t colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (has_data_) current_.data += '\n';
    current_.data += value;
    has_data_ = true;
  } else if (field == "event") {
    current_.event = value;
  } else if (field == "id") {
    current_.id = value;
  }
}

}  // namespace smmf::protocol
