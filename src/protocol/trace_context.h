#pragma once
/// W3C Trace Context (`traceparent: 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`):
/// parsed from clients, propagated to workers, returned in responses. Pure functions; the id
/// generators are thread-safe (thread-local engines).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace smmf::protocol {

struct TraceContext {
  std::string trace_id;  ///< 32 lowercase hex digits, not all zero
  std::string span_id;   ///< 16 lowercase hex digits: the span a callee parents to
  uint8_t flags = 1;     ///< bit 0: sampled
  bool valid() const { return trace_id.size() == 32 && span_id.size() == 16; }
};

/// Parses a `traceparent` header; nullopt when malformed (the header is then ignored, per spec).
std::optional<TraceContext> parse_traceparent(std::string_view header);
std::string format_traceparent(const TraceContext& ctx);
std::string new_trace_id();  ///< 128 random bits as hex
std::string new_span_id();   ///< 64 random bits as hex

}  // namespace smmf::protocol
