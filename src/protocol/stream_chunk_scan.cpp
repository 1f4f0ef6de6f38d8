#include "protocol/stream_chunk_scan.h"

#include "protocol/json_text.h"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <charconv>
#include <cstring>

#include "protocol/openai_client_json.h"
#include "protocol/sse.h"

namespace smmf::protocol {
namespace json = boost::json;

namespace {

constexpr int kMaxDepth = 64;

// A cursor over JSON text that checks the syntax of what it skips: balanced containers,
// terminated strings without raw control characters, literals, numbers. Not UTF-8: a chunk with
// invalid UTF-8 inside a string is relayed as the upstream sent it.
class Cursor {
 public:
  explicit Cursor(std::string_view s) : p_(s.data()), end_(s.data() + s.size()) {}

  const char* pos() const { return p_; }
  bool at_end() {
    ws();
    return p_ == end_;
  }
  void ws() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  bool eat(char c) {
    ws();
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }
  char peek() {
    ws();
    return p_ == end_ ? '\0' : *p_;
  }
  // A string token; `raw` is its text between the quotes, `escaped` whether it has escapes.
  bool string(std::string_view& raw, bool& escaped) {
    if (!eat('"')) return false;
    const char* start = p_;
    escaped = false;
    while (p_ != end_) {
      // Up to the next quote, backslash or control character: byte by byte for the first 16
      // (keys, short values), then eight bytes at a time (long texts).
      const char* stop = end_ - p_ > 16 ? p_ + 16 : end_;
      while (p_ != stop && !special(*p_)) ++p_;
      if (p_ == stop && p_ != end_)
        p_ += json_plain_prefix(std::string_view(p_, static_cast<size_t>(end_ - p_)));
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
      ++p_;
    }
    return false;
  }
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
  // JSON's number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
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
      if (!digits()) return false;
    }
    text = std::string_view(start, static_cast<size_t>(p_ - start));
    return true;
  }
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
  const char* p_;
  const char* end_;
};

// The text of a string token (with escapes resolved by Boost.JSON, which knows \u pairs).
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

// A string or null (null reads as empty, as parse_stream_chunk's string_at does).
bool string_or_null(Cursor& c, std::string& out) {
  if (c.peek() == 'n') {
    out.clear();
    return c.literal("null");
  }
  std::string_view raw;
  bool esc = false;
  return c.string(raw, esc) && unescape(raw, esc, out);
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
        std::string_view num;
        if (!c.number(num)) return false;
        auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), d.index);
        if (ec != std::errc() || end != num.data() + num.size() || d.index < 0) return false;
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
  std::string_view num;
  if (!c.number(num)) return false;
  auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), out);
  return ec == std::errc() && end == num.data() + num.size();
}

// An object's members, each handed to `member(key)`, which consumes the value (false: give up).
template <class Member>
bool members(Cursor& c, Member member) {
  if (!c.eat('{')) return false;
  if (c.eat('}')) return true;
  do {
    std::string_view key;
    bool esc = false;
    if (!c.string(key, esc) || esc || !c.eat(':') || !member(key)) return false;
  } while (c.eat(','));
  return c.eat('}');
}

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

}  // namespace smmf::protocol
