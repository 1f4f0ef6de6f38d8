#pragma once
/// Queries over the JSONL span files of a trace folder (what `smmf trace` and the JSON API
/// answer): list traces with filters, one trace's spans, per-model statistics. Every query
/// reads the files afresh (bounded by max_files x max_file_bytes); unreadable lines are
/// skipped. Blocking file I/O: call off the I/O threads.
#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "observability/span.h"

namespace smmf::observability {

/// One trace, summed up from its root span (the span whose parent is not in the trace).
struct TraceSummary {
  std::string trace_id;
  std::string response_id;
  std::string name;     ///< root span name, e.g. "POST /v1/chat/completions"
  std::string service;  ///< root span's service
  std::string model;
  std::string instance;
  int status = 0;  ///< HTTP status of the root span (0 when unknown)
  bool error = false;
  std::string error_message;
  int64_t start_us = 0;
  double duration_ms = 0;
  std::optional<double> ttft_ms;
  std::optional<double> tokens_per_s;
  int prompt_tokens = 0;
  int completion_tokens = 0;
  int spans = 0;
};

struct TraceFilter {
  int64_t since_us = 0;  ///< root start >= since (0 = any)
  int64_t until_us = 0;  ///< root start <= until (0 = any)
  std::string model;
  std::string instance;  ///< any span of the trace ran on it
  std::string status;    ///< "ok", "error", or an HTTP status code ("429")
  double min_latency_ms = 0;
  std::string text;   ///< case-insensitive substring of any span's name, attributes or error
  size_t limit = 50;  ///< newest first
};

struct ModelStats {
  std::string model;
  size_t count = 0;
  size_t errors = 0;
  double error_rate = 0;
  double latency_p50 = 0, latency_p95 = 0, latency_p99 = 0;  ///< ms
  std::optional<double> ttft_p50, ttft_p95, ttft_p99;        ///< ms
  std::optional<double> tokens_per_s;                        ///< mean over calls with tokens
};

class TraceQuery {
 public:
  explicit TraceQuery(std::string dir) : dir_(std::move(dir)) {}

  /// Newest first. NotFound when the folder does not exist.
  Result<std::vector<TraceSummary>> list(const TraceFilter& f) const;
  /// The spans of one trace, by trace id or response id, sorted by start. NotFound if none.
  Result<std::vector<Span>> find(const std::string& id) const;
  /// Per model, over root spans in [since, until] (filter's model narrows it).
  Result<std::vector<ModelStats>> stats(const TraceFilter& f) const;

 private:
  Result<std::vector<Span>> load_all() const;
  std::string dir_;
};

TraceSummary summarize(const std::vector<Span>& spans);  ///< spans of one trace
/// The root span of one trace's spans (nullptr if empty).
const Span* root_of(const std::vector<Span>& spans);
/// q-quantile (0..1) of `values` by nearest rank; 0 for none.
double quantile(std::vector<double> values, double q);

boost::json::object summary_json(const TraceSummary& s);
boost::json::object stats_json(const ModelStats& s);

}  // namespace smmf::observability
