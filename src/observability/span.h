#pragma once
/// A finished span: one timed step of a traced call (an API request, an instance attempt, a
/// worker's request, an engine's queue / prompt / decode phases). Plain data, copied into the
/// exporter's queue; JSON in both directions for the JSONL files (span_json.h).
#include <boost/json/object.hpp>

#include <cstdint>
#include <string>

namespace smmf::observability {

enum class SpanKind { kInternal, kServer, kClient };
std::string_view to_string(SpanKind k);

struct Span {
  std::string trace_id;        ///< 32 hex
  std::string span_id;         ///< 16 hex
  std::string parent_span_id;  ///< empty for a root span
  std::string name;            ///< "POST /v1/chat/completions", "attempt", "engine", ...
  SpanKind kind = SpanKind::kInternal;
  std::string service;   ///< the process role: smmf-serve, smmf-apiserver, smmf-worker
  int64_t start_us = 0;  ///< unix time, microseconds
  int64_t end_us = 0;    ///< unix time, microseconds
  bool error = false;    ///< the step failed
  std::string error_message;
  /// Everything else, by name (see docs/observability.md): model, instance, engine, route,
  /// status, response_id, sampling, input, output, finish_reason, prompt_tokens,
  /// completion_tokens, ttft_ms, tokens_per_s, ...
  boost::json::object attributes;

  double duration_ms() const { return static_cast<double>(end_us - start_us) / 1000.0; }
};

/// Unix time now, microseconds.
int64_t unix_micros();

}  // namespace smmf::observability
