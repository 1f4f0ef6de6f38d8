#pragma once
/// The observability of one OpenAI API call: its spans (the server span, one per instance
/// attempt, the engine's queue / prompt / decode phases when the engine reports them) and its
/// metrics (requests, latency, time to first token, inter-token latency, tokens, in flight,
/// queued, retries). The routes call a few hooks; the destructor closes the server span with
/// the response's status.
///
/// Trace context: a valid client `traceparent` makes the server span its child (same trace id);
/// otherwise a new trace starts. `x-trace-id` and `traceparent` (this server span) are added to
/// the response; each attempt's context goes to the engine through CallContext::trace, so an
/// HTTP engine propagates it to the worker.
/// Threading: one call's coroutine only. Never blocks (spans go to the exporter's queue).
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engines/engine.h"
#include "net/http_exchange.h"
#include "observability/span.h"
#include "observability/tracer.h"
#include "protocol/openai_types.h"

namespace smmf::gateway {

class CallTrace {
 public:
  /// `tracer` may be null (no spans; metrics and headers still work). `ctx` receives each
  /// attempt's trace context and must outlive this object.
  CallTrace(net::HttpExchange& ex, observability::Tracer* tracer, engines::CallContext& ctx);
  ~CallTrace();
  CallTrace(const CallTrace&) = delete;
  CallTrace& operator=(const CallTrace&) = delete;

  void set_request(const protocol::ChatRequest& req, const std::string& response_id);
  void set_request(const protocol::CompletionRequest& req, const std::string& response_id);
  void set_request(const protocol::EmbeddingRequest& req, const std::string& response_id);
  void set_request(const protocol::RerankRequest& req, const std::string& response_id);

  /// An attempt on `instance` starts: opens its span and points ctx.trace at it.
  void begin_attempt(const std::string& instance, const engines::Engine& engine);
  /// The attempt ended; `retrying`: another instance will be tried.
  void end_attempt(const Status& outcome, bool retrying);

  void on_deltas(std::span<const protocol::Delta> deltas);  ///< streamed text as it leaves
  void set_result(const protocol::GenerationResult& r);
  void set_result(const protocol::EmbeddingResult& r);
  void set_error(const Error& e);

  const protocol::TraceContext& context() const { return server_ctx_; }

 private:
  void start_request(const std::string& model, const std::string& response_id);
  void record_engine_spans(const protocol::EngineTimings& t, int completion_tokens);
  observability::Span child(std::string name, observability::SpanKind kind,
                            const std::string& parent) const;
  void first_token();

  net::HttpExchange& ex_;
  observability::Tracer* tracer_;  ///< null when spans go nowhere (no exporter)
  engines::CallContext& ctx_;
  std::string_view route_;  ///< the request's target path (the exchange outlives this)
  observability::Span server_;
  protocol::TraceContext server_ctx_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::optional<std::chrono::steady_clock::time_point> first_token_, last_token_;
  std::string model_;
  std::string instance_;  ///< instance of the last attempt
  std::string engine_;
  struct ModelSeries;
  ModelSeries* series_ = nullptr;  ///< model_'s series, once the model exists (begin_attempt)
  bool counted_ = false;           ///< in-flight/queued gauges were raised for model_
  bool queued_ = false;
  int attempts_ = 0;
  std::optional<observability::Span> attempt_;
  std::string last_attempt_id_;
  int64_t last_attempt_end_us_ = 0;
  std::vector<std::string> outputs_;  ///< streamed text per choice (bounded)
  std::vector<size_t> output_chars_;
  std::vector<std::string> finish_;
  protocol::Usage usage_;
  std::optional<protocol::EngineTimings> timings_;
};

}  // namespace smmf::gateway
