#pragma once
/// Where the gateway finds a model's instances. The all-in-one server adapts the local
/// worker::ModelManager (local_directory.h); cluster mode routes over the registry.
/// Thread-safe; `pick` never waits on the network.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "engines/engine.h"
#include "protocol/openai_types.h"

namespace smmf::gateway {
namespace asio = boost::asio;

/// What a call tells the directory about the instance it wants.
struct PickHints {
  std::vector<std::string> exclude;  ///< instances already tried by this call
  std::string affinity_key;          ///< session key for session_affinity
};

class ModelDirectory {
 public:
  /// An instance chosen for one call; `hold` keeps it leased (in-flight counted) until dropped.
  struct Pick {
    std::shared_ptr<void> hold;
    engines::Engine* engine = nullptr;
    std::string instance;
  };

  virtual ~ModelDirectory() = default;
  /// Models that can take calls now.
  virtual std::vector<protocol::ModelCard> models() const = 0;
  /// NotFound for an unknown model, Unavailable when none of its instances runs.
  virtual Result<Pick> pick(std::string_view model, const PickHints& hints = {}) = 0;
  /// The outcome of a call on a picked instance (drives passive outlier ejection).
  virtual void report(const Pick& /*pick*/, const Status& /*outcome*/) {}
  /// Ready when every configured model runs (for /healthz).
  virtual Status ready() const = 0;
};

}  // namespace smmf::gateway
