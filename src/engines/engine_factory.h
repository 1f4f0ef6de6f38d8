#pragma once
/// Engine factories: each engine folder exports `register_<name>(EngineRegistry&)`, and the
/// composition root calls register_builtin_engines(). No static self-registration.
/// Thread-safety: populate once at start-up, then read-only (safe to share).
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/config.h"
#include "engines/engine.h"

namespace smmf::engines {

class EngineFactory {
 public:
  virtual ~EngineFactory() = default;
  virtual std::string name() const = 0;
  /// Validates `cfg` (type, path, params: unknown or ill-typed keys are errors naming the key)
  /// and builds an engine that is not yet loaded.
  virtual Result<std::shared_ptr<Engine>> create(const ModelConfig& cfg) const = 0;
};

class EngineRegistry {
 public:
  void add(std::unique_ptr<EngineFactory> factory);
  Result<std::shared_ptr<Engine>> create(const ModelConfig& cfg) const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, std::unique_ptr<EngineFactory>, std::less<>> factories_;
};

}  // namespace smmf::engines

namespace smmf::net {
class HttpClient;
}

namespace smmf::engines {

/// Registers every engine compiled in (CMake options choose which). Engines that reach
/// upstreams over HTTP share `http`.
void register_builtin_engines(EngineRegistry& registry, std::shared_ptr<net::HttpClient> http);

}  // namespace smmf::engines
