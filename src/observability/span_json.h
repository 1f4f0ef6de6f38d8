#pragma once
/// Span <-> JSON: one JSON object per line in the trace files, and the OTLP/HTTP JSON encoding
/// (ExportTraceServiceRequest) for collectors. Pure functions.
#include <boost/json/value.hpp>

#include <string>
#include <vector>

#include "common/error.h"
#include "observability/span.h"

namespace smmf::observability {

boost::json::object span_to_json(const Span& s);
/// serialize(span_to_json(s)), written directly (one line of a trace file per span: no copy of
/// the attributes into a new tree).
std::string span_json_text(const Span& s);
/// Reads a line written by span_to_json; InvalidArgument when a required field is missing.
Result<Span> span_from_json(const boost::json::value& v);
/// One ExportTraceServiceRequest body for `spans` (grouped by service into resourceSpans).
boost::json::object otlp_request_json(const std::vector<Span>& spans);

}  // namespace smmf::observability
