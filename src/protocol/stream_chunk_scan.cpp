#include "protocol/stream_chunk_scan.h"

#include "protocol/json_cursor.h"
#include "protocol/json_text.h"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <charconv>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "protocol/openai_client_json.h"
#include "protocol/sse.h"

namespace smmf::protocol {
namespace json = boost::json;

namespace {

using detail::unescape;
using Cursor = detail::JsonCursor;

// A string or null (null reads as empty, as parse_stream_chunk's string_at does).
bool string_or_null(Cursor& c, std::string& out) {
  if (c.peek() == 'n') {
    out.clear();
    return c.literal("null");
  }
  std::string_view raw;
  bool esc = false;
  if (!c.string(raw, esc)) return false;
  if (!esc) {
    out.assign(raw.data(), raw.size());
    return true;
  }
  return unescape(raw, esc, out);
}

bool null_value(Cursor& c) {
  if (c.peek() != 'n') return false;
  return c.literal("null");
}

// One element of "choices".
bool scan_choice(Cursor& c, StreamChunkView& out, std::vector<Delta>& deltas) {
  if (!c.eat('{')) return false;
  Delta d;
  std::string text_field, content, finish;
  bool has_delta = false;
  if (!c.eat('}')) {
    do {
      std::string_view key;
      bool esc = false;
      if (!c.string(key, esc) || esc || !c.eat(':')) return false;
      if (key == "index") {
        if (!c.short_natural(d.index)) {
          std::string_view num;
          if (!c.number(num)) return false;
          auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), d.index);
          if (ec != std::errc() || end != num.data() + num.size() || d.index < 0) return false;
        }
      } else if (key == "delta" && c.peek() == '{') {
        has_delta = true;
        c.eat('{');
        if (!c.eat('}')) {
          do {
            std::string_view k;
            bool e = false;
            if (!c.string(k, e) || e || !c.eat(':')) return false;
            if (k == "content") {
              if (!string_or_null(c, content)) return false;
            } else if (!c.skip_value()) {
              return false;
            }
          } while (c.eat(','));
          if (!c.eat('}')) return false;
        }
      } else if (key == "text") {
        if (!string_or_null(c, text_field)) return false;
      } else if (key == "finish_reason") {
        if (!string_or_null(c, finish)) return false;
      } else if (key == "usage") {
        if (!null_value(c)) {
          out.needs_full_parse = true;  // Moonshot: usage inside the last choice
          if (!c.skip_value()) return false;
        }
      } else if (!c.skip_value()) {
        return false;
      }
    } while (c.eat(','));
    if (!c.eat('}')) return false;
  }
  d.text = has_delta ? std::move(content) : std::move(text_field);
  d.finish_reason = finish_reason_from_string(finish);
  if (!d.text.empty() || d.finish_reason) deltas.push_back(std::move(d));
  ++out.n_choices;
  return true;
}

// A JSON number that is an integer within int's range (else the caller falls back to the full
// parser, whose clamped_int handles the rest).
bool small_int(Cursor& c, int& out) {
  if (c.short_natural(out)) return true;
  std::string_view num;
  if (!c.number(num)) return false;
  auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), out);
  return ec == std::errc() && end == num.data() + num.size();
}

using detail::members;

bool scan_usage(Cursor& c, Usage& u) {
  return members(c, [&](std::string_view key) {
    if (key == "prompt_tokens") return small_int(c, u.prompt_tokens);
    if (key == "completion_tokens") return small_int(c, u.completion_tokens);
    if (key == "prompt_tokens_details") {
      if (c.peek() != '{') return c.skip_value();  // not an object: no cached tokens
      return members(c, [&](std::string_view k) {
        return k == "cached_tokens" ? small_int(c, u.cached_tokens) : c.skip_value();
      });
    }
    return c.skip_value();
  });
}

bool scan_response_choice(Cursor& c, Choice& choice) {
  std::string text_field, content, finish;
  bool has_message = false;
  bool ok = members(c, [&](std::string_view key) {
    if (key == "index") return small_int(c, choice.index);
    if (key == "message" && c.peek() == '{') {
      has_message = true;
      return members(c, [&](std::string_view k) {
        return k == "content" ? string_or_null(c, content) : c.skip_value();
      });
    }
    if (key == "text") return string_or_null(c, text_field);
    if (key == "finish_reason") return string_or_null(c, finish);
    return c.skip_value();
  });
  if (!ok) return false;
  choice.text = has_message ? std::move(content) : std::move(text_field);
  choice.finish_reason = finish_reason_from_string(finish).value_or(FinishReason::kStop);
  return true;
}

}  // namespace

