#include "observability/span_json.h"

#include <boost/json/serialize.hpp>

#include <chrono>
#include <map>

#include "protocol/json_text.h"
#include "protocol/openai_client_json.h"

namespace smmf::observability {
namespace json = boost::json;

std::string_view to_string(SpanKind k) {
  switch (k) {
    case SpanKind::kServer:
      return "server";
    case SpanKind::kClient:
      return "client";
    case SpanKind::kInternal:
      break;
  }
  return "internal";
}

int64_t unix_micros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

json::object span_to_json(const Span& s) {
  json::object o;
  o["trace_id"] = s.trace_id;
  o["span_id"] = s.span_id;
  if (!s.parent_span_id.empty()) o["parent_span_id"] = s.parent_span_id;
  o["name"] = s.name;
  o["kind"] = to_string(s.kind);
  o["service"] = s.service;
  o["start_us"] = s.start_us;
  o["end_us"] = s.end_us;
  o["duration_ms"] = s.duration_ms();
  if (s.error) {
    o["error"] = true;
    o["error_message"] = s.error_message;
  }
  o["attributes"] = s.attributes;
  return o;
}

std::string span_json_text(const Span& s) {
  std::string out;
  out.reserve(256 + s.name.size() + s.error_message.size());
  protocol::JsonObjectText o(out);
  o.string("trace_id", s.trace_id);
  o.string("span_id", s.span_id);
  if (!s.parent_span_id.empty()) o.string("parent_span_id", s.parent_span_id);
  o.string("name", s.name);
  o.string("kind", to_string(s.kind));
  o.string("service", s.service);
  o.integer("start_us", s.start_us);
  o.integer("end_us", s.end_us);
  {
    std::string& d = o.key("duration_ms");
    const size_t at = d.size();
    protocol::append_json_number(d, s.duration_ms());
    // A whole number still reads back as a double, as the tree's value would.
    if (d.find_first_of(".eEn", at) == std::string::npos) d += ".0";
  }
  if (s.error) {
    o.boolean("error", true);
    o.string("error_message", s.error_message);
  }
  o.raw("attributes", json::serialize(s.attributes));
  o.close();
  return out;
}

namespace {

std::string str_field(const json::object& o, std::string_view key) {
  if (auto* v = o.if_contains(key); v && v->is_string()) return std::string(v->get_string());
  return {};
}

int64_t int_field(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v ? protocol::clamped_int64(*v) : 0;  // a double beyond int64_t must not be cast
}

}  // namespace

Result<Span> span_from_json(const json::value& v) {
  const json::object* o = v.if_object();
  if (!o) return Error::invalid("a span must be a JSON object");
  Span s;
  s.trace_id = str_field(*o, "trace_id");
  s.span_id = str_field(*o, "span_id");
  if (s.trace_id.empty() || s.span_id.empty())
    return Error::invalid("a span needs trace_id and span_id");
  s.parent_span_id = str_field(*o, "parent_span_id");
  s.name = str_field(*o, "name");
  std::string kind = str_field(*o, "kind");
  s.kind = kind == "server"   ? SpanKind::kServer
           : kind == "client" ? SpanKind::kClient
                              : SpanKind::kInternal;
  s.service = str_field(*o, "service");
  s.start_us = int_field(*o, "start_us");
  s.end_us = int_field(*o, "end_us");
  if (auto* e = o->if_contains("error"); e && e->is_bool()) s.error = e->get_bool();
  s.error_message = str_field(*o, "error_message");
  if (auto* a = o->if_contains("attributes"); a && a->is_object()) s.attributes = a->get_object();
  return s;
}

namespace {

// OTLP AnyValue for one attribute: scalars as themselves, structures as their JSON text.
json::object any_value(const json::value& v) {
  json::object o;
  if (v.is_string())
    o["stringValue"] = v.get_string();
  else if (v.is_bool())
    o["boolValue"] = v.get_bool();
  else if (v.is_int64())
    o["intValue"] = std::to_string(v.get_int64());  // int64 is a string in OTLP JSON
  else if (v.is_uint64())
    o["intValue"] = std::to_string(v.get_uint64());
  else if (v.is_double())
    o["doubleValue"] = v.get_double();
  else
    o["stringValue"] = json::serialize(v);
  return o;
}

json::object key_value(std::string_view key, const json::value& v) {
  json::object kv;
  kv["key"] = key;
  kv["value"] = any_value(v);
  return kv;
}

int otlp_kind(SpanKind k) {
  switch (k) {
    case SpanKind::kServer:
      return 2;
    case SpanKind::kClient:
      return 3;
    case SpanKind::kInternal:
      break;
  }
  return 1;
}

}  // namespace

json::object otlp_request_json(const std::vector<Span>& spans) {
  std::map<std::string, json::array> by_service;
  for (const auto& s : spans) {
    json::object o;
    o["traceId"] = s.trace_id;
    o["spanId"] = s.span_id;
    if (!s.parent_span_id.empty()) o["parentSpanId"] = s.parent_span_id;
    o["name"] = s.name;
    o["kind"] = otlp_kind(s.kind);
    o["startTimeUnixNano"] = std::to_string(s.start_us * 1000);
    o["endTimeUnixNano"] = std::to_string(s.end_us * 1000);
    json::array attrs;
    for (const auto& [k, v] : s.attributes) attrs.push_back(key_value(k, v));
    o["attributes"] = std::move(attrs);
    json::object status;
    status["code"] = s.error ? 2 : 1;  // STATUS_CODE_ERROR : STATUS_CODE_OK
    if (s.error) status["message"] = s.error_message;
    o["status"] = std::move(status);
    by_service[s.service].push_back(std::move(o));
  }
  json::array resource_spans;
  for (auto& [service, list] : by_service) {
    json::object resource;
    json::array rattrs;
    rattrs.push_back(key_value("service.name", json::value(service)));
    resource["attributes"] = std::move(rattrs);
    json::object scope;
    scope["name"] = "smmf";
    json::object scope_spans;
    scope_spans["scope"] = std::move(scope);
    scope_spans["spans"] = std::move(list);
    json::array ss;
    ss.push_back(std::move(scope_spans));
    json::object rs;
    rs["resource"] = std::move(resource);
    rs["scopeSpans"] = std::move(ss);
    resource_spans.push_back(std::move(rs));
  }
  json::object req;
  req["resourceSpans"] = std::move(resource_spans);
  return req;
}

}  // namespace smmf::observability
