#include "gateway/local_directory.h"

#include <fmt/format.h>

#include "worker/local_engine.h"

namespace smmf::gateway {

std::vector<protocol::ModelCard> LocalDirectory::models() const {
  std::vector<protocol::ModelCard> out;
  for (const auto& m : models_.list()) {
    if (m.running == 0 && m.state != worker::ModelState::kIdle) continue;
    protocol::ModelCard card;
    card.id = m.name;
    card.type = protocol::model_type_from_string(m.type).value_or(protocol::ModelType::kLlm);
    card.created = m.created;
    card.context_length = m.context_length;
    out.push_back(std::move(card));
  }
  return out;
}

Result<ModelDirectory::Pick> LocalDirectory::pick(std::string_view model, const PickHints&) {
  auto lease = models_.acquire(model);
  if (!lease && lease.error().code == ErrorCode::kUnavailable && models_.loads_on_demand(model)) {
    // Idle or loading: an engine whose calls wait for the load.
    auto waiting =
        std::make_shared<worker::LocalEngine>(models_, std::string(model), engines::EngineInfo{});
    Pick p;
    p.engine = waiting.get();
    p.instance = std::string(model);
    p.hold = std::move(waiting);
    return p;
  }
  if (!lease) return lease.error();
  auto held = std::make_shared<worker::Lease>(std::move(*lease));
  Pick p;
  p.engine = &held->engine();
  p.instance = held->instance_id();
  p.hold = std::move(held);
  return p;
}

Status LocalDirectory::ready() const {
  for (const auto& m : models_.list()) {
    if (m.running == 0 && m.state != worker::ModelState::kIdle)
      return Error::unavailable(fmt::format("model '{}' is {}{}{}", m.name, to_string(m.state),
                                            m.failure.empty() ? "" : ": ", m.failure));
  }
  return {};
}

}  // namespace smmf::gateway
