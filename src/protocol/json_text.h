#pragma once
/// Writing JSON text straight into a string, for the few hot responses whose shape is fixed
/// (no tree, no allocation but the output's growth). The output is what boost::json::serialize
/// writes for the same values. Pure.
#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace smmf::protocol {

/// How many leading bytes of `s` need no escape in a JSON string (neither '"', '\\' nor a
/// control character). With SSE2 (x86-64's baseline): sixteen at a time, the last bytes as one
/// more (overlapping) block; a string of 4 to 15 bytes as one block of its first and last
/// halves (overlapping). Without SSE2, eight at a time (SWAR).
inline size_t json_plain_prefix(std::string_view s) {
  const char* p = s.data();
  const size_t n = s.size();
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
  // Unsigned c < 0x20 as a signed compare: flip the top bit of both sides.
  const __m128i flip = _mm_set1_epi8(static_cast<char>(0x80));
  const __m128i space = _mm_set1_epi8(static_cast<char>(0x20 ^ 0x80));
  auto hits = [&](__m128i w) {
    const __m128i hit =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(w, quote), _mm_cmpeq_epi8(w, backslash)),
                     _mm_cmplt_epi8(_mm_xor_si128(w, flip), space));
    return static_cast<unsigned>(_mm_movemask_epi8(hit));
  };
  auto ctz = [](unsigned m) { return static_cast<size_t>(__builtin_ctz(m)); };
  if (n >= 16) {
    auto block = [&](const char* q) {
      return hits(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)));
    };
    for (; i + 16 <= n; i += 16)
      if (const unsigned mask = block(p + i); mask != 0) return i + ctz(mask);
    if (i == n) return n;
    // The last sixteen bytes, of which the first 16 - (n - i) were checked already.
    const unsigned mask = block(p + n - 16) >> (16 - (n - i));
    return mask != 0 ? i + ctz(mask) : n;
  }
  if (n >= 8) {
    // The first eight bytes and the last eight (they overlap or meet) as one block.
    const __m128i w =
        _mm_unpacklo_epi64(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)),
                           _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + n - 8)));
    const unsigned mask = hits(w);
    if ((mask & 0xff) != 0) return ctz(mask);
    return mask != 0 ? n - 16 + ctz(mask) : n;
  }
  if (n >= 4) {
    // The same with four and four; the block's other eight bytes (zeros) do not count.
    uint32_t a, b;
    std::memcpy(&a, p, 4);
    std::memcpy(&b, p + n - 4, 4);
    const __m128i w = _mm_unpacklo_epi32(_mm_cvtsi32_si128(static_cast<int>(a)),
                                         _mm_cvtsi32_si128(static_cast<int>(b)));
    const unsigned mask = hits(w) & 0xff;
    if ((mask & 0xf) != 0) return ctz(mask);
    return mask != 0 ? n - 8 + ctz(mask) : n;
  }
#else
  // Per byte, 0x80 where the byte is below 0x20, '"' or '\\' (the lowest flagged byte is exact;
  // above it, a borrow can flag more).
  auto special = [](auto w) {
    using W = decltype(w);
    constexpr W kOnes = static_cast<W>(0x0101010101010101ull);
    constexpr W kHigh = static_cast<W>(0x8080808080808080ull);
    auto zero_byte = [](W x) { return static_cast<W>((x - kOnes) & ~x & kHigh); };
    const W below_space = static_cast<W>((w - kOnes * 0x20) & ~w & kHigh);
    return static_cast<W>(below_space | zero_byte(w ^ (kOnes * '"')) |
                          zero_byte(w ^ (kOnes * '\\')));
  };
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    if (special(w) != 0) break;
  }
