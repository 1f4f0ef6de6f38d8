#pragma once
/// A cursor over JSON text for the one-pass scanners (stream chunks, responses, requests): it
/// checks the syntax of what it reads and skips (balanced containers, strings without raw
/// control characters and with valid escapes, literals, numbers) without building a tree.
/// Not UTF-8: callers that must reject invalid UTF-8 as Boost.JSON does check it themselves
/// (valid_utf8). The scanners give up (and their callers use the full parser) on anything they
/// do not fully understand, so the cursor only has to be exact on what it accepts.
#include <string>
#include <string_view>

#include "protocol/json_text.h"

namespace smmf::protocol::detail {

class JsonCursor {
 public:
  static constexpr int kMaxDepth = 64;

  explicit JsonCursor(std::string_view s)
      : begin_(s.data()), p_(s.data()), end_(s.data() + s.size()) {}

  const char* pos() const { return p_; }
  bool at_end() {
    ws();
    return p_ == end_;
  }
  void ws() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  /// `c` (never whitespace) after any whitespace. Compact JSON has none: `c` is looked for
  /// first, and whitespace skipped only when the next byte can be some.
  bool eat(char c) {
    if (p_ != end_ && *p_ == c) {
      ++p_;
      return true;
    }
    if (p_ == end_ || static_cast<unsigned char>(*p_) > ' ') return false;
    ws();
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }
  char peek() {
    if (p_ != end_ && static_cast<unsigned char>(*p_) > ' ') return *p_;  // no whitespace first
    ws();
    return p_ == end_ ? '\0' : *p_;
  }
  /// A string token; `raw` is its text between the quotes, `escaped` whether it has escapes.
  /// An escape must be one of JSON's (\" \\ \/ \b \f \n \r \t \uXXXX); a \u escape also sets
  /// unicode_escape() until clear_flags() (a scanner that skips strings but must agree
  /// with Boost.JSON on lone surrogates can give up).
  bool string(std::string_view& raw, bool& escaped) {
    if (!eat('"')) return false;
    const char* start = p_;
    escaped = false;
    while (p_ != end_) {
      // Up to the next quote, backslash or control character (16 bytes at a time: the text
      // after a key or short value is read too, but it is inside the buffer).
      p_ = plain_run(p_);
      if (p_ == end_) return false;
      char c = *p_;
      if (c == '"') {
        raw = std::string_view(start, static_cast<size_t>(p_ - start));
        ++p_;
        return true;
      }
      if (c != '\\') return false;  // a control character
      escaped = true;
      if (++p_ == end_) return false;
      switch (*p_) {
        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
          ++p_;
          break;
        case 'u':
          unicode_escape_ = true;
          if (end_ - p_ < 5) return false;
          for (int i = 1; i <= 4; ++i)
            if (!hex(p_[i])) return false;
          p_ += 5;
          break;
        default:
          return false;
      }
    }
    return false;
  }
  bool unicode_escape() const { return unicode_escape_; }
  /// A number with an exponent of more than six digits was read (Boost.JSON rejects some).
  bool long_exponent() const { return long_exponent_; }
  void clear_flags() { unicode_escape_ = long_exponent_ = false; }
  static bool special(char c) {
    return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20;
  }
  bool literal(std::string_view word) {
    ws();
    if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word)
      return false;
    p_ += word.size();
    return true;
  }
  /// JSON's number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
  bool number(std::string_view& text) {
    ws();
    const char* start = p_;
    auto digits = [&] {
      const char* d = p_;
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
      return p_ != d;
    };
    if (p_ != end_ && *p_ == '-') ++p_;
    if (p_ != end_ && *p_ == '0')
      ++p_;
    else if (!digits())
      return false;
    if (p_ != end_ && *p_ == '.') {
      ++p_;
      if (!digits()) return false;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      const char* e = p_;
      if (!digits()) return false;
      if (p_ - e > 6) long_exponent_ = true;  // Boost.JSON: "exponent overflow" past ~2^31
    }
    text = std::string_view(start, static_cast<size_t>(p_ - start));
    return true;
  }
  /// The next token when it is a natural number of at most nine digits (no sign, fraction or
  /// exponent): its value in `out`, as number() and std::from_chars read it. False, nothing
  /// read but whitespace, for any other token (the caller reads it the long way).
  bool short_natural(int& out) {
    ws();
    const char* q = p_;
    int v = 0;
    for (; q != end_ && q - p_ < 9 && *q >= '0' && *q <= '9'; ++q) v = v * 10 + (*q - '0');
    if (q == p_ || (*p_ == '0' && q - p_ > 1)) return false;  // none, or a leading zero
    if (q != end_ && ((*q >= '0' && *q <= '9') || *q == '.' || *q == 'e' || *q == 'E'))
      return false;  // longer, or not an integer
    p_ = q;
    out = v;
    return true;
  }
  /// Skips one value, at most kMaxDepth - depth containers deep.
  bool skip_value(int depth = 0) {
    if (depth > kMaxDepth) return false;
    std::string_view sv;
    bool esc = false;
    switch (peek()) {
      case '"':
        return string(sv, esc);
      case '{':
        ++p_;
        if (eat('}')) return true;
        do {
          if (!string(sv, esc) || !eat(':') || !skip_value(depth + 1)) return false;
        } while (eat(','));
        return eat('}');
      case '[':
        ++p_;
        if (eat(']')) return true;
        do {
          if (!skip_value(depth + 1)) return false;
        } while (eat(','));
        return eat(']');
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default:
        return number(sv);
    }
  }

