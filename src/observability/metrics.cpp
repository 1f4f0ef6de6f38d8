#include "observability/metrics.h"

#include <prometheus/text_serializer.h>

#include <list>

namespace smmf::observability {
namespace prom = prometheus;

namespace {

template <class B>
auto& family(B builder, prom::Registry& r, const char* name, const char* help) {
  return builder.Name(name).Help(help).Register(r);
}

}  // namespace

const prom::Histogram::BucketBoundaries& latency_buckets() {
  static const prom::Histogram::BucketBoundaries b{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                   1,     2.5,  5,     10,   30,  60,   120};
  return b;
}

void ScrapeBuilder::gauge(const std::string& name, const std::string& help,
                          std::map<std::string, std::string> labels, double value) {
  prom::MetricFamily* fam = nullptr;
  for (auto& f : families_)
    if (f.name == name) fam = &f;
  if (!fam) {
    families_.push_back({name, help, prom::MetricType::Gauge, {}});
    fam = &families_.back();
  }
  prom::ClientMetric m;
  for (auto& [k, v] : labels) m.label.push_back({k, v});
  m.gauge.value = value;
  fam->metric.push_back(std::move(m));
}

std::vector<prom::MetricFamily> ScrapeBuilder::take() {
  return std::move(families_);
}

struct Metrics::Hooks {
  std::mutex mu;
  std::list<std::function<void(ScrapeBuilder&)>> list;
};

Metrics::Metrics() : Metrics(std::make_shared<prom::Registry>()) {}

Metrics::Metrics(std::shared_ptr<prom::Registry> r)
    : http_requests(family(prom::BuildCounter(), *r, "smmf_http_requests_total",
                           "HTTP requests answered by this process, by method and status code")),
      http_duration(family(prom::BuildHistogram(), *r, "smmf_http_request_duration_seconds",
                           "Time to answer an HTTP request (any route), by method")),
      requests(family(prom::BuildCounter(), *r, "smmf_requests_total",
                      "OpenAI API calls by route, model, instance that answered and HTTP status")),
      latency(family(prom::BuildHistogram(), *r, "smmf_request_duration_seconds",
                     "OpenAI API call latency, request to last byte, by route and model")),
      ttft(family(prom::BuildHistogram(), *r, "smmf_time_to_first_token_seconds",
                  "Request to first generated text, by model")),
      inter_token(family(prom::BuildHistogram(), *r, "smmf_inter_token_latency_seconds",
                         "Mean gap between generated tokens of a call (decode time / tokens)")),
      engine_queue(family(prom::BuildHistogram(), *r, "smmf_engine_queue_seconds",
                          "Time a call waited in an in-process engine's queue for a slot")),
      prompt_tokens(family(prom::BuildCounter(), *r, "smmf_prompt_tokens_total",
                           "Prompt tokens processed, by model")),
      completion_tokens(family(prom::BuildCounter(), *r, "smmf_completion_tokens_total",
                               "Completion tokens generated, by model")),
      in_flight(family(prom::BuildGauge(), *r, "smmf_requests_in_flight",
                       "OpenAI API calls being answered now, by model")),
      queued(family(prom::BuildGauge(), *r, "smmf_requests_queued",
                    "Calls accepted but without their first token yet (waiting in an engine "
                    "queue or reading the prompt), by model")),
      retries(family(prom::BuildCounter(), *r, "smmf_retries_total",
                     "Calls retried on another instance after a failure, by model")),
      ejections(family(prom::BuildCounter(), *r, "smmf_ejections_total",
                       "Instances ejected from routing after consecutive failures")),
      feedback(family(prom::BuildCounter(), *r, "smmf_feedback_total",
                      "Feedback records stored, by score")),
      spans_dropped(family(prom::BuildCounter(), *r, "smmf_spans_dropped_total",
                           "Finished spans dropped: the export queue was full or the trace file "
                           "could not be written")
                        .Add({})),
      spans_written(family(prom::BuildCounter(), *r, "smmf_spans_exported_total",
                           "Finished spans written to the trace files or sent to a collector")
                        .Add({})),
      otlp_failures(family(prom::BuildCounter(), *r, "smmf_otlp_export_failures_total",
                           "Batches of spans an OTLP collector did not accept")
                        .Add({})),
      trace_write_failures(family(prom::BuildCounter(), *r, "smmf_trace_write_failures_total",
                                  "Writes or opens of a trace file that failed (e.g. disk full)")
                               .Add({})),
      registry_(std::move(r)),
      hooks_(std::make_shared<Hooks>()) {}

std::shared_ptr<void> Metrics::on_scrape(std::function<void(ScrapeBuilder&)> hook) {
  std::lock_guard lock(hooks_->mu);
  auto it = hooks_->list.insert(hooks_->list.end(), std::move(hook));
  std::weak_ptr<Hooks> weak = hooks_;
  return std::shared_ptr<void>(nullptr, [weak, it](void*) {
    if (auto h = weak.lock()) {
      std::lock_guard guard(h->mu);
      h->list.erase(it);
    }
  });
}

std::string Metrics::serialize() const {
  auto families = registry_->Collect();
  ScrapeBuilder b;
  {
    std::lock_guard lock(hooks_->mu);
    for (auto& hook : hooks_->list) hook(b);
  }
  for (auto& f : b.take()) families.push_back(std::move(f));
  return prom::TextSerializer().Serialize(families);
}

Metrics& metrics() {
  static Metrics m;
  return m;
}

namespace {
// The cache key: the family's address, then each label's name and value, NUL-separated.
void* cached_metric(void* family, Labels labels, const std::function<void*()>& add) {
  thread_local std::unordered_map<std::string, void*> cache;
  thread_local std::string key;
  key.assign(reinterpret_cast<const char*>(&family), sizeof(family));
  for (const auto& [k, v] : labels) {
    key += k;
    key += '\0';
    key += v;
    key += '\0';
  }
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  void* m = add();
  cache.emplace(key, m);
  return m;
}

std::map<std::string, std::string> label_map(Labels labels) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : labels) out.emplace(k, v);
  return out;
}
}  // namespace

prom::Counter& cached(prom::Family<prom::Counter>& family, Labels labels) {
  return *static_cast<prom::Counter*>(
      cached_metric(&family, labels, [&]() -> void* { return &family.Add(label_map(labels)); }));
}

prom::Gauge& cached(prom::Family<prom::Gauge>& family, Labels labels) {
  return *static_cast<prom::Gauge*>(
      cached_metric(&family, labels, [&]() -> void* { return &family.Add(label_map(labels)); }));
}

prom::Histogram& cached(prom::Family<prom::Histogram>& family, Labels labels,
                        const prom::Histogram::BucketBoundaries& buckets) {
  return *static_cast<prom::Histogram*>(cached_metric(
      &family, labels, [&]() -> void* { return &family.Add(label_map(labels), buckets); }));
}

}  // namespace smmf::observability