bool scan_generation_response(std::string_view body, GenerationResult& out) {
  out = GenerationResult{};
  Cursor c(body);
  bool has_choices = false, has_usage = false;
  // A member given twice: which one counts is the full parser's call (the scan would add up
  // both "choices").
  bool ok = members(c, [&](std::string_view key) {
    if (key == "choices") {
      if (has_choices) return false;
      has_choices = true;
      if (!c.eat('[')) return false;
      if (c.eat(']')) return true;
      do {
        out.choices.emplace_back();
        if (!scan_response_choice(c, out.choices.back())) return false;
      } while (c.eat(','));
      return c.eat(']');
    }
    if (key == "usage") {
      if (has_usage) return false;
      has_usage = true;
      if (c.peek() != '{') return c.skip_value();  // null (or not an object): no usage
      return scan_usage(c, out.usage);
    }
    if (key == "x_groq" || key == "error") return false;  // the full parser's business
    return c.skip_value();
  });
  return ok && has_choices && c.at_end();
}

bool scan_stream_chunk(std::string_view data, StreamChunkView& out, std::vector<Delta>& deltas) {
  out = StreamChunkView{};
  Cursor c(data);
  if (!c.eat('{')) return false;
  if (c.eat('}')) return c.at_end();
  bool seen_choices = false;  // twice: the full parser decides (the scan would relay both)
  do {
    c.ws();
    const char* member = c.pos();
    std::string_view key;
    bool esc = false;
    if (!c.string(key, esc) || esc || !c.eat(':')) return false;
    bool keep = true;
    if (key == "id" || key == "object" || key == "created" || key == "model") {
      keep = false;
      if (!c.skip_value()) return false;
    } else if (key == "usage") {
      keep = false;
      if (!null_value(c)) {
        out.needs_full_parse = true;
        if (!c.skip_value()) return false;
      }
    } else if (key == "error" || key == "x_groq") {
      out.needs_full_parse = true;
      if (!c.skip_value()) return false;
    } else if (key == "choices") {
      if (seen_choices || !c.eat('[')) return false;
      seen_choices = true;
      if (!c.eat(']')) {
        do {
          if (!scan_choice(c, out, deltas)) return false;
        } while (c.eat(','));
        if (!c.eat(']')) return false;
      }
    } else if (!c.skip_value()) {
      return false;
    }
    if (keep) {
      if (out.n_kept == StreamChunkView::kMaxKept) return false;
      out.kept[out.n_kept++] = std::string_view(member, static_cast<size_t>(c.pos() - member));
    }
  } while (c.eat(','));
  return c.eat('}') && c.at_end();
}

std::string relayed_chunk_head(std::string_view id, std::string_view object, int64_t created,
                               std::string_view model) {
  std::string out = "{\"id\":";
  out += json::serialize(json::string_view(id));
  out += ",\"object\":";
  out += json::serialize(json::string_view(object));
  out += ",\"created\":";
  out += std::to_string(created);
  out += ",\"model\":";
  out += json::serialize(json::string_view(model));
  return out;
}

void append_relayed_chunk(std::string& out, std::string_view head, const StreamChunkView& chunk,
                          bool usage_null) {
  const size_t start = out.size();
  out += "data: ";
  out += head;
  bool multiline = false;
  for (size_t i = 0; i < chunk.n_kept; ++i) {
    out += ',';
    out += chunk.kept[i];
    const auto& k = chunk.kept[i];
    multiline =
        multiline || std::memchr(k.data(), '\n', k.size()) || std::memchr(k.data(), '\r', k.size());
  }
  if (usage_null) out += ",\"usage\":null";
  out += '}';
  if (multiline) {
    // Whitespace of a pretty-printed upstream: one "data:" line per line, as append_sse does.
    std::string data = out.substr(start + 6);
    out.resize(start);
    for (char& ch : data)
      if (ch == '\r') ch = '\n';
    append_sse(out, data);
    return;
  }
  out += "\n\n";
}

namespace detail {

bool unescape(std::string_view raw, bool escaped, std::string& out) {
  if (!escaped) {
    out.assign(raw);
    return true;
  }
  unsigned char buf[512];
  json::monotonic_resource arena(buf, sizeof(buf));
  std::string token;
  token.reserve(raw.size() + 2);
  token += '"';
  token += raw;
  token += '"';
  boost::system::error_code ec;
  json::value v = json::parse(token, ec, &arena);
  if (ec || !v.is_string()) return false;
  out.assign(v.get_string().data(), v.get_string().size());
  return true;
}

bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
#if defined(__SSE2__)
  // ASCII runs sixteen bytes at a time (the top bits as a mask); the rest as below.
  auto ascii16 = [](const unsigned char* q) {
    return _mm_movemask_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q))) == 0;
  };
  while (end - p >= 16 && ascii16(p)) p += 16;
  // The last bytes: the last sixteen again (those before them were ASCII already).
  if (p != end && s.size() >= 16 && end - p < 16 && ascii16(end - 16)) return true;
#endif
  while (p != end) {
    if (end - p >= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      if ((w & 0x8080808080808080ull) == 0) {
        p += 8;
        continue;
      }
    }
    const unsigned c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    // Lead byte: its sequence length and the range of its first continuation byte.
    int n;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return false;
    }
    if (end - p <= n) return false;
    if (p[1] < lo || p[1] > hi) return false;
    for (int i = 2; i <= n; ++i)
      if ((p[i] & 0xC0) != 0x80) return false;
    p += n + 1;
  }
  return true;
}

}  // namespace detail
}  // namespace smmf::protocol
