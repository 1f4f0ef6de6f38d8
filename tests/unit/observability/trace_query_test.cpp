#include "observability/trace_query.h"

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <unistd.h>
#include <boost/json/parse.hpp>

#include <filesystem>

#include "observability/span_exporter.h"
#include "observability/trace_format.h"
#include "observability/tracer.h"
#include "protocol/trace_context.h"

namespace smmf::observability {
namespace fs = std::filesystem;

namespace {

/// A call: server span (root) > attempt > engine, with the given outcome.
std::vector<Span> call(const std::string& model, const std::string& response_id, int status,
                       double latency_ms, int64_t start_us, const std::string& text) {
  std::string trace = protocol::new_trace_id();
  Span root;
  root.trace_id = trace;
  root.span_id = protocol::new_span_id();
  root.name = "POST /v1/chat/completions";
  root.service = "smmf-serve";
  root.start_us = start_us;
  root.end_us = start_us + static_cast<int64_t>(latency_ms * 1000);
  root.error = status >= 400;
  root.attributes["model"] = model;
  root.attributes["response_id"] = response_id;
  root.attributes["status"] = status;
  root.attributes["ttft_ms"] = latency_ms / 2;
  root.attributes["tokens_per_s"] = 100.0;
  boost::json::array input;
  boost::json::object msg;
  msg["role"] = "user";
  msg["content"] = text;
  input.push_back(msg);
  root.attributes["input"] = input;
  root.attributes["output"] = "an answer";
  Span attempt = root;
  attempt.span_id = protocol::new_span_id();
  attempt.parent_span_id = root.span_id;
  attempt.name = "attempt";
  attempt.attributes = {};
  attempt.attributes["instance"] = "local/" + model;
  Span engine = attempt;
  engine.span_id = protocol::new_span_id();
  engine.parent_span_id = attempt.span_id;
  engine.name = "engine";
  return {root, attempt, engine};
}

}  // namespace

class TraceQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / fmt::format("smmf-query-{}", ::getpid());
    fs::remove_all(dir_);
    ExporterOptions o;
    o.trace_dir = dir_.string();
    SpanExporter ex(o);
    const int64_t t0 = 1'700'000'000'000'000;
    for (int i = 0; i < 10; ++i)
      for (auto& s : call("alpha", fmt::format("chatcmpl-a{}", i), 200, 10.0 * (i + 1),
                          t0 + i * 1'000'000, i == 3 ? "find the needle" : "hello"))
        ex.submit(s);
    for (auto& s : call("beta", "chatcmpl-b0", 503, 5, t0 + 20'000'000, "x")) ex.submit(s);
    ex.flush();
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(TraceQueryTest, ListsNewestFirstWithFilters) {
  TraceQuery q(dir_.string());
  auto all = q.list({});
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 11u);
  EXPECT_EQ(all->front().model, "beta");
  EXPECT_EQ(all->front().status, 503);
  EXPECT_TRUE(all->front().error);

  TraceFilter f;
  f.model = "alpha";
  f.min_latency_ms = 75;
  auto slow = q.list(f);
  ASSERT_TRUE(slow);
  EXPECT_EQ(slow->size(), 3u);  // 80, 90, 100 ms

  TraceFilter text;
  text.text = "NEEDLE";
  auto found = q.list(text);
  ASSERT_TRUE(found);
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ(found->front().response_id, "chatcmpl-a3");

  TraceFilter err;
  err.status = "error";
  EXPECT_EQ(q.list(err)->size(), 1u);
  err.status = "200";
  EXPECT_EQ(q.list(err)->size(), 10u);
  TraceFilter inst;
  inst.instance = "local/beta";
  EXPECT_EQ(q.list(inst)->size(), 1u);
  TraceFilter range;
  range.since_us = 1'700'000'002'000'000;
  range.until_us = 1'700'000'004'000'000;
  EXPECT_EQ(q.list(range)->size(), 3u);
}

TEST_F(TraceQueryTest, FindsByResponseIdAndPrintsATree) {
  TraceQuery q(dir_.string());
  auto spans = q.find("chatcmpl-a3");
  ASSERT_TRUE(spans);
  ASSERT_EQ(spans->size(), 3u);
  auto by_trace = q.find(spans->front().trace_id);
  ASSERT_TRUE(by_trace);
  EXPECT_EQ(by_trace->size(), 3u);
  EXPECT_FALSE(q.find("chatcmpl-nope"));

  Feedback fb;
  fb.id = 1;
  fb.score = 4;
  fb.reasons = {"accurate"};
  fb.comment = "nice";
  auto text = format_trace_tree(*spans, {fb});
  EXPECT_NE(text.find("POST /v1/chat/completions [smmf-serve]"), std::string::npos) << text;
  EXPECT_NE(text.find("\n  attempt [smmf-serve]"), std::string::npos) << text;
  EXPECT_NE(text.find("\n    engine [smmf-serve]"), std::string::npos) << text;
  EXPECT_NE(text.find("input [user]: find the needle"), std::string::npos) << text;
  EXPECT_NE(text.find("output: an answer"), std::string::npos) << text;
  EXPECT_NE(text.find("score 4  reasons: accurate  comment: nice"), std::string::npos) << text;
}

TEST_F(TraceQueryTest, ComputesPerModelStats) {
  TraceQuery q(dir_.string());
  auto stats = q.stats({});
  ASSERT_TRUE(stats);
  ASSERT_EQ(stats->size(), 2u);
  const auto& a = stats->at(0);
  EXPECT_EQ(a.model, "alpha");
  EXPECT_EQ(a.count, 10u);
  EXPECT_EQ(a.errors, 0u);
  EXPECT_DOUBLE_EQ(a.latency_p50, 50);
  EXPECT_DOUBLE_EQ(a.latency_p95, 100);
  ASSERT_TRUE(a.ttft_p50);
  EXPECT_DOUBLE_EQ(*a.ttft_p50, 25);
  EXPECT_DOUBLE_EQ(stats->at(1).error_rate, 1.0);
  EXPECT_NE(format_stats(*stats).find("alpha"), std::string::npos);
}

TEST(TraceFormat, ParsesTimeArguments) {
  const int64_t now = 10'000'000'000;
  EXPECT_EQ(*parse_time_arg("90s", now), now - 90'000'000);
  EXPECT_EQ(*parse_time_arg("2h", now), now - 7'200'000'000);
  EXPECT_EQ(*parse_time_arg("1700000000", now), 1'700'000'000'000'000);
  EXPECT_FALSE(parse_time_arg("5w", now));
  EXPECT_FALSE(parse_time_arg("soon", now));
}

TEST(Tracer, CapturesPerMode) {
  Tracer full("t", CaptureMode::kFull, 5, nullptr);
  EXPECT_EQ(full.capture_text("abc").as_string(), "abc");
  EXPECT_EQ(full.capture_text("abcdefgh").as_string(), "abcde...[3 more chars]");
  Tracer red("t", CaptureMode::kRedacted, 5, nullptr);
  EXPECT_EQ(red.capture_text("secret text").as_string(), "[redacted: 11 chars]");
  Tracer off("t", CaptureMode::kOff, 5, nullptr);
  EXPECT_TRUE(off.capture_text("secret").is_null());
  ObservabilityConfig bad;
  bad.capture = "some";
  EXPECT_FALSE(Tracer::create(bad, "x"));
}

}  // namespace smmf::observability
