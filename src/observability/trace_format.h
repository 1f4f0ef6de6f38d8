#pragma once
/// Text renderings of trace queries for `smmf trace` (pure functions, unit-tested), and the
/// parsing of its time arguments.
#include <string>
#include <vector>

#include "common/error.h"
#include "observability/feedback_store.h"
#include "observability/trace_query.h"

namespace smmf::observability {

/// A table: time, trace id, response id, model, instance, status, latency, ttft, tokens.
std::string format_trace_list(const std::vector<TraceSummary>& traces);
/// The spans as an indented tree (children under parents, by start) with offsets and
/// durations, the main attributes, inputs and outputs, then the feedback.
std::string format_trace_tree(const std::vector<Span>& spans,
                              const std::vector<Feedback>& feedback);
/// Per model: count, error rate, latency and TTFT p50/p95/p99, tokens/s.
std::string format_stats(const std::vector<ModelStats>& stats);

/// "90s", "15m", "2h", "7d" (that long before `now_us`), or unix seconds; in unix microseconds.
Result<int64_t> parse_time_arg(const std::string& s, int64_t now_us);

}  // namespace smmf::observability
