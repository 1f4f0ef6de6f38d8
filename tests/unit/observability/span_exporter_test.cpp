#include "observability/span_exporter.h"

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <csignal>

#include <filesystem>
#include <fstream>

#include "observability/metrics.h"
#include "observability/span_json.h"
#include "observability/trace_query.h"
#include "protocol/trace_context.h"

namespace smmf::observability {
namespace fs = std::filesystem;

namespace {

fs::path temp_dir(const std::string& name) {
  auto p = fs::temp_directory_path() / fmt::format("smmf-obs-{}-{}", name, ::getpid());
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

Span make_span(const std::string& trace, const std::string& parent = {}) {
  Span s;
  s.trace_id = trace;
  s.span_id = protocol::new_span_id();
  s.parent_span_id = parent;
  s.name = "test";
  s.service = "unit";
  s.start_us = unix_micros();
  s.end_us = s.start_us + 1500;
  s.attributes["model"] = "m";
  return s;
}

std::vector<std::string> lines_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::ifstream in(e.path());
    std::string line;
    while (std::getline(in, line)) out.push_back(line);
  }
  return out;
}

}  // namespace

TEST(SpanExporter, DropsAndCountsWhenTheQueueIsFull) {
  auto dir = temp_dir("drop");
  ExporterOptions o;
  o.trace_dir = dir.string();
  o.queue_capacity = 3;
  o.start_writer = false;  // nothing drains the queue until start()
  SpanExporter ex(o);
  const double before = metrics().spans_dropped.Value();
  const auto trace = protocol::new_trace_id();
  int accepted = 0;
  for (int i = 0; i < 8; ++i) accepted += ex.submit(make_span(trace)) ? 1 : 0;
  EXPECT_EQ(accepted, 3);
  EXPECT_EQ(ex.dropped(), 5u);
  EXPECT_EQ(metrics().spans_dropped.Value() - before, 5);
  EXPECT_NE(metrics().serialize().find("smmf_spans_dropped_total"), std::string::npos);
  ex.start();
  ex.flush();
  EXPECT_EQ(lines_in(dir).size(), 3u);  // the accepted ones, one line each
  fs::remove_all(dir);
}

TEST(SpanExporter, WritesOneJsonLinePerSpanAndRotates) {
  auto dir = temp_dir("rotate");
  ExporterOptions o;
  o.trace_dir = dir.string();
  o.max_file_bytes = 600;  // a few spans per file
  o.max_files = 3;
  SpanExporter ex(o);
  const auto trace = protocol::new_trace_id();
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(ex.submit(make_span(trace)));
  ex.flush();
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    ++files;
    EXPECT_LE(fs::file_size(e.path()), 600u + 400u);  // rotated once past the limit
  }
  EXPECT_EQ(files, 3u);  // older files removed
  auto lines = lines_in(dir);
  EXPECT_GT(lines.size(), 0u);
  EXPECT_LT(lines.size(), 40u);
  auto v = boost::json::parse(lines.front());
  auto span = span_from_json(v);
  ASSERT_TRUE(span);
  EXPECT_EQ(span->trace_id, trace);
  EXPECT_EQ(span->end_us - span->start_us, 1500);
  fs::remove_all(dir);
}

/// Caps the size of files this process writes (RLIMIT_FSIZE: writes past it fail with EFBIG,
/// like a full disk) until destroyed.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &saved_);
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);  // EFBIG instead of a signal
    rlimit r = saved_;
    r.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &r);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit saved_{};
  void (*old_handler_)(int) = nullptr;
};

TEST(SpanExporter, AFailedWriteDropsCountsAndRecoversWithWholeLines) {
  auto dir = temp_dir("full");
  ExporterOptions o;
  o.trace_dir = dir.string();
  SpanExporter ex(o);
  const auto trace = protocol::new_trace_id();
  ASSERT_TRUE(ex.submit(make_span(trace)));
  ex.flush();
  ASSERT_EQ(lines_in(dir).size(), 1u);
  const auto file = fs::directory_iterator(dir)->path();
  const auto good_size = fs::file_size(file);

  const double dropped0 = metrics().spans_dropped.Value();
  const double failures0 = metrics().trace_write_failures.Value();
  {
    // Room for about half a span more: the write stops mid-line.
    FileSizeLimit limit(good_size + good_size / 2);
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(ex.submit(make_span(trace)));
      ex.flush();
    }
    EXPECT_EQ(metrics().spans_dropped.Value() - dropped0, 3);
    EXPECT_EQ(metrics().trace_write_failures.Value() - failures0, 3);  // one per batch tried
    EXPECT_EQ(fs::file_size(file), good_size);  // the partial line was cut off
  }
  // Space is back: the next spans are written to the same file, each on a line of its own.
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(ex.submit(make_span(trace)));
  ex.flush();
  EXPECT_EQ(metrics().trace_write_failures.Value() - failures0, 3);
  auto lines = lines_in(dir);
  ASSERT_EQ(lines.size(), 3u);
  for (const auto& l : lines) EXPECT_TRUE(span_from_json(boost::json::parse(l))) << l;
  EXPECT_EQ(ex.dropped(), 0u);  // the queue itself never overflowed
  fs::remove_all(dir);
}

TEST(SpanExporter, AFileRemovedWhileOpenIsReplaced) {
  auto dir = temp_dir("removed");
  ExporterOptions o;
  o.trace_dir = dir.string();
  SpanExporter ex(o);
  const auto trace = protocol::new_trace_id();
  ASSERT_TRUE(ex.submit(make_span(trace)));
  ex.flush();
  fs::remove_all(dir);  // e.g. an operator freeing space
  ASSERT_TRUE(ex.submit(make_span(trace)));
  ex.flush();
  ASSERT_TRUE(fs::is_directory(dir));
  EXPECT_EQ(lines_in(dir).size(), 1u);  // in a new file, not in the removed one
  fs::remove_all(dir);
}

TEST(SpanJson, RoundTripsAndEncodesOtlp) {
  Span s = make_span(protocol::new_trace_id(), protocol::new_span_id());
  s.kind = SpanKind::kServer;
  s.error = true;
  s.error_message = "boom";
  s.attributes["prompt_tokens"] = 7;
  // The trace files' writer agrees with the tree, number types included.
  s.attributes["ttft_ms"] = 12.5;
  s.attributes["input"] = boost::json::array{"a\"b", nullptr};
  s.start_us = 1000;
  for (int64_t end : {3000, 3500, 1000}) {  // whole, fractional and zero durations
    s.end_us = end;
    EXPECT_EQ(boost::json::parse(span_json_text(s)), boost::json::value(span_to_json(s))) << end;
  }
  auto back = span_from_json(span_to_json(s));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->parent_span_id, s.parent_span_id);
  EXPECT_EQ(back->kind, SpanKind::kServer);
  EXPECT_TRUE(back->error);
  EXPECT_EQ(back->attributes.at("prompt_tokens").as_int64(), 7);

  auto otlp = otlp_request_json({s});
  const auto& rs = otlp.at("resourceSpans").as_array().at(0).as_object();
  const auto& span = rs.at("scopeSpans").as_array().at(0).at("spans").as_array().at(0).as_object();
  EXPECT_EQ(span.at("traceId").as_string(), s.trace_id);
  EXPECT_EQ(span.at("parentSpanId").as_string(), s.parent_span_id);
  EXPECT_EQ(span.at("kind").as_int64(), 2);
  EXPECT_EQ(span.at("status").at("code").as_int64(), 2);
  EXPECT_EQ(span.at("startTimeUnixNano").as_string(), std::to_string(s.start_us * 1000));
}

}  // namespace smmf::observability
