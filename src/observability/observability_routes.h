#pragma once
/// HTTP routes of observability. On every role: GET /metrics (Prometheus text format).
/// On the API server (and serve): POST /v1/feedback, and the JSON API the dashboard reads:
///   GET /api/v1/traces?since=&until=&model=&instance=&status=&min_latency_ms=&q=&limit=
///   GET /api/v1/traces/{trace id | response id}   spans + feedback
///   GET /api/v1/stats?since=&until=&model=          per-model statistics
/// (times in unix milliseconds). Trace files are read and feedback written on a thread of
/// its own, never on an I/O thread. Errors are OpenAI-shaped.
/// Lifetime: outlives the server that routes to it (it owns that thread).
#include <boost/asio/thread_pool.hpp>

#include <memory>
#include <string>

#include "net/router.h"
#include "observability/feedback_store.h"
#include "observability/trace_query.h"

namespace smmf::observability {

/// GET /metrics: the process's metrics().
void install_metrics_route(net::Router& router);

class ObservabilityRoutes {
 public:
  /// `trace_dir` empty: the trace API answers that tracing to files is off; `feedback` null:
  /// POST /v1/feedback answers that feedback is off.
  ObservabilityRoutes(std::string trace_dir, std::shared_ptr<FeedbackStore> feedback);
  ~ObservabilityRoutes();
  void install(net::Router& router);

 private:
  boost::asio::awaitable<void> post_feedback(net::HttpExchange& ex);
  boost::asio::awaitable<void> list_traces(net::HttpExchange& ex);
  boost::asio::awaitable<void> get_trace(net::HttpExchange& ex);
  boost::asio::awaitable<void> get_stats(net::HttpExchange& ex);

  std::string trace_dir_;
  std::shared_ptr<FeedbackStore> feedback_;
  boost::asio::thread_pool pool_{1};
};

/// A trace with its feedback, as GET /api/v1/traces/{id} answers it.
boost::json::object trace_detail_json(const std::vector<Span>& spans,
                                      const std::vector<Feedback>& feedback);

}  // namespace smmf::observability
