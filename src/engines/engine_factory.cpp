#include "engines/engine_factory.h"

#include <fmt/format.h>

namespace smmf::engines {

void EngineRegistry::add(std::unique_ptr<EngineFactory> factory) {
  auto name = factory->name();
  factories_[name] = std::move(factory);
}

Result<std::shared_ptr<Engine>> EngineRegistry::create(const ModelConfig& cfg) const {
  auto it = factories_.find(cfg.engine);
  if (it == factories_.end()) {
    std::string known;
    for (const auto& [name, f] : factories_) known += (known.empty() ? "" : ", ") + name;
    return Error::invalid(
        fmt::format("{}: unknown engine '{}' (this build has: {})", cfg.origin, cfg.engine, known),
        "engine");
  }
  return it->second->create(cfg);
}

std::vector<std::string> EngineRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, f] : factories_) out.push_back(name);
  return out;
}

}  // namespace smmf::engines
