#pragma once
/// Server-sent events: framing for what we send, an incremental parser for what we read from
/// upstreams. Pure, no I/O; a parser instance belongs to one stream (not thread-safe).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smmf::protocol {

/// Appends one event ("event:" line when `event` is set, one "data:" line per line of `data`,
/// then a blank line) to `out`.
void append_sse(std::string& out, std::string_view data, std::string_view event = {});
std::string format_sse(std::string_view data, std::string_view event = {});
inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";

struct SseEvent {
  std::string event;  ///< empty for the default "message"
  std::string data;   ///< data lines joined with '\n'
  std::string id;
};

/// Incremental parser (WHATWG rules: CRLF/LF/CR line ends, ':' comments, field "value" with one
/// optional leading space, multi-line data). Bounded: an event larger than `max_event_bytes`
/// puts the parser in the error state.
class SseParser {
 public:
  explicit SseParser(size_t max_event_bytes = 8 << 20) : max_event_bytes_(max_event_bytes) {}

  /// Feeds bytes; complete events are appended to `out`. Returns false once the limit is broken.
  bool feed(std::string_view bytes, std::vector<SseEvent>& out);
  bool failed() const { return failed_; }

 private:
  void on_line(std::string_view line, std::vector<SseEvent>& out);

  size_t max_event_bytes_;
  std::string line_;
  bool pending_cr_ = false;
  bool has_data_ = false;
  bool failed_ = false;
  SseEvent current_;
};

}  // namespace smmf::protocol
