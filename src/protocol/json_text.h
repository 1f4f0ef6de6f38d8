#pragma once
/// Writing JSON text straight into a string, for the few hot responses whose shape is fixed
/// (no tree, no allocation but the output's growth). The output is what boost::json::serialize
/// writes for the same values. Pure.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace smmf::protocol {

/// How many leading bytes of `s` need no escape in a JSON string (neither '"', '\\' nor a
/// control character); eight at a time.
inline size_t json_plain_prefix(std::string_view s) {
  // Eight bytes at a time (SWAR): does the word hold a byte below 0x20, a '"' or a '\\'?
  constexpr uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
  auto zero_byte = [](uint64_t x) { return (x - kOnes) & ~x & kHigh; };
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    const uint64_t below_space = (w - kOnes * 0x20) & ~w & kHigh;
    if ((below_space | zero_byte(w ^ (kOnes * '"')) | zero_byte(w ^ (kOnes * '\\'))) != 0) break;
  }
  for (; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == '"' || c == '\\') break;
  }
  return i;
}

/// Appends `s` as a JSON string literal (quotes included), escaped as boost::json::serialize
/// does: `"` `\` and control characters; other bytes (UTF-8) as they are.
void append_json_string(std::string& out, std::string_view s);
void append_json_int(std::string& out, int64_t v);
/// The shortest text that reads back as the same value (finite values only; non-finite as null).
void append_json_number(std::string& out, double v);
void append_json_number(std::string& out, float v);

/// Writes one JSON object's members in order: `{` at construction, `}` at close().
class JsonObjectText {
 public:
  explicit JsonObjectText(std::string& out) : out_(out) { out_ += '{'; }
  /// Writes `"k":`; the caller appends the value.
  std::string& key(std::string_view k) {
    const bool comma = n_++ > 0;
    if (k.size() <= kShortKey && json_plain_prefix(k) == k.size()) {
      // The usual key (a name from the code): `,"k":` in one append.
      char buf[kShortKey + 4];
      size_t i = 0;
      if (comma) buf[i++] = ',';
      buf[i++] = '"';
      std::memcpy(buf + i, k.data(), k.size());
      i += k.size();
      buf[i++] = '"';
      buf[i++] = ':';
      out_.append(buf, i);
      return out_;
    }
    if (comma) out_ += ',';
    append_json_string(out_, k);
    out_ += ':';
    return out_;
  }
  void string(std::string_view k, std::string_view v) { append_json_string(key(k), v); }
  void integer(std::string_view k, int64_t v) { append_json_int(key(k), v); }
  template <class F>
  void number(std::string_view k, F v) {
    append_json_number(key(k), v);
  }
  void boolean(std::string_view k, bool v) { key(k) += v ? "true" : "false"; }
  /// `v` is JSON text already.
  void raw(std::string_view k, std::string_view v) { key(k) += v; }
  void close() { out_ += '}'; }

 private:
  static constexpr size_t kShortKey = 40;
  std::string& out_;
  int n_ = 0;
};

}  // namespace smmf::protocol
