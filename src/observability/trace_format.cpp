#include "observability/trace_format.h"

#include <boost/json/serialize.hpp>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <charconv>
#include <ctime>
#include <functional>
#include <map>

namespace smmf::observability {
namespace json = boost::json;

namespace {

std::string utc(int64_t us) {
  std::time_t t = static_cast<std::time_t>(us / 1'000'000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:%Y-%m-%d %H:%M:%S}.{:03}", tm, (us / 1000) % 1000);
}

std::string opt_ms(const std::optional<double>& v) {
  return v ? fmt::format("{:.1f}", *v) : std::string("-");
}

std::string value_text(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  return json::serialize(v);
}

// Attributes worth a line of their own in the tree, in this order.
constexpr std::string_view kShown[] = {
    "route",     "model",         "instance",          "engine",
    "status",    "response_id",   "attempt",           "retried",
    "sampling",  "prompt_tokens", "completion_tokens", "cached_tokens",
    "ttft_ms",   "tokens_per_s",  "queue_ms",          "prompt_ms",
    "decode_ms", "finish_reason"};

void indent_lines(std::string& out, const std::string& pad, std::string_view label,
                  const std::string& text) {
  out += fmt::format("{}{}: ", pad, label);
  for (char c : text) {
    out += c;
    if (c == '\n') out += pad + "  ";
  }
  out += '\n';
}

}  // namespace

std::string format_trace_list(const std::vector<TraceSummary>& traces) {
  std::string out = fmt::format(
      "{:<23}  {:<32}  {:<34}  {:<14}  {:<18}  {:>6}  {:>10}  {:>9}  {}\n", "TIME (UTC)",
      "TRACE ID", "RESPONSE ID", "MODEL", "INSTANCE", "STATUS", "LATENCY ms", "TTFT ms", "TOKENS");
  for (const auto& t : traces) {
    out += fmt::format("{:<23}  {:<32}  {:<34}  {:<14}  {:<18}  {:>6}  {:>10.1f}  {:>9}  {}+{}{}\n",
                       utc(t.start_us), t.trace_id, t.response_id.empty() ? "-" : t.response_id,
                       t.model.empty() ? "-" : t.model, t.instance.empty() ? "-" : t.instance,
                       t.status ? std::to_string(t.status) : std::string(t.error ? "error" : "-"),
                       t.duration_ms, opt_ms(t.ttft_ms), t.prompt_tokens, t.completion_tokens,
                       t.error ? fmt::format("  error: {}", t.error_message) : std::string());
  }
  if (traces.empty()) out += "(no traces)\n";
  return out;
}

std::string format_trace_tree(const std::vector<Span>& spans,
                              const std::vector<Feedback>& feedback) {
  std::string out;
  const Span* root = root_of(spans);
  if (!root) return "(no spans)\n";
  auto summary = summarize(spans);
  out += fmt::format("trace {}  response {}  started {} UTC  {:.1f} ms\n", summary.trace_id,
                     summary.response_id.empty() ? "-" : summary.response_id, utc(root->start_us),
                     summary.duration_ms);
  std::map<std::string, std::vector<const Span*>> children;
  std::map<std::string, bool> known;
  for (const auto& s : spans) known[s.span_id] = true;
  std::vector<const Span*> tops;
  for (const auto& s : spans) {
    if (!s.parent_span_id.empty() && known.count(s.parent_span_id))
      children[s.parent_span_id].push_back(&s);
    else
      tops.push_back(&s);
  }
  const int64_t t0 = root->start_us;
  std::function<void(const Span&, int)> print = [&](const Span& s, int depth) {
    std::string pad(static_cast<size_t>(depth) * 2, ' ');
    out += fmt::format("{}{} [{}] +{:.1f} ms  {:.1f} ms{}\n", pad, s.name, s.service,
                       static_cast<double>(s.start_us - t0) / 1000.0, s.duration_ms(),
                       s.error ? fmt::format("  ERROR: {}", s.error_message) : std::string());
    std::string apad = pad + "    ";
    for (auto key : kShown)
      if (auto* v = s.attributes.if_contains(key))
        out += fmt::format("{}{}: {}\n", apad, key, value_text(*v));
    if (auto* in = s.attributes.if_contains("input")) {
      if (in->is_array()) {
        for (const auto& m : in->get_array()) {
          if (m.is_object() && m.get_object().contains("role"))
            indent_lines(out, apad, fmt::format("input [{}]", value_text(m.at("role"))),
                         value_text(m.at("content")));
          else
            indent_lines(out, apad, "input", value_text(m));
        }
      } else {
        indent_lines(out, apad, "input", value_text(*in));
      }
    }
    if (auto* o = s.attributes.if_contains("output")) {
      if (o->is_array()) {
        int i = 0;
        for (const auto& c : o->get_array())
          indent_lines(out, apad, fmt::format("output [{}]", i++), value_text(c));
      } else {
        indent_lines(out, apad, "output", value_text(*o));
      }
    }
    auto it = children.find(s.span_id);
    if (it == children.end()) return;
    for (const Span* c : it->second) print(*c, depth + 1);
  };
  for (const Span* s : tops) print(*s, 0);
  if (feedback.empty()) {
    out += "feedback: none\n";
  } else {
    out += "feedback:\n";
    for (const auto& f : feedback) {
      std::string reasons;
      for (const auto& r : f.reasons) reasons += (reasons.empty() ? "" : ", ") + r;
      out += fmt::format("  #{} {} UTC  score {}{}{}\n", f.id, utc(f.created_us),
                         f.score ? std::to_string(*f.score) : f.thumb,
                         reasons.empty() ? "" : fmt::format("  reasons: {}", reasons),
                         f.comment.empty() ? "" : fmt::format("  comment: {}", f.comment));
    }
  }
  return out;
}

std::string format_stats(const std::vector<ModelStats>& stats) {
  std::string out = fmt::format(
      "{:<20}  {:>6}  {:>7}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}  {:>8}\n", "MODEL", "COUNT",
      "ERRORS", "LAT p50", "LAT p95", "LAT p99", "TTFT p50", "TTFT p95", "TTFT p99", "TOK/S");
  for (const auto& s : stats) {
    out += fmt::format(
        "{:<20}  {:>6}  {:>6.1f}%  {:>9.1f}  {:>9.1f}  {:>9.1f}  {:>9}  {:>9}  {:>9}  {:>8}\n",
        s.model, s.count, s.error_rate * 100, s.latency_p50, s.latency_p95, s.latency_p99,
        opt_ms(s.ttft_p50), opt_ms(s.ttft_p95), opt_ms(s.ttft_p99), opt_ms(s.tokens_per_s));
  }
  if (stats.empty()) out += "(no calls)\n";
  out += "(latencies in ms)\n";
  return out;
}

Result<int64_t> parse_time_arg(const std::string& s, int64_t now_us) {
  if (s.empty()) return Error::invalid("empty time");
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || n < 0) return Error::invalid(fmt::format("bad time '{}'", s));
  std::string_view unit(ptr, static_cast<size_t>(s.data() + s.size() - ptr));
  int64_t secs = 0;
  if (unit.empty()) return n * 1'000'000;  // unix seconds
  if (unit == "s")
    secs = n;
  else if (unit == "m")
    secs = n * 60;
  else if (unit == "h")
    secs = n * 3600;
  else if (unit == "d")
    secs = n * 86400;
  else
    return Error::invalid(fmt::format("bad time '{}': use 90s, 15m, 2h, 7d or unix seconds", s));
  return now_us - secs * 1'000'000;
}

}  // namespace smmf::observability
