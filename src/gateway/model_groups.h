#pragma once
/// Model groups (fallbacks) and per-name call timeouts, from the [[groups]] and [[models]]
/// tables of the configuration. A group name stands for an ordered list of models; the gateway
/// tries them in order (see OpenAiRoutes). Immutable after construction: thread-safe.
#include <chrono>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.h"
#include "protocol/openai_types.h"

namespace smmf::gateway {

struct CallTimeouts {
  std::chrono::milliseconds request{0};      ///< the whole call; 0 = none
  std::chrono::milliseconds first_token{0};  ///< until the first streamed token; 0 = none
};

class ModelGroups {
 public:
  ModelGroups() = default;
  /// Groups from cfg.groups; timeouts from cfg.models and cfg.groups.
  explicit ModelGroups(const Config& cfg);

  /// The models a call to `name` may use, in order: a group's members, else {name}.
  std::vector<std::string> candidates(std::string_view name) const;
  bool is_group(std::string_view name) const;
  /// The timeouts of the name the client called (a model or a group).
  CallTimeouts timeouts(std::string_view name) const;
  /// Cards of the groups that have a member among `models` (type and context length of the
  /// first such member).
  std::vector<protocol::ModelCard> cards(std::span<const protocol::ModelCard> models) const;

 private:
  std::vector<GroupConfig> groups_;
  std::map<std::string, CallTimeouts, std::less<>> timeouts_;
};

}  // namespace smmf::gateway
