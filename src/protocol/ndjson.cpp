#include "protocol/ndjson.h"

namespace smmf::protocol {

void NdjsonParser::emit(std::vector<std::string>& out) {
  if (!line_.empty() && line_.back() == '\r') line_.pop_back();
  size_t first = line_.find_first_not_of(" \t");
  if (first != std::string::npos) out.push_back(std::move(line_));
  line_.clear();
}

bool NdjsonParser::feed(std::string_view bytes, std::vector<std::string>& out) {
  if (failed_) return false;
  while (!bytes.empty()) {
    size_t nl = bytes.find('\n');
    std::string_view part = bytes.substr(0, nl);
    if (line_.size() + part.size() > max_line_bytes_) {
      failed_ = true;
      return false;
    }
    line_ += part;
    if (nl == std::string_view::npos) break;
    emit(out);
    bytes.remove_prefix(nl + 1);
  }
  return true;
}

bool NdjsonParser::finish(std::vector<std::string>& out) {
  if (failed_) return false;
  emit(out);
  return true;
}

}  // namespace smmf::protocol
