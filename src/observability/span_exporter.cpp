#include "observability/span_exporter.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>
#include <vector>

#include "net/http_client.h"
#include "observability/metrics.h"
#include "observability/span_json.h"

namespace smmf::observability {
namespace fs = std::filesystem;
namespace asio = boost::asio;

namespace {
constexpr size_t kChunk = 256 << 10;  // bytes per write() at most
constexpr auto kLogEvery = std::chrono::seconds(10);
}  // namespace

/// The writer thread's state: the open trace file and the OTLP client.
struct SpanExporter::Writer {
  explicit Writer(const ExporterOptions& o) : opts(o) {
    if (!o.otlp_endpoint.empty()) {
      auto u = net::parse_url(o.otlp_endpoint);
      if (u) url = *u;
      net::ClientOptions co;
      co.connect_timeout = o.otlp_timeout;
      co.first_byte_timeout = o.otlp_timeout;
      co.idle_timeout = o.otlp_timeout;
      client = std::make_shared<net::HttpClient>(ioc.get_executor(), co);
    }
    prefix = fmt::format("spans-{}-{}-", o.service, ::getpid());
  }

  ~Writer() { close_file(); }

  /// Writes the spans as JSON lines and returns how many reached the file. A failed write
  /// (disk full, I/O error) drops the spans it carried and the rest of the batch, cuts the file
  /// back to its last whole line and closes it: the next batch reopens it and tries again.
  size_t write(const std::vector<Span>& spans) {
    if (opts.trace_dir.empty() || spans.empty()) return 0;
    reopen_if_unlinked();
    size_t written = 0;
    for (const auto& s : spans) {
      if (fd >= 0 && bytes + buf.size() >= opts.max_file_bytes && !flush_buf(written)) break;
      if (fd < 0 || bytes >= opts.max_file_bytes) {
        open_file();
        if (fd < 0) break;
      }
      buf += span_json_text(s);
      buf += '\n';
      ++buf_spans;
      if (buf.size() >= kChunk && !flush_buf(written)) break;
    }
    flush_buf(written);
    buf.clear();
    buf_spans = 0;
    if (written < spans.size()) dropped_spans(spans.size() - written);
    return written;
  }

  /// Writes `buf` to the file; false (the file closed, `buf` dropped) when that failed.
  bool flush_buf(size_t& written) {
    if (buf.empty() || fd < 0) return buf.empty();
    size_t off = 0;
    while (off < buf.size()) {
      ssize_t n = ::write(fd, buf.data() + off, buf.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        fail(n < 0 ? errno : EIO);
        return false;
      }
      off += static_cast<size_t>(n);
    }
    bytes += buf.size();
    written += buf_spans;
    buf.clear();
    buf_spans = 0;
    if (failing) {
      failing = false;
      spdlog::info("trace file {} is writable again ({} spans were dropped meanwhile)",
                   current.string(), dropped_while_failing);
      dropped_while_failing = 0;
    }
    return true;
  }

  void fail(int err) {
    // Whatever part of the chunk went in is cut off again, so that the next write starts a line.
    if (::ftruncate(fd, static_cast<off_t>(bytes)) != 0)
      bytes = opts.max_file_bytes;  // cannot: the next write goes to a new file instead
    close_file();
    buf.clear();
    buf_spans = 0;
    failing = true;
    last_error = err;
    metrics().trace_write_failures.Increment();
  }

  void dropped_spans(size_t n) {
    metrics().spans_dropped.Increment(static_cast<double>(n));
    dropped_total += n;
    dropped_while_failing += n;
    auto now = std::chrono::steady_clock::now();
    if (now - last_fail_log >= kLogEvery) {
      last_fail_log = now;
      spdlog::warn("cannot write trace file {}: {}; dropping spans ({} so far)", current.string(),
                   std::system_category().message(last_error), dropped_total);
    }
  }

  /// Opens the next trace file, or the current one again when it was closed by a failure.
  void open_file() {
    const bool next = current.empty() || bytes >= opts.max_file_bytes;
    close_file();
    std::error_code ec;
    fs::create_directories(opts.trace_dir, ec);  // also when removed while running
    if (next) current = fs::path(opts.trace_dir) / fmt::format("{}{:06}.jsonl", prefix, seq++);
    bytes = 0;
    fd = ::open(current.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
      failing = true;
      last_error = errno;
      metrics().trace_write_failures.Increment();
      return;
    }
    struct stat st {};
    if (::fstat(fd, &st) == 0) bytes = static_cast<uint64_t>(st.st_size);
    if (next) prune();
  }

  /// A file removed while open (e.g. to free space) would swallow every later write unseen.
  void reopen_if_unlinked() {
    struct stat st {};
    if (fd < 0 || (::fstat(fd, &st) == 0 && st.st_nlink > 0)) return;
    spdlog::warn("trace file {} was removed while open: starting a new one", current.string());
    close_file();
    current.clear();
  }

  void close_file() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }

  // Oldest first, by modification time, never the file this process writes now.
  void prune() {
    std::error_code ec;
    std::vector<std::pair<fs::file_time_type, fs::path>> files;
    for (const auto& e : fs::directory_iterator(opts.trace_dir, ec)) {
      auto name = e.path().filename().string();
      if (name.starts_with("spans-") && name.ends_with(".jsonl"))
        files.emplace_back(e.last_write_time(ec), e.path());
    }
    if (files.size() <= static_cast<size_t>(std::max(1, opts.max_files))) return;
    std::sort(files.begin(), files.end());
    size_t excess = files.size() - static_cast<size_t>(std::max(1, opts.max_files));
    for (auto& [t, p] : files) {
      if (excess == 0) break;
      if (p == current) continue;
      fs::remove(p, ec);
      --excess;
    }
  }

