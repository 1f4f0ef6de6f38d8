#pragma once
/// Newline-delimited JSON streams (Ollama's native API, TGI, and others stream one JSON value
/// per line): an incremental splitter next to the SSE parser. Pure, no I/O; one instance per
/// stream (not thread-safe). Lines may end in LF or CRLF; blank lines are skipped.
#include <string>
#include <string_view>
#include <vector>

namespace smmf::protocol {

class NdjsonParser {
 public:
  explicit NdjsonParser(size_t max_line_bytes = 8 << 20) : max_line_bytes_(max_line_bytes) {}

  /// Feeds bytes; complete lines (without their line end) are appended to `out`. Returns false
  /// once a line grows beyond the limit (the parser then stays failed).
  bool feed(std::string_view bytes, std::vector<std::string>& out);
  /// At the end of the body: a last line without a newline, if any.
  bool finish(std::vector<std::string>& out);
  bool failed() const { return failed_; }

 private:
  void emit(std::vector<std::string>& out);

  size_t max_line_bytes_;
  std::string line_;
  bool failed_ = false;
};

}  // namespace smmf::protocol
