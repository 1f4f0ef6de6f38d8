#include "registry/instance.h"

#include <boost/json/object.hpp>

#include <fmt/format.h>
#include <array>
#include <limits>

namespace smmf::registry {
namespace json = boost::json;

namespace {

constexpr std::array kTypes{std::string_view("llm"), std::string_view("embedding"),
                            std::string_view("reranker")};
constexpr std::array kStates{std::string_view("stopped"), std::string_view("starting"),
                             std::string_view("running"), std::string_view("stopping"),
                             std::string_view("failed"),  std::string_view("idle")};
constexpr size_t kMaxIdLength = 256;

template <size_t N>
bool one_of(std::string_view s, const std::array<std::string_view, N>& set) {
  for (auto x : set)
    if (x == s) return true;
  return false;
}

template <size_t N>
std::string join(const std::array<std::string_view, N>& set) {
  std::string out;
  for (size_t i = 0; i < N; ++i) {
    if (i) out += i + 1 == N ? " or " : ", ";
    out += set[i];
  }
  return out;
}

// "http(s)://host[:port][/path]" with a non-empty host and no whitespace.
bool is_http_url(std::string_view s) {
  std::string_view rest;
  if (s.starts_with("http://"))
    rest = s.substr(7);
  else if (s.starts_with("https://"))
    rest = s.substr(8);
  else
    return false;
  for (char c : s)
    if (static_cast<unsigned char>(c) <= ' ') return false;
  auto host_end = rest.find_first_of(":/?#");
  return host_end != 0 && !rest.empty();
}

std::string trim_trailing_slashes(std::string s) {
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

Status get_string(const json::object& o, std::string_view key, std::string& out,
                  bool required = false) {
  auto* v = o.if_contains(key);
  if (!v || v->is_null()) {
    if (required) return Error::invalid(fmt::format("{} is required", key), std::string(key));
    return {};
  }
  if (!v->is_string())
    return Error::invalid(fmt::format("{} must be a string", key), std::string(key));
  out = std::string(v->get_string());
  if (required && out.empty())
    return Error::invalid(fmt::format("{} must not be empty", key), std::string(key));
  return {};
}

template <class Int>
Status get_int(const json::object& o, std::string_view key, Int& out, int64_t min, int64_t max) {
  auto* v = o.if_contains(key);
  if (!v || v->is_null()) return {};
  int64_t n = 0;
  if (v->is_int64()) {
    n = v->get_int64();
  } else if (v->is_uint64() &&
             v->get_uint64() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    n = static_cast<int64_t>(v->get_uint64());
  } else {
    return Error::invalid(fmt::format("{} must be an integer", key), std::string(key));
  }
  if (n < min || n > max)
    return Error::invalid(fmt::format("{} must be between {} and {}", key, min, max),
                          std::string(key));
  out = static_cast<Int>(n);
  return {};
}

Status get_bool(const json::object& o, std::string_view key, bool& out) {
  auto* v = o.if_contains(key);
  if (!v || v->is_null()) return {};
  if (!v->is_bool())
    return Error::invalid(fmt::format("{} must be a boolean", key), std::string(key));
  out = v->get_bool();
  return {};
}

Status get_labels(const json::object& o, std::map<std::string, std::string>& out) {
  auto* v = o.if_contains("labels");
  if (!v || v->is_null()) return {};
  if (!v->is_object()) return Error::invalid("labels must be an object of strings", "labels");
  for (const auto& [k, val] : v->get_object()) {
    std::string param = fmt::format("labels.{}", std::string_view(k));
    if (!val.is_string()) return Error::invalid(fmt::format("{} must be a string", param), param);
    out[std::string(k)] = std::string(val.get_string());
  }
  return {};
}

}  // namespace

json::object to_json(const InstanceRecord& r) {
  json::object labels;
  for (const auto& [k, v] : r.labels) labels[k] = v;
  json::object o;
  o["id"] = r.id;
  o["model"] = r.model;
  o["type"] = r.type;
  o["address"] = r.address;
  o["engine"] = r.engine;
  o["weight"] = r.weight;
  o["labels"] = std::move(labels);
  o["state"] = r.state;
  o["failure"] = r.failure;
  o["worker"] = r.worker;
  o["worker_address"] = r.worker_address;
  o["healthy"] = r.healthy;
  o["in_flight"] = r.in_flight;
  o["replicas"] = r.replicas;
  o["context_length"] = r.context_length;
  o["last_heartbeat_ms"] = r.last_heartbeat_ms;
  o["registered_ms"] = r.registered_ms;
  return o;
}

Result<InstanceRecord> instance_from_json(const json::value& v) {
  if (!v.is_object()) return Error::invalid("an instance must be a JSON object");
  const auto& o = v.get_object();
  InstanceRecord r;
  for (auto st : {get_string(o, "id", r.id, true), get_string(o, "model", r.model, true),
                  get_string(o, "address", r.address, true), get_string(o, "type", r.type),
                  get_string(o, "engine", r.engine), get_string(o, "state", r.state),
                  get_string(o, "failure", r.failure), get_string(o, "worker", r.worker),
                  get_string(o, "worker_address", r.worker_address)})
    if (!st) return st.error();
  if (r.id.size() > kMaxIdLength)
    return Error::invalid(fmt::format("id must be at most {} characters", kMaxIdLength), "id");
  if (!is_http_url(r.address)) return Error::invalid("address must be an http(s) URL", "address");
  r.address = trim_trailing_slashes(std::move(r.address));
  if (!r.worker_address.empty()) {
    if (!is_http_url(r.worker_address))
      return Error::invalid("worker_address must be an http(s) URL", "worker_address");
    r.worker_address = trim_trailing_slashes(std::move(r.worker_address));
  }
  if (!one_of(r.type, kTypes))
    return Error::invalid(fmt::format("type must be {}", join(kTypes)), "type");
  if (!one_of(r.state, kStates))
    return Error::invalid(fmt::format("state must be {}", join(kStates)), "state");
  constexpr int64_t kIntMax = std::numeric_limits<int>::max();
  constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();
  for (auto st :
       {get_int(o, "weight", r.weight, 0, 1000), get_int(o, "in_flight", r.in_flight, 0, kIntMax),
        get_int(o, "replicas", r.replicas, 0, kIntMax),
        get_int(o, "context_length", r.context_length, 0, kIntMax),
        get_int(o, "last_heartbeat_ms", r.last_heartbeat_ms, 0, kI64Max),
        get_int(o, "registered_ms", r.registered_ms, 0, kI64Max), get_bool(o, "healthy", r.healthy),
        get_labels(o, r.labels)})
    if (!st) return st.error();
  return r;
}

json::object to_json(const RegistryEvent& e) {
  json::object o;
  o["revision"] = e.revision;
  o["type"] = e.kind == EventKind::kPut ? "put" : "delete";
  if (e.kind == EventKind::kPut) {
    o["instance"] = to_json(e.record);
  } else {
    json::object inst;
    inst["id"] = e.record.id;
    inst["model"] = e.record.model;
    o["instance"] = std::move(inst);
  }
  return o;
}

Result<RegistryEvent> event_from_json(const json::value& v) {
  if (!v.is_object()) return Error::invalid("an event must be a JSON object");
  const auto& o = v.get_object();
  RegistryEvent e;
  auto* rev = o.if_contains("revision");
  if (!rev || !(rev->is_uint64() || (rev->is_int64() && rev->get_int64() >= 0)))
    return Error::invalid("revision must be a non-negative integer", "revision");
  e.revision = rev->is_uint64() ? rev->get_uint64() : static_cast<uint64_t>(rev->get_int64());
  std::string type;
  if (auto st = get_string(o, "type", type, true); !st) return st.error();
  if (type != "put" && type != "delete")
    return Error::invalid("type must be put or delete", "type");
  e.kind = type == "put" ? EventKind::kPut : EventKind::kDelete;
  auto* inst = o.if_contains("instance");
  if (!inst || !inst->is_object()) return Error::invalid("instance must be an object", "instance");
  if (e.kind == EventKind::kPut) {
    auto rec = instance_from_json(*inst);
    if (!rec) {
      Error err = rec.error();
      err.param = err.param.empty() ? "instance" : "instance." + err.param;
      return err;
    }
    e.record = std::move(*rec);
  } else {
    const auto& io = inst->get_object();
    for (auto st :
         {get_string(io, "id", e.record.id, true), get_string(io, "model", e.record.model)})
      if (!st) {
        Error err = st.error();
        err.param = "instance." + err.param;
        return err;
      }
  }
  return e;
}

Result<HeartbeatBody> heartbeat_from_json(const json::value& v) {
  HeartbeatBody hb;
  if (v.is_null()) return hb;
  if (!v.is_object()) return Error::invalid("the heartbeat body must be a JSON object");
  const auto& o = v.get_object();
  if (auto* s = o.if_contains("state"); s && !s->is_null()) {
    if (!s->is_string()) return Error::invalid("state must be a string", "state");
    hb.state = std::string(s->get_string());
    if (hb.state != "stopped" && hb.state != "starting" && hb.state != "running" &&
        hb.state != "stopping" && hb.state != "failed" && hb.state != "idle")
      return Error::invalid("state must be stopped, starting, running, stopping, failed or idle",
                            "state");
  }
  if (auto* n = o.if_contains("in_flight"); n && !n->is_null()) {
    if (!n->is_int64() || n->get_int64() < 0 || n->get_int64() > 1'000'000'000)
      return Error::invalid("in_flight must be a non-negative integer", "in_flight");
    hb.in_flight = static_cast<int>(n->get_int64());
  }
  return hb;
}

}  // namespace smmf::registry
