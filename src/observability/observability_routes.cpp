#include "observability/observability_routes.h"

#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/url/parse.hpp>

#include <fmt/format.h>

#include <charconv>

#include "observability/metrics.h"
#include "observability/span_json.h"
#include "protocol/http_errors.h"
#include "protocol/openai_json.h"

namespace smmf::observability {
namespace asio = boost::asio;
namespace json = boost::json;
using net::HttpExchange;
using net::http::status;

namespace {

asio::awaitable<void> send_error(HttpExchange& ex, const Error& e) {
  ex.add_log_field("error", fmt::format("\"{}\"", e.message));
  co_await ex.send_json(protocol::error_status(e), protocol::error_body(e));
}

/// Runs blocking `f` on `pool` and resumes the calling coroutine on its own executor with the
/// result. Plain handlers, no coroutine on the pool (GCC 12 mishandles some coroutine frames).
template <class F>
auto off_io(asio::thread_pool& pool, F f) {
  using R = std::invoke_result_t<F>;
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(R)>(
      [&pool](auto handler, F fn) {
        asio::post(pool, [handler = std::move(handler), fn = std::move(fn)]() mutable {
          auto r = std::make_shared<R>(fn());
          auto home = asio::get_associated_executor(handler);
          asio::dispatch(home, [handler = std::move(handler), r]() mutable {
            std::move(handler)(std::move(*r));
          });
        });
      },
      asio::use_awaitable, std::move(f));
}

Result<TraceFilter> parse_filter(const HttpExchange& ex) {
  TraceFilter f;
  auto u = boost::urls::parse_origin_form(ex.request().target());
  if (!u) return Error::invalid("bad request target");
  for (auto p : u->params()) {
    auto num = [&](auto& out) -> Status {
      const std::string& v = p.value;
      auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
      if (ec != std::errc() || ptr != v.data() + v.size() || out < 0)
        return Error::invalid(fmt::format("'{}' must be a non-negative number", p.key), p.key);
      return {};
    };
    Status st;
    if (p.key == "since" || p.key == "until") {
      int64_t ms = 0;
      st = num(ms);
      (p.key == "since" ? f.since_us : f.until_us) = ms * 1000;
    } else if (p.key == "min_latency_ms") {
      st = num(f.min_latency_ms);
    } else if (p.key == "limit") {
      st = num(f.limit);
    } else if (p.key == "model") {
      f.model = p.value;
    } else if (p.key == "instance") {
      f.instance = p.value;
    } else if (p.key == "status") {
      f.status = p.value;
    } else if (p.key == "q") {
      f.text = p.value;
    } else {
      st = Error::invalid(fmt::format("unknown query parameter '{}'", p.key), p.key);
    }
    if (!st) return st.error();
  }
  if (f.limit == 0 || f.limit > 1000) f.limit = f.limit == 0 ? 50 : 1000;
  return f;
}

json::object list_json(json::array data) {
  json::object o;
  o["object"] = "list";
  o["data"] = std::move(data);
  return o;
}

Error files_off() {
  return Error::not_found("tracing to files is off: set [observability] trace_dir");
}

}  // namespace

void install_metrics_route(net::Router& router) {
  router.add(net::http::verb::get, "/metrics", [](HttpExchange& ex) -> asio::awaitable<void> {
    co_await ex.send_text(status::ok, metrics().serialize(),
                          "text/plain; version=0.0.4; charset=utf-8");
  });
}

json::object trace_detail_json(const std::vector<Span>& spans,
                               const std::vector<Feedback>& feedback) {
  json::object o;
  auto summary = summarize(spans);
  o["trace_id"] = summary.trace_id;
  o["summary"] = summary_json(summary);
  json::array arr;
  for (const auto& s : spans) arr.push_back(span_to_json(s));
  o["spans"] = std::move(arr);
  json::array fb;
  for (const auto& f : feedback) fb.push_back(feedback_json(f));
  o["feedback"] = std::move(fb);
  return o;
}

ObservabilityRoutes::ObservabilityRoutes(std::string trace_dir,
                                         std::shared_ptr<FeedbackStore> feedback)
    : trace_dir_(std::move(trace_dir)), feedback_(std::move(feedback)) {}

ObservabilityRoutes::~ObservabilityRoutes() {
  pool_.join();
}

void ObservabilityRoutes::install(net::Router& router) {
  using net::http::verb;
  router.add(verb::post, "/v1/feedback", [this](HttpExchange& ex) { return post_feedback(ex); });
  router.add(verb::get, "/api/v1/traces", [this](HttpExchange& ex) { return list_traces(ex); });
  router.add_prefix(verb::get, "/api/v1/traces/",
                    [this](HttpExchange& ex) { return get_trace(ex); });
  router.add(verb::get, "/api/v1/stats", [this](HttpExchange& ex) { return get_stats(ex); });
}

asio::awaitable<void> ObservabilityRoutes::post_feedback(HttpExchange& ex) {
  if (!feedback_) {
    co_await send_error(
        ex, Error::unsupported("feedback is off on this server: set [observability] feedback_db"));
    co_return;
  }
  auto body = protocol::parse_json(ex.request().body());
  if (!body) {
    co_await send_error(ex, body.error());
    co_return;
  }
  auto fb = parse_feedback(*body);
  if (!fb) {
    co_await send_error(ex, fb.error());
    co_return;
  }
  auto store = feedback_;
  Feedback f = std::move(*fb);
  // Named jobs: GCC 12 may destroy a lambda temporary inside a co_await expression twice.
  auto job = [store, f]() { return store->add(f); };
  auto stored = co_await off_io(pool_, std::move(job));
  if (!stored) {
    co_await send_error(ex, stored.error());
    co_return;
  }
  metrics()
      .feedback.Add({{"score", stored->score ? std::to_string(*stored->score) : stored->thumb}})
      .Increment();
  co_await ex.send_json(status::ok, feedback_json(*stored));
}

asio::awaitable<void> ObservabilityRoutes::list_traces(HttpExchange& ex) {
  auto filter = parse_filter(ex);
  if (!filter) {
    co_await send_error(ex, filter.error());
    co_return;
  }
  if (trace_dir_.empty()) {
    co_await send_error(ex, files_off());
    co_return;
  }
  TraceFilter f = *filter;
  auto job = [dir = trace_dir_, f]() { return TraceQuery(dir).list(f); };
  auto list = co_await off_io(pool_, std::move(job));
  if (!list) {
    co_await send_error(ex, list.error());
    co_return;
  }
  json::array data;
  for (const auto& t : *list) data.push_back(summary_json(t));
  co_await ex.send_json(status::ok, list_json(std::move(data)));
}

asio::awaitable<void> ObservabilityRoutes::get_trace(HttpExchange& ex) {
  std::string id(ex.target_path().substr(std::string_view("/api/v1/traces/").size()));
  if (trace_dir_.empty()) {
    co_await send_error(ex, files_off());
    co_return;
  }
  auto store = feedback_;
  auto job = [dir = trace_dir_, id, store]() -> Result<json::object> {
    auto spans = TraceQuery(dir).find(id);
    if (!spans) return spans.error();
    std::vector<Feedback> fb;
    if (store) {
      auto s = summarize(*spans);
      auto found = store->find(s.trace_id, s.response_id);
      if (!found) return found.error();
      fb = std::move(*found);
    }
    return trace_detail_json(*spans, fb);
  };
  auto detail = co_await off_io(pool_, std::move(job));
  if (!detail) {
    co_await send_error(ex, detail.error());
    co_return;
  }
  co_await ex.send_json(status::ok, *detail);
}

asio::awaitable<void> ObservabilityRoutes::get_stats(HttpExchange& ex) {
  auto filter = parse_filter(ex);
  if (!filter) {
    co_await send_error(ex, filter.error());
    co_return;
  }
  if (trace_dir_.empty()) {
    co_await send_error(ex, files_off());
    co_return;
  }
  TraceFilter f = *filter;
  auto job = [dir = trace_dir_, f]() { return TraceQuery(dir).stats(f); };
  auto stats = co_await off_io(pool_, std::move(job));
  if (!stats) {
    co_await send_error(ex, stats.error());
    co_return;
  }
  json::array data;
  for (const auto& s : *stats) data.push_back(stats_json(s));
  co_await ex.send_json(status::ok, list_json(std::move(data)));
}

}  // namespace smmf::observability
