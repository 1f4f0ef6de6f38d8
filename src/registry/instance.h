#pragma once
/// A model instance as the control plane sees it, and its JSON form (the controller's wire
/// format; see docs/architecture.md). Value types, no I/O.
#include <boost/json/value.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/error.h"

namespace smmf::registry {

struct InstanceRecord {
  std::string id;            ///< unique; workers use "<worker_id>/<model>"
  std::string model;         ///< the name clients use
  std::string type = "llm";  ///< llm | embedding | reranker
  std::string address;       ///< base URL of its OpenAI API, e.g. "http://127.0.0.1:8002"
  std::string engine;        ///< "llama.cpp", "openai_compat", "external", ...
  int weight = 1;
  std::map<std::string, std::string> labels;
  std::string state = "running";  ///< the model lifecycle state on its worker
  std::string failure;            ///< reason when state is "failed"
  std::string worker;             ///< id of the hosting worker; empty for external instances
  std::string worker_address;     ///< management address of that worker
  bool healthy = true;            ///< false once heartbeats are missed
  int in_flight = 0;              ///< as last reported
  int replicas = 1;               ///< replicas of the model on that worker
  int context_length = 0;
  int64_t last_heartbeat_ms = 0;  ///< controller clock, unix ms
  int64_t registered_ms = 0;

  /// "idle": an on-demand model that is not loaded; its worker loads it for the first call.
  bool routable() const { return healthy && (state == "running" || state == "idle"); }
};

boost::json::object to_json(const InstanceRecord& r);
/// Validates a registration payload: id, model, address (http/https URL) required; type known;
/// weight 0..1000; field types checked. Errors name the field.
Result<InstanceRecord> instance_from_json(const boost::json::value& v);

enum class EventKind { kPut, kDelete };

/// One change of the registry; revisions grow by one per change.
struct RegistryEvent {
  uint64_t revision = 0;
  EventKind kind = EventKind::kPut;
  InstanceRecord record;  ///< for kDelete, only id (and model) are meaningful
};

boost::json::object to_json(const RegistryEvent& e);
Result<RegistryEvent> event_from_json(const boost::json::value& v);

/// A heartbeat's optional body: {"state": lifecycle state, "in_flight": >= 0}; null is empty.
struct HeartbeatBody {
  std::string state;   ///< empty: unchanged
  int in_flight = -1;  ///< -1: unchanged
};
Result<HeartbeatBody> heartbeat_from_json(const boost::json::value& v);

}  // namespace smmf::registry
