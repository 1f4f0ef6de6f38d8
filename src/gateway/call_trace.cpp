#include "gateway/call_trace.h"

#include <fmt/format.h>

#include "observability/metrics.h"

#include <atomic>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace smmf::gateway {
namespace json = boost::json;
namespace obs = observability;
using obs::SpanKind;

namespace {

json::object sampling_json(const protocol::GenerationParams& g) {
  json::object o;
  const auto& s = g.sampling;
  if (s.temperature) o["temperature"] = *s.temperature;
  if (s.top_p) o["top_p"] = *s.top_p;
  if (s.top_k) o["top_k"] = *s.top_k;
  if (s.min_p) o["min_p"] = *s.min_p;
  if (s.typical_p) o["typical_p"] = *s.typical_p;
  if (s.presence_penalty != 0) o["presence_penalty"] = s.presence_penalty;
  if (s.frequency_penalty != 0) o["frequency_penalty"] = s.frequency_penalty;
  if (s.repetition_penalty != 1) o["repetition_penalty"] = s.repetition_penalty;
  if (s.seed) o["seed"] = *s.seed;
  if (g.max_tokens) o["max_tokens"] = *g.max_tokens;
  if (!g.stop.empty()) o["stop"] = g.stop.size();
  o["n"] = g.n;
  o["stream"] = g.stream;
  return o;
}

// Gets the series of `family` for {model}, found once per model. Calls on several io threads may
// fill the same slot at once: they store the same pointer, and release/acquire makes the series
// that obs::cached built visible to the threads that load it.
template <class Metric, class... Extra>
Metric& series(std::atomic<Metric*>& slot, prometheus::Family<Metric>& family,
               const std::string& model, Extra&&... extra) {
  Metric* m = slot.load(std::memory_order_acquire);
  if (!m) {
    m = &obs::cached(family, {{"model", model}}, std::forward<Extra>(extra)...);
    slot.store(m, std::memory_order_release);
  }
  return *m;
}

double seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

/// The {model}-labelled series a call touches, looked up once per call instead of at each use.
/// Filled lazily, so a series appears in /metrics only once it is used, as with obs::cached.
struct CallTrace::ModelSeries {
  std::atomic<prometheus::Gauge*> in_flight{nullptr};
  std::atomic<prometheus::Gauge*> queued{nullptr};
  std::atomic<prometheus::Counter*> retries{nullptr};
  std::atomic<prometheus::Counter*> prompt_tokens{nullptr};
  std::atomic<prometheus::Counter*> completion_tokens{nullptr};
  std::atomic<prometheus::Histogram*> ttft{nullptr};
  std::atomic<prometheus::Histogram*> inter_token{nullptr};
  std::atomic<prometheus::Histogram*> engine_queue{nullptr};

  // {route, model, instance, status} and {route, model} series of this model, found by a
  // short linear search (a few routes, instances and statuses per model) instead of a
  // cache-key string built and hashed per call. Under `mu`: the series are shared by every
  // io thread.
  std::mutex mu;
  struct Requests {
    std::string route, instance;
    unsigned status;
    prometheus::Counter* counter;
  };
  std::vector<Requests> requests;
  std::vector<std::pair<std::string, prometheus::Histogram*>> latency;

  prometheus::Counter& requests_of(const std::string& model, std::string_view route,
                                   const std::string& instance, unsigned status) {
    std::lock_guard lock(mu);
    for (const auto& r : requests)
      if (r.status == status && r.route == route && r.instance == instance) return *r.counter;
    auto& c = obs::cached(obs::metrics().requests, {{"route", std::string(route)},
                                                    {"model", model},
                                                    {"instance", instance},
                                                    {"status", std::to_string(status)}});
    requests.push_back({std::string(route), instance, status, &c});
    return c;
  }
  prometheus::Histogram& latency_of(const std::string& model, std::string_view route) {
    std::lock_guard lock(mu);
    for (const auto& [r, h] : latency)
      if (r == route) return *h;
    auto& h = obs::cached(obs::metrics().latency, {{"route", std::string(route)}, {"model", model}},
                          obs::latency_buckets());
    latency.emplace_back(std::string(route), &h);
    return h;
  }

