#include "observability/tracer.h"

#include <fmt/format.h>

namespace smmf::observability {

std::string_view to_string(CaptureMode m) {
  switch (m) {
    case CaptureMode::kFull:
      return "full";
    case CaptureMode::kRedacted:
      return "redacted";
    case CaptureMode::kOff:
      break;
  }
  return "off";
}

std::optional<CaptureMode> capture_mode_from_string(std::string_view s) {
  if (s == "full") return CaptureMode::kFull;
  if (s == "redacted") return CaptureMode::kRedacted;
  if (s == "off") return CaptureMode::kOff;
  return std::nullopt;
}

Tracer::Tracer(std::string service, CaptureMode capture, size_t max_capture_chars,
               std::unique_ptr<SpanExporter> exporter)
    : service_(std::move(service)),
      capture_(capture),
      max_capture_chars_(max_capture_chars),
      exporter_(std::move(exporter)) {}

Result<std::shared_ptr<Tracer>> Tracer::create(const ObservabilityConfig& cfg,
                                               std::string service) {
  auto mode = capture_mode_from_string(cfg.capture);
  if (!mode)
    return Error::invalid(
        fmt::format("observability.capture '{}' must be full, redacted or off", cfg.capture),
        "observability.capture");
  std::unique_ptr<SpanExporter> exporter;
  if (cfg.tracing && (!cfg.trace_dir.empty() || !cfg.otlp_endpoint.empty())) {
    ExporterOptions o;
    o.service = service;
    o.trace_dir = cfg.trace_dir;
    o.max_file_bytes = cfg.max_file_bytes;
    o.max_files = cfg.max_files;
    o.otlp_endpoint = cfg.otlp_endpoint;
    o.queue_capacity = cfg.queue_capacity;
    o.otlp_batch = cfg.otlp_batch;
    o.flush_interval = cfg.flush_interval;
    auto e = SpanExporter::create(std::move(o));
    if (!e) return e.error();
    exporter = std::move(*e);
  }
  return std::make_shared<Tracer>(std::move(service), *mode, cfg.max_capture_chars,
                                  std::move(exporter));
}

boost::json::value Tracer::capture_text(std::string_view text) const {
  switch (capture_) {
    case CaptureMode::kFull: {
      if (text.size() <= max_capture_chars_) return boost::json::value(text);
      size_t n = max_capture_chars_;
      while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;  // UTF-8 safe
      return boost::json::value(
          fmt::format("{}...[{} more chars]", text.substr(0, n), text.size() - n));
    }
    case CaptureMode::kRedacted:
      return boost::json::value(fmt::format("[redacted: {} chars]", text.size()));
    case CaptureMode::kOff:
      break;
  }
  return nullptr;
}

void Tracer::record(Span span) {
  if (exporter_) exporter_->submit(std::move(span));
}

}  // namespace smmf::observability
