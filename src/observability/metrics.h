#pragma once
/// Prometheus metrics of one process (prometheus-cpp core; text exposition served by our own
/// HTTP server at GET /metrics, see metrics_route.h). One process-wide instance, `metrics()`:
/// every role records into it and serves it. The full list is in docs/observability.md.
///
/// Threading: everything is thread-safe (prometheus-cpp metrics are atomics; families and hooks
/// are guarded). Scrape hooks run on the scraping thread and must not block.
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace smmf::observability {

/// Gauges computed at scrape time from live state (model states, instance health).
class ScrapeBuilder {
 public:
  void gauge(const std::string& name, const std::string& help,
             std::map<std::string, std::string> labels, double value);
  std::vector<prometheus::MetricFamily> take();

 private:
  std::vector<prometheus::MetricFamily> families_;
};

class Metrics {
 public:
  Metrics();

  // Every role's HTTP server (recorded by the access log hook).
  prometheus::Family<prometheus::Counter>& http_requests;  ///< {method, code}
  prometheus::Family<prometheus::Histogram>& http_duration;
  // The OpenAI API (API server, serve, and a worker's own API).
  prometheus::Family<prometheus::Counter>& requests;           ///< {route, model, instance, status}
  prometheus::Family<prometheus::Histogram>& latency;          ///< {route, model}
  prometheus::Family<prometheus::Histogram>& ttft;             ///< {model}
  prometheus::Family<prometheus::Histogram>& inter_token;      ///< {model}
  prometheus::Family<prometheus::Histogram>& engine_queue;     ///< {model}
  prometheus::Family<prometheus::Counter>& prompt_tokens;      ///< {model}
  prometheus::Family<prometheus::Counter>& completion_tokens;  ///< {model}
  prometheus::Family<prometheus::Gauge>& in_flight;            ///< {model}
  prometheus::Family<prometheus::Gauge>& queued;               ///< {model}
  prometheus::Family<prometheus::Counter>& retries;            ///< {model}
  prometheus::Family<prometheus::Counter>& ejections;          ///< {model, instance}
  prometheus::Family<prometheus::Counter>& feedback;           ///< {score}
  // Tracing.
  prometheus::Counter& spans_dropped;
  prometheus::Counter& spans_written;
  prometheus::Counter& otlp_failures;
  prometheus::Counter& trace_write_failures;

  /// Registers a hook run at each scrape; it lives as long as the returned handle.
  [[nodiscard]] std::shared_ptr<void> on_scrape(std::function<void(ScrapeBuilder&)> hook);
  /// The text exposition format (version 0.0.4).
  std::string serialize() const;

 private:
  explicit Metrics(std::shared_ptr<prometheus::Registry> registry);
  std::shared_ptr<prometheus::Registry> registry_;
  struct Hooks;
  std::shared_ptr<Hooks> hooks_;
};

/// The process's metrics.
Metrics& metrics();

/// `family.Add(labels)` with a per-thread cache in front, for the per-request hot path: Add
/// builds a label map, hashes it and takes the family's lock; this looks up one string. Safe
/// because metrics are never removed from their family (their addresses stay valid).
/// `buckets` only matter for a histogram's first use.
using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;
prometheus::Counter& cached(prometheus::Family<prometheus::Counter>& family, Labels labels);
prometheus::Gauge& cached(prometheus::Family<prometheus::Gauge>& family, Labels labels);
prometheus::Histogram& cached(prometheus::Family<prometheus::Histogram>& family, Labels labels,
                              const prometheus::Histogram::BucketBoundaries& buckets);

/// Buckets (seconds) of the latency histograms.
const prometheus::Histogram::BucketBoundaries& latency_buckets();

}  // namespace smmf::observability
