#include "engines/llama_cpp/text_stream.h"

#include <algorithm>
#include <cstdint>

namespace smmf::engines::llama_cpp {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

struct LeadInfo {
  int length = 0;                ///< 0: not a valid lead byte
  uint8_t lo = 0x80, hi = 0xBF;  ///< allowed range of the second byte
};

// Per RFC 3629 (no overlongs, no surrogates, nothing above U+10FFFF).
LeadInfo lead_info(uint8_t c) {
  if (c < 0x80) return {1};
  if (c >= 0xC2 && c <= 0xDF) return {2};
  if (c == 0xE0) return {3, 0xA0, 0xBF};
  if (c == 0xED) return {3, 0x80, 0x9F};
  if (c >= 0xE1 && c <= 0xEF) return {3};
  if (c == 0xF0) return {4, 0x90, 0xBF};
  if (c >= 0xF1 && c <= 0xF3) return {4};
  if (c == 0xF4) return {4, 0x80, 0x8F};
  return {};
}

enum class Scan { kComplete, kIncomplete, kInvalid };

// Checks the sequence starting at data[i]; `len` gets its length, or the length of the maximal
// invalid subpart (at least 1) for kInvalid.
Scan scan_char(std::string_view data, size_t i, size_t& len) {
  const LeadInfo lead = lead_info(static_cast<uint8_t>(data[i]));
  if (lead.length == 0) {
    len = 1;
    return Scan::kInvalid;
  }
  for (int j = 1; j < lead.length; ++j) {
    if (i + j >= data.size()) return Scan::kIncomplete;
    const auto b = static_cast<uint8_t>(data[i + j]);
    const uint8_t lo = j == 1 ? lead.lo : 0x80;
    const uint8_t hi = j == 1 ? lead.hi : 0xBF;
    if (b < lo || b > hi) {
      len = static_cast<size_t>(j);
      return Scan::kInvalid;
    }
  }
  len = static_cast<size_t>(lead.length);
  return Scan::kComplete;
}

}  // namespace

size_t utf8_complete_prefix(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    size_t len = 0;
    if (scan_char(s, i, len) == Scan::kIncomplete) return i;
    i += len;
  }
  return i;
}

void Utf8Assembler::push(std::string_view bytes, std::string& out) {
  std::string_view data = bytes;
  if (!tail_.empty()) {
    tail_.append(bytes);
    data = tail_;
  }
  size_t i = 0;
  size_t run = 0;  // start of the run of valid bytes not yet appended
  size_t keep = data.size();
  while (i < data.size()) {
    if (static_cast<uint8_t>(data[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    const Scan scan = scan_char(data, i, len);
    if (scan == Scan::kComplete) {
      i += len;
    } else if (scan == Scan::kInvalid) {
      out.append(data.substr(run, i - run));
      out.append(kReplacement);
      i += len;
      run = i;
    } else {
      keep = i;
      break;
    }
  }
  out.append(data.substr(run, std::min(i, keep) - run));
  if (data.data() == tail_.data()) {
    tail_.erase(0, keep);
  } else {
    tail_.assign(data.substr(keep));
  }
}

StopMatcher::StopMatcher(std::vector<std::string> stops) {
  for (auto& s : stops) {
    if (!s.empty()) stops_.push_back(std::move(s));
  }
}

bool StopMatcher::push(std::string_view text, std::string& out) {
  if (stopped_) return true;
  if (stops_.empty()) {
    out.append(text);
    return false;
  }
  held_.append(text);
  size_t first = std::string::npos;
  for (const auto& stop : stops_) first = std::min(first, held_.find(stop));
  if (first != std::string::npos) {
    out.append(held_, 0, first);
    held_.clear();
    stopped_ = true;
    return true;
  }
  // A stop string can only start inside the longest suffix that is a prefix of some stop.
  const std::string_view held = held_;
  size_t hold = 0;
  for (const auto& stop : stops_) {
    for (size_t k = std::min(stop.size() - 1, held.size()); k > hold; --k) {
      if (held.ends_with(std::string_view(stop).substr(0, k))) {
        hold = k;
        break;
      }
    }
  }
  out.append(held_, 0, held_.size() - hold);
  held_.erase(0, held_.size() - hold);
  return false;
}

void StopMatcher::finish(std::string& out) {
  if (!stopped_) out.append(held_);
  held_.clear();
}

bool TextStream::push(std::string_view piece, std::string& out) {
  if (stops_.stopped()) return true;
  scratch_.clear();
  utf8_.push(piece, scratch_);
  return stops_.push(scratch_, out);
}

void TextStream::finish(std::string& out) {
  utf8_.finish();
  stops_.finish(out);
}

}  // namespace smmf::engines::llama_cpp
