#include "observability/span_exporter.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/serialize.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <vector>

#include "net/http_client.h"
#include "observability/metrics.h"
#include "observability/span_json.h"

namespace smmf::observability {
namespace fs = std::filesystem;
namespace asio = boost::asio;

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

  void write(const std::vector<Span>& spans) {
    if (opts.trace_dir.empty() || spans.empty()) return;
    for (const auto& s : spans) {
      if (!file.is_open() || bytes >= opts.max_file_bytes) rotate();
      if (!file.is_open()) return;
      std::string line = boost::json::serialize(span_to_json(s));
      line += '\n';
      file.write(line.data(), static_cast<std::streamsize>(line.size()));
      bytes += line.size();
    }
    file.flush();
    if (!file) spdlog::warn("cannot write trace file {}: {}", current.string(), "write failed");
  }

  void rotate() {
    if (file.is_open()) file.close();
    std::error_code ec;
    fs::create_directories(opts.trace_dir, ec);  // also when removed while running
    current = fs::path(opts.trace_dir) / fmt::format("{}{:06}.jsonl", prefix, seq++);
    file.open(current, std::ios::binary | std::ios::app);
    bytes = 0;
    if (!file) {
      spdlog::warn("cannot open trace file {}", current.string());
      return;
    }
    prune();
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
  fs::path current;
  std::ofstream file;
  uint64_t bytes = 0;
  int seq = 0;
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
    writer_->write(batch);
    const size_t n = batch.size();
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
