#pragma once
/// Takes finished spans off the request path: `submit` puts a span in a bounded queue and never
/// blocks (a full queue drops the span and counts it in smmf_spans_dropped_total, with a
/// rate-limited warn log); one background thread writes them as JSON lines to rotating files
/// and, when an endpoint is set, posts them in batches to an OpenTelemetry collector
/// (OTLP/HTTP JSON, POST <endpoint>/v1/traces).
///
/// Files: `<trace_dir>/spans-<service>-<pid>-<seq>.jsonl`; a file past max_file_bytes is
/// closed and the next one opened; beyond max_files files in the folder the oldest are removed
/// (never a file being written by this process).
/// Write failures (disk full, I/O error, folder gone): the batch's spans are dropped and counted
/// in smmf_spans_dropped_total, each failure in smmf_trace_write_failures_total, with a warn log
/// at most every 10 s; the file is cut back to its last whole line and closed, and the next
/// batch tries again, so writing resumes by itself when space comes back. A file removed while
/// open is noticed at the next batch and a new one started.
/// Threading: submit/flush/stop are thread-safe. Lifetime: stop() (or the destructor) writes
/// what is queued and joins the thread.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/error.h"
#include "observability/span.h"

namespace smmf::observability {

struct ExporterOptions {
  std::string service = "smmf";  ///< names the files and the OTLP resource
  std::string trace_dir;         ///< empty = no files
  uint64_t max_file_bytes = 64ull << 20;
  int max_files = 20;
  std::string otlp_endpoint;  ///< e.g. http://127.0.0.1:4318; empty = no OTLP
  size_t queue_capacity = 8192;
  size_t otlp_batch = 512;                         ///< spans per POST at most
  std::chrono::milliseconds flush_interval{1000};  ///< OTLP batches leave at least this often
  std::chrono::milliseconds otlp_timeout{5000};
  bool start_writer = true;  ///< false: no thread until start() (tests fill the queue)
};

class SpanExporter {
 public:
  explicit SpanExporter(ExporterOptions opts);
  ~SpanExporter();
  SpanExporter(const SpanExporter&) = delete;
  SpanExporter& operator=(const SpanExporter&) = delete;

  /// Checks options (creates trace_dir, parses the endpoint). InvalidArgument on bad options.
  static Result<std::unique_ptr<SpanExporter>> create(ExporterOptions opts);

  /// Never blocks; false when the queue was full and the span was dropped.
  bool submit(Span span);
  /// Waits until every span submitted before the call is written (and posted, if OTLP).
  void flush();
  void start();
  void stop();

  /// Spans dropped because the queue was full (write failures are in the metrics only).
  uint64_t dropped() const;
  const ExporterOptions& options() const { return opts_; }

 private:
  void run();
  struct Writer;

  ExporterOptions opts_;
  std::unique_ptr<Writer> writer_;  // writer thread only
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable flushed_;
  std::deque<Span> queue_;
  uint64_t dropped_ = 0;
  uint64_t flush_asked_ = 0;  ///< flush tickets handed out
  uint64_t flush_done_ = 0;   ///< tickets whose spans are written
  bool stopping_ = false;
  std::chrono::steady_clock::time_point last_drop_log_{};
  std::thread thread_;
};

}  // namespace smmf::observability