  void post(const std::vector<Span>& spans) {
    if (!client || spans.empty()) return;
    for (size_t i = 0; i < spans.size(); i += opts.otlp_batch) {
      std::vector<Span> batch(
          spans.begin() + static_cast<long>(i),
          spans.begin() + static_cast<long>(std::min(spans.size(), i + opts.otlp_batch)));
      auto req =
          net::ClientRequest::post("/v1/traces", boost::json::serialize(otlp_request_json(batch)));
      auto fut = asio::co_spawn(ioc, client->send(url, std::move(req)), asio::use_future);
      ioc.restart();
      ioc.run();
      auto res = fut.get();
      if (!res || res->status / 100 != 2) {
        metrics().otlp_failures.Increment();
        spdlog::warn("OTLP export of {} spans to {} failed: {}", batch.size(), opts.otlp_endpoint,
                     res ? fmt::format("HTTP {}", res->status) : res.error().error.message);
      }
    }
  }

  const ExporterOptions& opts;
  asio::io_context ioc;
  net::Url url;
  std::shared_ptr<net::HttpClient> client;
  std::string prefix;
  fs::path current;  ///< the file written now (empty before the first)
  int fd = -1;
  uint64_t bytes = 0;  ///< in the current file, whole lines only
  int seq = 0;
  std::string buf;  ///< lines not written yet
  size_t buf_spans = 0;
  bool failing = false;  ///< the last write or open failed
  int last_error = 0;
  uint64_t dropped_total = 0;
  uint64_t dropped_while_failing = 0;
  std::chrono::steady_clock::time_point last_fail_log{};
};

SpanExporter::SpanExporter(ExporterOptions opts) : opts_(std::move(opts)) {
  if (opts_.queue_capacity == 0) opts_.queue_capacity = 1;
  if (opts_.otlp_batch == 0) opts_.otlp_batch = 1;
  writer_ = std::make_unique<Writer>(opts_);
  if (opts_.start_writer) start();
}

SpanExporter::~SpanExporter() {
  stop();
}

Result<std::unique_ptr<SpanExporter>> SpanExporter::create(ExporterOptions opts) {
  if (!opts.trace_dir.empty()) {
    std::error_code ec;
    fs::create_directories(opts.trace_dir, ec);
    if (ec || !fs::is_directory(opts.trace_dir))
      return Error::invalid(fmt::format("observability.trace_dir '{}' cannot be created: {}",
                                        opts.trace_dir, ec.message()),
                            "observability.trace_dir");
  }
  if (!opts.otlp_endpoint.empty()) {
    auto u = net::parse_url(opts.otlp_endpoint);
    if (!u)
      return Error::invalid(fmt::format("observability.otlp_endpoint: {}", u.error().message),
                            "observability.otlp_endpoint");
  }
  return std::make_unique<SpanExporter>(std::move(opts));
}

bool SpanExporter::submit(Span span) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_ && queue_.size() < opts_.queue_capacity) {
      queue_.push_back(std::move(span));
      wake_.notify_one();
      return true;
    }
    ++dropped_;
    auto now = std::chrono::steady_clock::now();
    if (now - last_drop_log_ > std::chrono::seconds(10)) {
      last_drop_log_ = now;
      spdlog::warn("span export queue full ({} spans): dropping spans ({} so far)",
                   opts_.queue_capacity, dropped_);
    }
  }
  metrics().spans_dropped.Increment();
  return false;
}

uint64_t SpanExporter::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

void SpanExporter::flush() {
  std::unique_lock lock(mu_);
  if (!thread_.joinable() || stopping_) return;
  const uint64_t ticket = ++flush_asked_;
  wake_.notify_one();
  flushed_.wait(lock, [&] { return flush_done_ >= ticket || stopping_; });
}

void SpanExporter::start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { run(); });
}

void SpanExporter::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    wake_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

void SpanExporter::run() {
  std::vector<Span> pending_otlp;
  auto last_post = std::chrono::steady_clock::now();
  for (;;) {
    std::vector<Span> batch;
    bool stopping = false;
    uint64_t flush = 0;
    {
      std::unique_lock lock(mu_);
      wake_.wait_for(lock, opts_.flush_interval,
                     [&] { return !queue_.empty() || stopping_ || flush_asked_ > flush_done_; });
      batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
      queue_.clear();
      stopping = stopping_;
      if (flush_asked_ > flush_done_) flush = flush_asked_;
    }
    // With a trace_dir, a span counts as exported once it is in the file (failures are counted
    // as dropped by the writer); without, once it is handed to the collector.
    const size_t n = opts_.trace_dir.empty() ? batch.size() : writer_->write(batch);
    if (writer_->client) {
      for (auto& s : batch) pending_otlp.push_back(std::move(s));
      auto now = std::chrono::steady_clock::now();
      if (stopping || flush > 0 || pending_otlp.size() >= opts_.otlp_batch ||
          now - last_post >= opts_.flush_interval) {
        writer_->post(pending_otlp);
        pending_otlp.clear();
        last_post = now;
      }
    }
    if (n > 0) metrics().spans_written.Increment(static_cast<double>(n));
    {
      std::lock_guard lock(mu_);
      // Everything queued before the flush ticket was taken is now written and posted.
      if (flush > 0) flush_done_ = flush;
      flushed_.notify_all();
      if (stopping && queue_.empty()) break;
    }
  }
}

}  // namespace smmf::observability
