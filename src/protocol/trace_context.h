#pragma once
/// W3C Trace Context (`traceparent: 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`):
/// parsed from clients, propagated to workers, returned in responses. Pure functions; the id
/// generators are thread-safe (thread-local engines).
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace smmf::protocol {

/// A trace or span id's lowercase hex digits, held inline (a call's ids cost no allocation);
/// all '\0' = not set.
template <size_t N>
class HexId {
 public:
  HexId() = default;
  /// `hex` must be N hex digits (else the id stays unset).
  HexId(std::string_view hex) {  // NOLINT(google-explicit-constructor): ids read as text
    if (hex.size() == N) hex.copy(digits_.data(), N);
  }
  bool empty() const { return digits_[0] == '\0'; }
  size_t size() const { return empty() ? 0 : N; }
  std::string_view view() const { return {digits_.data(), size()}; }
  operator std::string_view() const { return view(); }  // NOLINT(google-explicit-constructor)
  std::string str() const { return std::string(view()); }
  char* data() { return digits_.data(); }
  friend bool operator==(const HexId& a, const HexId& b) { return a.view() == b.view(); }
  friend bool operator==(const HexId& a, std::string_view b) { return a.view() == b; }

 private:
  std::array<char, N> digits_{};
};
using TraceId = HexId<32>;
using SpanId = HexId<16>;

struct TraceContext {
  TraceId trace_id;   ///< 32 lowercase hex digits, not all zero
  SpanId span_id;     ///< 16 lowercase hex digits: the span a callee parents to
  uint8_t flags = 1;  ///< bit 0: sampled
  bool valid() const { return !trace_id.empty() && !span_id.empty(); }
};

/// Parses a `traceparent` header; nullopt when malformed (the header is then ignored, per spec).
std::optional<TraceContext> parse_traceparent(std::string_view header);
std::string format_traceparent(const TraceContext& ctx);
/// The same text written into `out` (no allocation); returns it.
std::string_view format_traceparent(const TraceContext& ctx, std::array<char, 55>& out);
TraceId random_trace_id();   ///< 128 random bits, never all zero
SpanId random_span_id();     ///< 64 random bits, never all zero
std::string new_trace_id();  ///< random_trace_id() as a string
std::string new_span_id();   ///< random_span_id() as a string

}  // namespace smmf::protocol
