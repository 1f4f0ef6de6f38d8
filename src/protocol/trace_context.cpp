#include "protocol/trace_context.h"

#include <fmt/format.h>

#include <charconv>
#include <cstring>
#include <random>

namespace smmf::protocol {
namespace {

bool is_lower_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

bool all_zero(std::string_view s) {
  return s.find_first_not_of('0') == std::string_view::npos;
}

// `words` 64-bit draws as 16 hex digits each, none of them zero (an all-zero id is invalid).
void random_hex(char* out, int words) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < words; ++i) {
    uint64_t v = 0;
    while (v == 0) v = rng();
    for (int d = 15; d >= 0; --d, v >>= 4) out[i * 16 + d] = kHex[v & 15];
  }
}

}  // namespace

std::optional<TraceContext> parse_traceparent(std::string_view h) {
  while (!h.empty() && (h.front() == ' ' || h.front() == '\t')) h.remove_prefix(1);
  while (!h.empty() && (h.back() == ' ' || h.back() == '\t')) h.remove_suffix(1);
  // version "00" is exactly 55 chars; later versions may append "-..." fields.
  if (h.size() < 55 || h[2] != '-' || h[35] != '-' || h[52] != '-') return std::nullopt;
  std::string_view version = h.substr(0, 2), trace = h.substr(3, 32), span = h.substr(36, 16),
                   flags = h.substr(53, 2);
  if (!is_lower_hex(version) || version == "ff" || !is_lower_hex(trace) || !is_lower_hex(span) ||
      !is_lower_hex(flags))
    return std::nullopt;
  if (version == "00" && h.size() != 55) return std::nullopt;
  if (h.size() > 55 && h[55] != '-') return std::nullopt;
  if (all_zero(trace) || all_zero(span)) return std::nullopt;
  TraceContext ctx;
  ctx.trace_id = TraceId(trace);
  ctx.span_id = SpanId(span);
  unsigned f = 0;
  std::from_chars(flags.data(), flags.data() + flags.size(), f, 16);  // two hex digits: checked
  ctx.flags = static_cast<uint8_t>(f);
  return ctx;
}

std::string_view format_traceparent(const TraceContext& ctx, std::array<char, 55>& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  if (!ctx.valid()) return {};
  char* p = out.data();
  std::memcpy(p, "00-", 3);
  std::memcpy(p + 3, ctx.trace_id.view().data(), 32);
  p[35] = '-';
  std::memcpy(p + 36, ctx.span_id.view().data(), 16);
  p[52] = '-';
  p[53] = kHex[(ctx.flags >> 4) & 15];
  p[54] = kHex[ctx.flags & 15];
  return {out.data(), out.size()};
}

std::string format_traceparent(const TraceContext& ctx) {
  std::array<char, 55> text;
  return std::string(format_traceparent(ctx, text));
}

TraceId random_trace_id() {
  TraceId id;
  random_hex(id.data(), 2);
  return id;
}
SpanId random_span_id() {
  SpanId id;
  random_hex(id.data(), 1);
  return id;
}
std::string new_trace_id() {
  return random_trace_id().str();
}
std::string new_span_id() {
  return random_span_id().str();
}

}  // namespace smmf::protocol
