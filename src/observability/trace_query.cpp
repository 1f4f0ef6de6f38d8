#include "observability/trace_query.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "observability/span_json.h"

namespace smmf::observability {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::string attr_str(const Span& s, std::string_view key) {
  if (auto* v = s.attributes.if_contains(key); v && v->is_string())
    return std::string(v->get_string());
  return {};
}

std::optional<double> attr_num(const Span& s, std::string_view key) {
  if (auto* v = s.attributes.if_contains(key)) {
    if (v->is_double()) return v->get_double();
    if (v->is_int64()) return static_cast<double>(v->get_int64());
    if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  }
  return std::nullopt;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::map<std::string, std::vector<Span>> by_trace(std::vector<Span> spans) {
  std::map<std::string, std::vector<Span>> out;
  for (auto& s : spans) out[s.trace_id].push_back(std::move(s));
  return out;
}

bool matches(const TraceSummary& t, const std::vector<Span>& spans, const TraceFilter& f) {
  if (f.since_us && t.start_us < f.since_us) return false;
  if (f.until_us && t.start_us > f.until_us) return false;
  if (!f.model.empty() && t.model != f.model) return false;
  if (f.min_latency_ms > 0 && t.duration_ms < f.min_latency_ms) return false;
  if (!f.status.empty()) {
    if (f.status == "ok" && t.error) return false;
    if (f.status == "error" && !t.error) return false;
    if (f.status != "ok" && f.status != "error" && std::to_string(t.status) != f.status)
      return false;
  }
  if (!f.instance.empty()) {
    bool any = false;
    for (const auto& s : spans) any = any || attr_str(s, "instance") == f.instance;
    if (!any) return false;
  }
  if (!f.text.empty()) {
    std::string needle = lower(f.text);
    bool any = false;
    for (const auto& s : spans) {
      if (any) break;
      any = lower(s.name).find(needle) != std::string::npos ||
            lower(s.error_message).find(needle) != std::string::npos ||
            lower(json::serialize(s.attributes)).find(needle) != std::string::npos;
    }
    if (!any) return false;
  }
  return true;
}

}  // namespace

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

const Span* root_of(const std::vector<Span>& spans) {
  std::set<std::string> ids;
  for (const auto& s : spans) ids.insert(s.span_id);
  const Span* root = nullptr;
  for (const auto& s : spans) {
    if (!s.parent_span_id.empty() && ids.count(s.parent_span_id)) continue;
    if (!root || s.start_us < root->start_us) root = &s;
  }
  return root;
}

TraceSummary summarize(const std::vector<Span>& spans) {
  TraceSummary t;
  t.spans = static_cast<int>(spans.size());
  const Span* root = root_of(spans);
  if (!root) return t;
  t.trace_id = root->trace_id;
  t.name = root->name;
  t.service = root->service;
  t.start_us = root->start_us;
  t.duration_ms = root->duration_ms();
  t.error = root->error;
  t.error_message = root->error_message;
  t.response_id = attr_str(*root, "response_id");
  t.model = attr_str(*root, "model");
  t.instance = attr_str(*root, "instance");
  t.status = static_cast<int>(attr_num(*root, "status").value_or(0));
  t.ttft_ms = attr_num(*root, "ttft_ms");
  t.tokens_per_s = attr_num(*root, "tokens_per_s");
  t.prompt_tokens = static_cast<int>(attr_num(*root, "prompt_tokens").value_or(0));
  t.completion_tokens = static_cast<int>(attr_num(*root, "completion_tokens").value_or(0));
  return t;
}

Result<std::vector<Span>> TraceQuery::load_all() const {
  std::error_code ec;
  if (dir_.empty() || !fs::is_directory(dir_, ec))
    return Error::not_found(fmt::format("trace folder '{}' does not exist", dir_));
  std::vector<Span> spans;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    if (e.path().extension() != ".jsonl") continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      boost::system::error_code jec;
      auto v = json::parse(line, jec);
      if (jec) continue;  // a line cut by a crash or a concurrent write
      if (auto s = span_from_json(v)) spans.push_back(std::move(*s));
    }
  }
  return spans;
}

Result<std::vector<TraceSummary>> TraceQuery::list(const TraceFilter& f) const {
  auto spans = load_all();
  if (!spans) return spans.error();
  std::vector<TraceSummary> out;
  for (auto& [id, list] : by_trace(std::move(*spans))) {
    auto t = summarize(list);
    if (matches(t, list, f)) out.push_back(std::move(t));
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.start_us > b.start_us; });
  if (f.limit > 0 && out.size() > f.limit) out.resize(f.limit);
  return out;
}