 private:
  /// The first byte of [p, end_) that needs an escape in a JSON string, or end_. Unlike
  /// json_plain_prefix (made for short strings) it stays small enough to be inlined into the
  /// scanners: the quote that ends a key or short value is most often in the first block.
  const char* plain_run(const char* p) const {
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
    const __m128i flip = _mm_set1_epi8(static_cast<char>(0x80));
    const __m128i space = _mm_set1_epi8(static_cast<char>(0x20 ^ 0x80));
    auto block = [&](const char* q) {
      const __m128i w = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
      const __m128i hit =
          _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(w, quote), _mm_cmpeq_epi8(w, backslash)),
                       _mm_cmplt_epi8(_mm_xor_si128(w, flip), space));
      return static_cast<unsigned>(_mm_movemask_epi8(hit));
    };
    for (; end_ - p >= 16; p += 16)
      if (const unsigned mask = block(p); mask != 0) return p + __builtin_ctz(mask);
    if (p != end_ && end_ - begin_ >= 16) {
      // The buffer's last sixteen bytes, those before p shifted out.
      const unsigned mask = block(end_ - 16) >> (16 - (end_ - p));
      return mask != 0 ? p + __builtin_ctz(mask) : end_;
    }
    while (p != end_ && !special(*p)) ++p;  // a buffer of under sixteen bytes
    return p;
#else
    return p + json_plain_prefix(std::string_view(p, static_cast<size_t>(end_ - p)));
#endif
  }
  static bool hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }
  const char* begin_;
  const char* p_;
  const char* end_;
  bool unicode_escape_ = false;
  bool long_exponent_ = false;
};

/// An object's members, each handed to `member(key)`, which consumes the value (false: give
/// up). A key with escapes is given up on: no scanner looks for one.
template <class Member>
bool members(JsonCursor& c, Member member) {
  if (!c.eat('{')) return false;
  if (c.eat('}')) return true;
  do {
    std::string_view key;
    bool esc = false;
    if (!c.string(key, esc) || esc || !c.eat(':') || !member(key)) return false;
  } while (c.eat(','));
  return c.eat('}');
}

/// The text of a string token (`raw` as JsonCursor::string gives it), escapes resolved by
/// Boost.JSON (which knows \u pairs). False for an escape Boost.JSON rejects.
bool unescape(std::string_view raw, bool escaped, std::string& out);

/// Whether `s` is well-formed UTF-8 (no overlong forms, no surrogates, at most U+10FFFF), as
/// Boost.JSON requires of strings. ASCII is checked eight bytes at a time.
bool valid_utf8(std::string_view s);

}  // namespace smmf::protocol::detail