  // One per model for the whole process, bounded by the configured models (only a model that
  // exists gets here: begin_attempt). Shared, not per thread: a call's coroutine resumes on
  // whichever io thread runs its strand, so the thread that looked the series up is not the
  // only one using them (TSan: two calls filling one thread's slot from two threads), and a
  // call may end after that thread has exited. Never freed, for the same reason. Each thread
  // keeps the pointers it has seen, so the lock is taken once per thread and model.
  static ModelSeries& of(const std::string& model) {
    thread_local std::unordered_map<std::string, ModelSeries*> seen;
    ModelSeries*& s = seen[model];
    if (!s) {
      static std::mutex mu;
      static auto* all = new std::unordered_map<std::string, ModelSeries>();
      std::lock_guard lock(mu);
      s = &(*all)[model];  // unordered_map nodes stay put as it grows
    }
    return *s;
  }
};

CallTrace::CallTrace(net::HttpExchange& ex, obs::Tracer* tracer, engines::CallContext& ctx)
    : ex_(ex),
      tracer_(tracer && tracer->exporting() ? tracer : nullptr),
      ctx_(ctx),
      route_(ex.target_path()) {
  auto parent = protocol::parse_traceparent(ex.header("traceparent"));
  server_ctx_.trace_id = parent ? parent->trace_id : protocol::random_trace_id();
  server_ctx_.span_id = protocol::random_span_id();
  server_ctx_.flags = parent ? parent->flags : uint8_t{1};
  server_.kind = SpanKind::kServer;
  if (tracer_) {  // the span's contents only matter when it is exported
    server_.trace_id = server_ctx_.trace_id.str();
    server_.span_id = server_ctx_.span_id.str();
    if (parent) server_.parent_span_id = parent->span_id.str();
    server_.service = tracer_->service();
    server_.start_us = obs::unix_micros();
    server_.name = std::string(ex.request().method_string());
    server_.name += ' ';
    server_.name += route_;
    server_.attributes["route"] = route_;
  }
  ctx_.trace = server_ctx_;
  ex.add_response_header("x-trace-id", server_ctx_.trace_id);
  std::array<char, 55> traceparent;
  ex.add_response_header("traceparent", protocol::format_traceparent(server_ctx_, traceparent));
}

void CallTrace::start_request(const std::string& model, const std::string& response_id) {
  model_ = model;
  if (!tracer_) return;
  server_.attributes["model"] = model;
  server_.attributes["response_id"] = response_id;
}

void CallTrace::set_request(const protocol::ChatRequest& req, const std::string& response_id) {
  start_request(req.model, response_id);
  if (!tracer_) return;
  server_.attributes["sampling"] = sampling_json(req.gen);
  if (tracer_->capture() != obs::CaptureMode::kOff) {
    json::array msgs;
    for (const auto& m : req.messages) {
      json::object o;
      o["role"] = m.role;
      o["content"] = tracer_->capture_text(m.content);
      msgs.push_back(std::move(o));
    }
    server_.attributes["input"] = std::move(msgs);
  }
}

void CallTrace::set_request(const protocol::CompletionRequest& req,
                            const std::string& response_id) {
  start_request(req.model, response_id);
  if (!tracer_) return;
  server_.attributes["sampling"] = sampling_json(req.gen);
  if (tracer_->capture() != obs::CaptureMode::kOff) {
    json::array prompts;
    for (const auto& p : req.prompts) prompts.push_back(tracer_->capture_text(p));
    server_.attributes["input"] = std::move(prompts);
  }
}

void CallTrace::set_request(const protocol::EmbeddingRequest& req, const std::string& response_id) {
  start_request(req.model, response_id);
  if (!tracer_) return;
  server_.attributes["inputs"] = req.inputs.size();
  if (tracer_->capture() != obs::CaptureMode::kOff) {
    json::array inputs;
    for (const auto& p : req.inputs) inputs.push_back(tracer_->capture_text(p));
    server_.attributes["input"] = std::move(inputs);
  }
}

void CallTrace::set_request(const protocol::RerankRequest& req, const std::string& response_id) {
  start_request(req.model, response_id);
  if (!tracer_) return;
  server_.attributes["documents"] = req.documents.size();
  if (tracer_->capture() != obs::CaptureMode::kOff) {
    json::object input;
    input["query"] = tracer_->capture_text(req.query);
    json::array docs;
    for (const auto& d : req.documents) docs.push_back(tracer_->capture_text(d));
    input["documents"] = std::move(docs);
    server_.attributes["input"] = std::move(input);
  }
}

obs::Span CallTrace::child(std::string name, SpanKind kind, const std::string& parent) const {
  obs::Span s;
  s.trace_id = server_.trace_id;
  s.span_id = protocol::new_span_id();
  s.parent_span_id = parent;
  s.name = std::move(name);
  s.kind = kind;
  s.service = server_.service;
  s.attributes["model"] = model_;
  return s;
}

void CallTrace::begin_attempt(const std::string& instance, const engines::Engine& engine) {
  instance_ = instance;
  engine_ = engine.info().engine;
  if (!counted_) {  // the model exists: its label is bounded by the configured models
    counted_ = queued_ = true;
    series_ = &ModelSeries::of(model_);
    series(series_->in_flight, obs::metrics().in_flight, model_).Increment();
    series(series_->queued, obs::metrics().queued, model_).Increment();
  }
  ++attempts_;
  if (!tracer_) return;  // the engine keeps the server span's context (ctx_.trace)
  attempt_ = child("attempt", SpanKind::kClient, server_.span_id);
  attempt_->start_us = obs::unix_micros();
  attempt_->attributes["instance"] = instance;
  attempt_->attributes["engine"] = engine_;
  attempt_->attributes["attempt"] = attempts_ - 1;
  ctx_.trace = {server_ctx_.trace_id, protocol::SpanId(attempt_->span_id), server_ctx_.flags};
}

void CallTrace::end_attempt(const Status& outcome, bool retrying) {
  if (retrying && series_) series(series_->retries, obs::metrics().retries, model_).Increment();
  if (!attempt_) return;
  attempt_->end_us = obs::unix_micros();
  if (!outcome) {
    attempt_->error = true;
    attempt_->error_message = outcome.error().message;
  }
  if (retrying) attempt_->attributes["retried"] = true;
  last_attempt_id_ = attempt_->span_id;
  last_attempt_end_us_ = attempt_->end_us;
  tracer_->record(std::move(*attempt_));
  attempt_.reset();
  ctx_.trace = server_ctx_;
}

void CallTrace::first_token() {
  auto now = std::chrono::steady_clock::now();
  if (!first_token_) {
    first_token_ = now;
    if (queued_) {
      queued_ = false;
      series(series_->queued, obs::metrics().queued, model_).Decrement();
    }
  }
  last_token_ = now;
}

void CallTrace::on_deltas(std::span<const protocol::Delta> deltas) {
  if (!tracer_) {
    for (const auto& d : deltas)
      if (!d.text.empty()) return first_token();
    return;
  }
  const bool keep = tracer_->capture() == obs::CaptureMode::kFull;
  for (const auto& d : deltas) {
    if (!d.text.empty()) first_token();
    auto i = static_cast<size_t>(d.index);
    if (i >= 1024) continue;  // n is bounded far below by the engines; keep memory bounded too
    if (outputs_.size() <= i) {
      outputs_.resize(i + 1);
      output_chars_.resize(i + 1, 0);
      finish_.resize(i + 1);
    }
    output_chars_[i] += d.text.size();
    if (keep && outputs_[i].size() <= 65536) outputs_[i] += d.text;
    if (d.finish_reason) finish_[i] = std::string(protocol::to_string(*d.finish_reason));
  }
}

void CallTrace::set_result(const protocol::GenerationResult& r) {
  usage_ = r.usage;
  if (tracer_ && !r.choices.empty()) {
    outputs_.clear();
    output_chars_.clear();
    finish_.clear();
    for (const auto& c : r.choices) {
      outputs_.push_back(c.text);
      output_chars_.push_back(c.text.size());
      finish_.emplace_back(protocol::to_string(c.finish_reason));
    }
  }
  if (r.timings.reported()) {
    timings_ = r.timings;
    record_engine_spans(r.timings, r.usage.completion_tokens);
  }
}

void CallTrace::set_result(const protocol::EmbeddingResult& r) {
  usage_.prompt_tokens = r.prompt_tokens;
}

void CallTrace::set_error(const Error& e) {
  server_.error = true;
  server_.error_message = e.message;
}

void CallTrace::record_engine_spans(const protocol::EngineTimings& t, int completion_tokens) {
  if (t.queue_us > 0 && series_)
    series(series_->engine_queue, obs::metrics().engine_queue, model_, obs::latency_buckets())
        .Observe(static_cast<double>(t.queue_us) / 1e6);
  if (!tracer_ || last_attempt_id_.empty()) return;
  // The engine ran at the end of the attempt: lay its phases back from the attempt's end.
  const int64_t end = last_attempt_end_us_;
  const int64_t start = end - t.queue_us - t.prompt_us - t.decode_us;
  auto engine = child("engine", SpanKind::kInternal, last_attempt_id_);
  engine.start_us = start;
  engine.end_us = end;
  engine.attributes["engine"] = engine_;
  engine.attributes["instance"] = instance_;
  engine.attributes["queue_ms"] = static_cast<double>(t.queue_us) / 1000.0;
  engine.attributes["prompt_ms"] = static_cast<double>(t.prompt_us) / 1000.0;
  engine.attributes["decode_ms"] = static_cast<double>(t.decode_us) / 1000.0;
  engine.attributes["prompt_tokens"] = usage_.prompt_tokens;
  engine.attributes["completion_tokens"] = completion_tokens;
  if (t.decode_us > 0 && completion_tokens > 1)
    engine.attributes["tokens_per_s"] =
        static_cast<double>(completion_tokens - 1) / (static_cast<double>(t.decode_us) / 1e6);
  int64_t at = start;
  for (auto [name, us] : {std::pair{"queue", t.queue_us}, std::pair{"prompt", t.prompt_us},
                          std::pair{"decode", t.decode_us}}) {
    auto phase = child(name, SpanKind::kInternal, engine.span_id);
    phase.start_us = at;
    phase.end_us = at + us;
    at += us;
    tracer_->record(std::move(phase));
  }
  tracer_->record(std::move(engine));
}

CallTrace::~CallTrace() {
  auto now = std::chrono::steady_clock::now();
  if (tracer_) server_.end_us = obs::unix_micros();
  const unsigned status = ex_.status();
  const double latency = seconds(now - started_);
  auto& m = obs::metrics();
  if (counted_) {
    series(series_->in_flight, m.in_flight, model_).Decrement();
    if (queued_) series(series_->queued, m.queued, model_).Decrement();
  }
  if (counted_ && series_) {
    static const std::string kNone = "-";
    series_->requests_of(model_, route_, instance_.empty() ? kNone : instance_, status).Increment();
    series_->latency_of(model_, route_).Observe(latency);
  } else {
    const std::string route(route_);
    const std::string model = counted_ ? model_ : std::string("-");
    obs::cached(m.requests, {{"route", route},
                             {"model", model},
                             {"instance", instance_.empty() ? "-" : instance_},
                             {"status", std::to_string(status)}})
        .Increment();
    obs::cached(m.latency, {{"route", route}, {"model", model}}, obs::latency_buckets())
        .Observe(latency);
  }

  // Time to first token: as streamed, else what the engine reports (all but decoding).
  std::optional<double> ttft, tps;
  if (first_token_) {
    ttft = seconds(*first_token_ - started_);
    if (usage_.completion_tokens > 1 && last_token_ > first_token_)
      tps = (usage_.completion_tokens - 1) / seconds(*last_token_ - *first_token_);
  } else if (timings_ && usage_.completion_tokens > 0) {
    ttft = std::max(0.0, latency - static_cast<double>(timings_->decode_us) / 1e6);
    if (usage_.completion_tokens > 1 && timings_->decode_us > 0)
      tps = (usage_.completion_tokens - 1) / (static_cast<double>(timings_->decode_us) / 1e6);
  }
  if (counted_ && status == 200) {
    auto& s = *series_;
    if (ttft) series(s.ttft, m.ttft, model_, obs::latency_buckets()).Observe(*ttft);
    if (tps && *tps > 0)
      series(s.inter_token, m.inter_token, model_, obs::latency_buckets()).Observe(1.0 / *tps);
    if (usage_.prompt_tokens > 0)
      series(s.prompt_tokens, m.prompt_tokens, model_).Increment(usage_.prompt_tokens);
    if (usage_.completion_tokens > 0)
      series(s.completion_tokens, m.completion_tokens, model_).Increment(usage_.completion_tokens);
  }
  if (!tracer_) return;
  auto& a = server_.attributes;
  a["status"] = status;
  if (!instance_.empty()) a["instance"] = instance_;
  if (!engine_.empty()) a["engine"] = engine_;
  a["attempts"] = attempts_;
  a["prompt_tokens"] = usage_.prompt_tokens;
  a["completion_tokens"] = usage_.completion_tokens;
  if (usage_.cached_tokens) a["cached_tokens"] = usage_.cached_tokens;
  if (ttft) a["ttft_ms"] = *ttft * 1000.0;
  if (tps) a["tokens_per_s"] = *tps;
  a["latency_ms"] = latency * 1000.0;
  if (!finish_.empty()) {
    json::array fr;
    for (const auto& f : finish_) fr.emplace_back(f);
    a["finish_reason"] = finish_.size() == 1 ? json::value(finish_[0]) : json::value(fr);
  }
  if (tracer_->capture() != obs::CaptureMode::kOff && !output_chars_.empty()) {
    json::array out;
    for (size_t i = 0; i < output_chars_.size(); ++i) {
      if (tracer_->capture() == obs::CaptureMode::kFull)
        out.push_back(tracer_->capture_text(outputs_[i]));
      else
        out.emplace_back(fmt::format("[redacted: {} chars]", output_chars_[i]));
    }
    a["output"] = out.size() == 1 ? out[0] : json::value(std::move(out));
  }
  if (status >= 400 && !server_.error) {
    server_.error = true;
    server_.error_message = fmt::format("HTTP {}", status);
  }
  tracer_->record(std::move(server_));
}

}  // namespace smmf::gateway
