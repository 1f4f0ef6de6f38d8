#include "protocol/trace_context.h"

#include <fmt/format.h>

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

std::string random_hex(int words) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(static_cast<size_t>(words) * 16, '0');
  for (int i = 0; i < words; ++i) {
    uint64_t v = 0;
    while (v == 0) v = rng();  // never an all-zero (invalid) id
    for (int d = 15; d >= 0; --d, v >>= 4) out[static_cast<size_t>(i * 16 + d)] = kHex[v & 15];
  }
  return out;
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
  ctx.trace_id = std::string(trace);
  ctx.span_id = std::string(span);
  ctx.flags = static_cast<uint8_t>(std::stoi(std::string(flags), nullptr, 16));
  return ctx;
}

std::string format_traceparent(const TraceContext& ctx) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(55);
  out += "00-";
  out += ctx.trace_id;
  out += '-';
  out += ctx.span_id;
  out += '-';
  out += kHex[(ctx.flags >> 4) & 15];
  out += kHex[ctx.flags & 15];
  return out;
}

std::string new_trace_id() {
  return random_hex(2);
}
std::string new_span_id() {
  return random_hex(1);
}

}  // namespace smmf::protocol