Result<std::vector<Span>> TraceQuery::find(const std::string& id) const {
  auto spans = load_all();
  if (!spans) return spans.error();
  std::string trace_id = id;
  if (trace_id.size() != 32) {  // a response id: find the trace that recorded it
    trace_id.clear();
    for (const auto& s : *spans)
      if (attr_str(s, "response_id") == id) trace_id = s.trace_id;
  }
  std::vector<Span> out;
  for (auto& s : *spans)
    if (!trace_id.empty() && s.trace_id == trace_id) out.push_back(std::move(s));
  if (out.empty()) return Error::not_found(fmt::format("no trace '{}'", id), "id");
  std::sort(out.begin(), out.end(), [](const Span& a, const Span& b) {
    return a.start_us != b.start_us ? a.start_us < b.start_us : a.end_us > b.end_us;
  });
  return out;
}

Result<std::vector<ModelStats>> TraceQuery::stats(const TraceFilter& f) const {
  auto spans = load_all();
  if (!spans) return spans.error();
  struct Acc {
    size_t count = 0, errors = 0;
    std::vector<double> latency, ttft, tps;
  };
  std::map<std::string, Acc> acc;
  TraceFilter scope;
  scope.since_us = f.since_us;
  scope.until_us = f.until_us;
  scope.model = f.model;
  for (auto& [id, list] : by_trace(std::move(*spans))) {
    auto t = summarize(list);
    if (t.model.empty() || !matches(t, list, scope)) continue;
    auto& a = acc[t.model];
    ++a.count;
    if (t.error) ++a.errors;
    a.latency.push_back(t.duration_ms);
    if (t.ttft_ms) a.ttft.push_back(*t.ttft_ms);
    if (t.tokens_per_s) a.tps.push_back(*t.tokens_per_s);
  }
  std::vector<ModelStats> out;
  for (auto& [model, a] : acc) {
    ModelStats s;
    s.model = model;
    s.count = a.count;
    s.errors = a.errors;
    s.error_rate = a.count ? static_cast<double>(a.errors) / static_cast<double>(a.count) : 0;
    s.latency_p50 = quantile(a.latency, 0.5);
    s.latency_p95 = quantile(a.latency, 0.95);
    s.latency_p99 = quantile(a.latency, 0.99);
    if (!a.ttft.empty()) {
      s.ttft_p50 = quantile(a.ttft, 0.5);
      s.ttft_p95 = quantile(a.ttft, 0.95);
      s.ttft_p99 = quantile(a.ttft, 0.99);
    }
    if (!a.tps.empty()) {
      double sum = 0;
      for (double v : a.tps) sum += v;
      s.tokens_per_s = sum / static_cast<double>(a.tps.size());
    }
    out.push_back(std::move(s));
  }
  return out;
}

boost::json::object summary_json(const TraceSummary& s) {
  json::object o;
  o["trace_id"] = s.trace_id;
  o["response_id"] = s.response_id;
  o["name"] = s.name;
  o["service"] = s.service;
  o["model"] = s.model;
  o["instance"] = s.instance;
  o["status"] = s.status;
  o["error"] = s.error;
  if (s.error) o["error_message"] = s.error_message;
  o["start_us"] = s.start_us;
  o["duration_ms"] = s.duration_ms;
  o["ttft_ms"] = s.ttft_ms ? json::value(*s.ttft_ms) : json::value(nullptr);
  o["tokens_per_s"] = s.tokens_per_s ? json::value(*s.tokens_per_s) : json::value(nullptr);
  o["prompt_tokens"] = s.prompt_tokens;
  o["completion_tokens"] = s.completion_tokens;
  o["spans"] = s.spans;
  return o;
}

boost::json::object stats_json(const ModelStats& s) {
  auto opt = [](const std::optional<double>& v) {
    return v ? json::value(*v) : json::value(nullptr);
  };
  json::object o;
  o["model"] = s.model;
  o["count"] = s.count;
  o["errors"] = s.errors;
  o["error_rate"] = s.error_rate;
  json::object lat;
  lat["p50"] = s.latency_p50;
  lat["p95"] = s.latency_p95;
  lat["p99"] = s.latency_p99;
  o["latency_ms"] = std::move(lat);
  json::object ttft;
  ttft["p50"] = opt(s.ttft_p50);
  ttft["p95"] = opt(s.ttft_p95);
  ttft["p99"] = opt(s.ttft_p99);
  o["ttft_ms"] = std::move(ttft);
  o["tokens_per_s"] = opt(s.tokens_per_s);
  return o;
}

}  // namespace smmf::observability
