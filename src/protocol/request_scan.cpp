// scan_chat_request: the common chat request without a JSON tree (see openai_json.h). Every
// rule here mirrors parse_chat_request / read_generation for what it accepts; whatever it does
// not accept goes to them.
#include <charconv>
#include <cmath>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>

#include "protocol/json_cursor.h"
#include "protocol/openai_json.h"

namespace smmf::protocol {
namespace {

using detail::JsonCursor;

// Deeper values inside ignored message members go to the full parser (Boost.JSON limits the
// whole document's depth; three levels are the request, messages and one message).
constexpr int kSkipDepth = JsonCursor::kMaxDepth - 16;

// A string token's text (escapes resolved by Boost.JSON, so a lone surrogate fares as in the
// full parse), or false.
bool read_string(JsonCursor& c, std::string& out) {
  std::string_view raw;
  bool esc = false;
  if (!c.string(raw, esc)) return false;
  if (!esc) {
    out.assign(raw.data(), raw.size());
    return true;
  }
  return detail::unescape(raw, esc, out);
}

// The role a message's "role" names as the full parser keeps it ("developer" is "system"), or
// empty when it names none.
std::string_view known_role(std::string_view r) {
  switch (r.size()) {
    case 4:
      if (r == "user") return "user";
      if (r == "tool") return "tool";
      break;
    case 6:
      if (r == "system") return "system";
      break;
    case 9:
      if (r == "assistant") return "assistant";
      if (r == "developer") return "system";
      break;
    default:
      break;
  }
  return {};
}

// A "role" value: a known role, its escapes (if any) resolved first.
bool read_role(JsonCursor& c, std::string_view& role) {
  std::string_view raw;
  bool esc = false;
  if (!c.string(raw, esc)) return false;
  if (!esc) {
    role = known_role(raw);
  } else {
    std::string text;
    if (!detail::unescape(raw, esc, text)) return false;
    role = known_role(text);
  }
  return !role.empty();
}

// An ignored value: skipped, unless deep or holding what only Boost.JSON can judge (a \u
// escape: lone surrogates; an exponent of many digits: overflow).
bool skip_ignored(JsonCursor& c) {
  c.clear_flags();
  return c.skip_value(kSkipDepth) && !c.unicode_escape() && !c.long_exponent();
}

// An integer token without fraction or exponent, within int64 (the others go to the full
// parser, which also takes 64.0 or 1e3).
bool read_integer(JsonCursor& c, int64_t& out) {
  if (int v = 0; c.short_natural(v)) {
    out = v;
    return true;
  }
  std::string_view t;
  if (!c.number(t)) return false;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
  return ec == std::errc() && end == t.data() + t.size();
}

// A number converted as Boost.JSON converts it. An integer token is an integer. Boost.JSON
// reads a decimal as m * 10^k (m: its digits as an integer, k: exponent minus digits after the
// point) and, for |k| <= 22, multiplies or divides by the exact 10^|k|: correctly rounded when
// m < 2^53, as from_chars is. Decimals beyond that (more than 15 digits, |k| > 22) go to the
// full parser.
bool read_number(JsonCursor& c, double& out) {
  std::string_view t;
  if (!c.number(t)) return false;
  const size_t dot = t.find('.'), e = t.find_first_of("eE");
  if (dot == std::string_view::npos && e == std::string_view::npos) {
    int64_t i;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), i);
    if (ec != std::errc() || end != t.data() + t.size()) return false;
    out = static_cast<double>(i);
    return true;
  }
  const std::string_view mantissa = t.substr(0, e);
  int digits = 0;
  for (char ch : mantissa)
    if (ch >= '0' && ch <= '9' && (digits > 0 || ch != '0')) ++digits;  // from the first non-0
  if (digits > 15) return false;
  int k = 0;
  if (e != std::string_view::npos) {
    std::string_view x = t.substr(e + 1);
    if (!x.empty() && x.front() == '+') x.remove_prefix(1);
    auto [end, ec] = std::from_chars(x.data(), x.data() + x.size(), k);
    if (ec != std::errc() || end != x.data() + x.size() || k < -100 || k > 100) return false;
  }
  if (dot != std::string_view::npos) k -= static_cast<int>(mantissa.size() - dot - 1);
  if (k < -22 || k > 22) return false;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
  return ec == std::errc() && end == t.data() + t.size() && std::isfinite(out);
}

bool read_bool(JsonCursor& c, bool& out) {
  if (c.peek() == 't') {
    out = true;
    return c.literal("true");
  }
  out = false;
  return c.peek() == 'f' && c.literal("false");
}

