#include "gateway/model_groups.h"

namespace smmf::gateway {

ModelGroups::ModelGroups(const Config& cfg) : groups_(cfg.groups) {
  for (const auto& m : cfg.models)
    if (m.request_timeout.count() > 0 || m.first_token_timeout.count() > 0)
      timeouts_[m.name] = CallTimeouts{m.request_timeout, m.first_token_timeout};
  for (const auto& g : cfg.groups)
    if (g.request_timeout.count() > 0 || g.first_token_timeout.count() > 0)
      timeouts_[g.name] = CallTimeouts{g.request_timeout, g.first_token_timeout};
}

std::vector<std::string> ModelGroups::candidates(std::string_view name) const {
  for (const auto& g : groups_)
    if (g.name == name) return g.models;
  return {std::string(name)};
}

bool ModelGroups::is_group(std::string_view name) const {
  for (const auto& g : groups_)
    if (g.name == name) return true;
  return false;
}

CallTimeouts ModelGroups::timeouts(std::string_view name) const {
  auto it = timeouts_.find(name);
  return it == timeouts_.end() ? CallTimeouts{} : it->second;
}

std::vector<protocol::ModelCard> ModelGroups::cards(
    std::span<const protocol::ModelCard> models) const {
  std::vector<protocol::ModelCard> out;
  for (const auto& g : groups_) {
    for (const auto& member : g.models) {
      auto it = std::find_if(models.begin(), models.end(),
                             [&](const protocol::ModelCard& c) { return c.id == member; });
      if (it == models.end()) continue;
      protocol::ModelCard card = *it;
      card.id = g.name;
      out.push_back(std::move(card));
      break;
    }
  }
  return out;
}

}  // namespace smmf::gateway
