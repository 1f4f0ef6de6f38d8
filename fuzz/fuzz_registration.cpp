// libFuzzer target: the controller's payloads: instance registration (POST /api/v1/instances),
// heartbeat bodies, and the watch events the API servers read back. A record that validates is
// stored in a MemoryRegistry (as the controller does) and must round-trip through its JSON.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "protocol/openai_json.h"
#include "registry/instance.h"
#include "registry/memory_registry.h"

using namespace smmf;

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto v = protocol::parse_json(body);
  if (!v) return 0;
  switch (data[0] % 3) {
    case 0: {
      auto rec = registry::instance_from_json(*v);
      if (!rec) return 0;
      auto again = registry::instance_from_json(boost::json::value(registry::to_json(*rec)));
      check(again.has_value() && again->id == rec->id && again->address == rec->address);
      registry::MemoryRegistry reg;
      check(reg.put(*rec).has_value());
      check(reg.get(rec->id).has_value());
      check(reg.heartbeat(rec->id, "running", 1).has_value());
      check(reg.remove(rec->id).has_value());
      break;
    }
    case 1:
      (void)registry::heartbeat_from_json(*v);
      break;
    default: {
      auto ev = registry::event_from_json(*v);
      if (ev)
        check(registry::event_from_json(boost::json::value(registry::to_json(*ev))).has_value());
      break;
    }
  }
  return 0;
}