// One element of "messages": role, content (a string or null) and name; other members are
// ignored, as the full parser ignores them.
bool read_message(JsonCursor& c, ChatMessage& m) {
  bool has_role = false, has_content = false, has_name = false;
  std::string_view role;  // one of known_role's names (an unknown role fails at once)
  // Each of the three at most once: with a member given twice, which counts is the full
  // parser's call.
  auto once = [](bool& seen) { return !std::exchange(seen, true); };
  const bool ok = detail::members(c, [&](std::string_view key) {
    if (key == "role") return once(has_role) && read_role(c, role);
    if (key == "content") {
      if (!once(has_content)) return false;
      return c.peek() == 'n' ? c.literal("null") : read_string(c, m.content);
    }
    if (key == "name") return once(has_name) && read_string(c, m.name);
    return skip_ignored(c);
  });
  if (!ok || !has_role) return false;
  m.role.assign(role.data(), role.size());
  return true;
}

}  // namespace

bool scan_chat_request(std::string_view body, const ParseLimits& limits, ChatRequest& out) {
  // A fresh request in place: half the work of out = ChatRequest{} (no temporary to move from).
  static_assert(std::is_nothrow_default_constructible_v<ChatRequest>);
  std::destroy_at(&out);
  std::construct_at(&out);
  if (!detail::valid_utf8(body)) return false;
  JsonCursor c(body);
  enum : unsigned {
    kModel = 1,
    kMessages = 2,
    kStream = 4,
    kStreamOptions = 8,
    kMaxTokens = 16,
    kMaxCompletionTokens = 32,
    kTemperature = 64,
    kTopP = 128,
    kN = 256,
    kUser = 512,
    kStop = 1024,
  };
  unsigned seen = 0;
  auto first = [&seen](unsigned bit) {
    if (seen & bit) return false;  // given twice: which one counts is the full parser's call
    seen |= bit;
    return true;
  };
  auto& g = out.gen;
  int64_t max_tokens = 0, max_completion_tokens = 0;
  const bool read = detail::members(c, [&](std::string_view key) {
    if (c.peek() == 'n') return false;  // null: absent to the full parser; rare, left to it
    bool ok = false;
    if (key == "model") {
      ok = first(kModel) && read_string(c, out.model) && !out.model.empty();
    } else if (key == "messages") {
      ok = first(kMessages) && c.eat('[') && !c.eat(']');
      out.messages.reserve(4);
      while (ok) {
        out.messages.emplace_back();
        ok = read_message(c, out.messages.back());
        if (!ok || !c.eat(',')) break;
      }
      ok = ok && c.eat(']');
    } else if (key == "stream") {
      ok = first(kStream) && read_bool(c, g.stream);
    } else if (key == "stream_options") {
      bool has_usage = false;
      ok = first(kStreamOptions) && detail::members(c, [&](std::string_view k) {
             return k == "include_usage" && !std::exchange(has_usage, true) &&
                    read_bool(c, g.include_usage);
           });
    } else if (key == "max_tokens") {
      ok = first(kMaxTokens) && read_integer(c, max_tokens) && max_tokens >= 1 &&
           max_tokens <= (1 << 24);
    } else if (key == "max_completion_tokens") {
      ok = first(kMaxCompletionTokens) && read_integer(c, max_completion_tokens) &&
           max_completion_tokens >= 1 && max_completion_tokens <= (1 << 24);
    } else if (key == "temperature") {
      double d = 0;
      ok = first(kTemperature) && read_number(c, d) && d >= 0 && d <= 2;
      if (ok) g.sampling.temperature = static_cast<float>(d);
    } else if (key == "top_p") {
      double d = 0;
      ok = first(kTopP) && read_number(c, d) && d >= 0 && d <= 1;
      if (ok) g.sampling.top_p = static_cast<float>(d);
    } else if (key == "n") {
      int64_t n = 0;
      ok = first(kN) && read_integer(c, n) && n >= 1 && n <= limits.max_n;
      if (ok) g.n = static_cast<int>(n);
    } else if (key == "user") {
      ok = first(kUser) && read_string(c, g.user);
    } else if (key == "stop") {
      ok = first(kStop);
      std::string s;
      if (ok && c.peek() == '"') {
        ok = read_string(c, s);
        if (ok && !s.empty()) g.stop.push_back(std::move(s));
      } else if (ok && c.eat('[')) {
        size_t count = 0;
        if (!c.eat(']')) {
          do {
            ok = read_string(c, s) && ++count <= static_cast<size_t>(limits.max_stop);
            if (ok && !s.empty()) g.stop.push_back(std::move(s));
          } while (ok && c.eat(','));
          ok = ok && c.eat(']');
        }
      } else {
        ok = false;
      }
    }
    return ok;  // false: an error, or a member this reader leaves to the full parser
  });
  if (!read || !c.at_end()) return false;
  if ((seen & (kModel | kMessages)) != (kModel | kMessages)) return false;
  if ((seen & kStreamOptions) && !g.stream) return false;  // the full parser's error
  if (seen & kMaxTokens) g.max_tokens = static_cast<int>(max_tokens);
  if (seen & kMaxCompletionTokens) g.max_tokens = static_cast<int>(max_completion_tokens);
  return true;
}

}  // namespace smmf::protocol