#endif
  for (; i < n; ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
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

/// A run of JSON text (literals, integers, short strings) gathered on the stack and appended to
/// `out` in one call at flush() or destruction: a response's fixed parts cost one append
/// instead of one per piece. Anything that does not fit is flushed first (a long string goes
/// straight to `out`), so any size is correct; N only bounds what one append gathers.
template <size_t N = 512>
class JsonPiece {
 public:
  static_assert(N >= 20, "room for any int64_t");
  explicit JsonPiece(std::string& out) : out_(out) {}
  JsonPiece(const JsonPiece&) = delete;
  JsonPiece& operator=(const JsonPiece&) = delete;
  ~JsonPiece() { flush(); }

  /// JSON text as it is (a string literal from the code).
  template <size_t L>
  [[gnu::always_inline]] JsonPiece& lit(const char (&s)[L]) {
    put(s, L - 1);
    return *this;
  }
  /// JSON text as it is.
  JsonPiece& raw(std::string_view s) {
    put(s.data(), s.size());
    return *this;
  }
  JsonPiece& integer(int64_t v) {
    if (room() < 20) flush();  // int64_t: at most 20 characters
    w_ = std::to_chars(w_, buf_ + N, v).ptr;
    return *this;
  }
  /// `s` as a JSON string literal, escaped as append_json_string does.
  JsonPiece& string(std::string_view s) {
    if (s.size() + 2 <= room() && json_plain_prefix(s) == s.size()) {
      *w_++ = '"';
      std::memcpy(w_, s.data(), s.size());
      w_ += s.size();
      *w_++ = '"';
    } else {
      flush();
      append_json_string(out_, s);
    }
    return *this;
  }
  void flush() {
    if (w_ != buf_) out_.append(buf_, static_cast<size_t>(w_ - buf_));
    w_ = buf_;
  }

 private:
  size_t room() const { return static_cast<size_t>(buf_ + N - w_); }
  // Inlined, so that a literal's memcpy has a constant size.
  [[gnu::always_inline]] void put(const char* s, size_t n) {
    if (n > room()) {
      put_flushed(s, n);
      return;
    }
    std::memcpy(w_, s, n);
    w_ += n;
  }
  [[gnu::noinline]] void put_flushed(const char* s, size_t n) {
    flush();
    if (n > N) {
      out_.append(s, n);
      return;
    }
    std::memcpy(w_, s, n);
    w_ += n;
  }
  std::string& out_;
  char* w_ = buf_;
  char buf_[N];
};

/// Writes one JSON object's members in order: `{` at construction, `}` at close().
class JsonObjectText {
 public:
  explicit JsonObjectText(std::string& out) : out_(out) { out_ += '{'; }
  /// Continues an object whose `{` and first `members` members are in `out` already.
  JsonObjectText(std::string& out, int members) : out_(out), n_(members) {}
  /// Writes `"k":`; the caller appends the value.
  std::string& key(std::string_view k) {
    char buf[kShortKey + 4];
    if (const size_t n = short_key(buf, k); n != 0) {
      out_.append(buf, n);
      return out_;
    }
    if (n_++ > 0) out_ += ',';
    append_json_string(out_, k);
    out_ += ':';
    return out_;
  }
  void string(std::string_view k, std::string_view v) { append_json_string(key(k), v); }
  void integer(std::string_view k, int64_t v) {
    char buf[kShortKey + 4 + 20];
    if (size_t n = short_key(buf, k); n != 0) {  // `,"k":v` in one append
      n = static_cast<size_t>(std::to_chars(buf + n, buf + sizeof buf, v).ptr - buf);
      out_.append(buf, n);
      return;
    }
    append_json_int(key(k), v);
  }
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
  /// For the usual key (a short name from the code, nothing to escape): `,"k":` (no comma
  /// before the first member) written to `buf` and the member counted; its length. 0 (nothing
  /// written or counted) for any other key.
  size_t short_key(char* buf, std::string_view k) {
    if (k.size() > kShortKey || json_plain_prefix(k) != k.size()) return 0;
    size_t i = 0;
    if (n_++ > 0) buf[i++] = ',';
    buf[i++] = '"';
    std::memcpy(buf + i, k.data(), k.size());
    i += k.size();
    buf[i++] = '"';
    buf[i++] = ':';
    return i;
  }
  std::string& out_;
  int n_ = 0;
};

}  // namespace smmf::protocol
