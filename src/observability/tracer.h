#pragma once
/// What a process traces with: its service name, how much of a call's text it keeps, and the
/// exporter its finished spans go to. Shared (shared_ptr) by the routes of one process.
/// Threading: thread-safe (the exporter's submit never blocks).
#include <boost/json/value.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/config.h"
#include "common/error.h"
#include "observability/span_exporter.h"

namespace smmf::observability {

/// How much of the inputs and outputs a span keeps: full: the text (up to max_capture_chars);
/// redacted: the structure (roles, sizes) with each text replaced by "[redacted: N chars]";
/// off: neither inputs nor outputs. Headers, API keys and Authorization are never recorded.
enum class CaptureMode { kFull, kRedacted, kOff };
std::string_view to_string(CaptureMode m);
std::optional<CaptureMode> capture_mode_from_string(std::string_view s);

class Tracer {
 public:
  Tracer(std::string service, CaptureMode capture, size_t max_capture_chars,
         std::unique_ptr<SpanExporter> exporter);

  /// Builds the tracer of a role from [observability] (nullptr exporter when tracing is off:
  /// spans are still made, so ids and headers work, but go nowhere). `service` is e.g.
  /// "smmf-apiserver". InvalidArgument on a bad setting.
  static Result<std::shared_ptr<Tracer>> create(const ObservabilityConfig& cfg,
                                                std::string service);

  const std::string& service() const { return service_; }
  CaptureMode capture() const { return capture_; }
  /// A captured text per the mode: the string (truncated), a redaction marker, or null.
  boost::json::value capture_text(std::string_view text) const;
  void record(Span span);
  /// Finished spans go somewhere (files or OTLP). When false, callers may skip building a span's
  /// attributes: only its ids (response headers, propagation) matter.
  bool exporting() const { return exporter_ != nullptr; }
  SpanExporter* exporter() { return exporter_.get(); }

 private:
  std::string service_;
  CaptureMode capture_;
  size_t max_capture_chars_;
  std::unique_ptr<SpanExporter> exporter_;
};

}  // namespace smmf::observability
