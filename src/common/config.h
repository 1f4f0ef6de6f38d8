#pragma once
/// The TOML configuration file (format in docs/configuration.md). Loading fails fast with the
/// file, key and reason. `${VAR}` and `${VAR:-default}` in string values are replaced from the
/// environment; an unset variable without a default is an error.
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"

namespace smmf {

/// Limits and timeouts of one HTTP listener; every one documented with its default.
struct ServerConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 8000;
  int threads = 0;                          ///< I/O threads; 0 = hardware concurrency
  size_t max_body_bytes = 16 << 20;         ///< larger request bodies get 413
  size_t max_header_bytes = 64 << 10;       ///< larger request headers get 431
  std::chrono::seconds header_timeout{30};  ///< to read a request's header and body
  std::chrono::seconds idle_timeout{60};    ///< keep-alive connection with no request
  std::chrono::seconds write_timeout{60};   ///< one write stalled this long drops the client
  std::chrono::seconds shutdown_grace{30};  ///< in-flight requests may finish this long
  size_t max_connections = 10000;           ///< beyond it new connections get 503
  size_t max_queued_requests = 256;         ///< per model, beyond it 429 (engines)
};

struct LogConfig {
  std::string level = "info";  ///< trace | debug | info | warn | error
  bool access_log = true;      ///< one line per request
};

/// One served model. `params` holds engine-specific settings, validated by the engine's factory.
struct ModelConfig {
  std::string name;          ///< the id clients use
  std::string type = "llm";  ///< llm | embedding | reranker
  std::string engine = "llama.cpp";
  std::string path;  ///< model file for local engines
  int replicas = 1;
  boost::json::object params;
  std::string origin;  ///< "file.toml: models[2]" for error messages
};

struct Config {
  ServerConfig server;
  LogConfig log;
  std::vector<ModelConfig> models;
};

/// Parses TOML text; `source` names it in errors.
Result<Config> parse_config(std::string_view toml_text, std::string_view source);
Result<Config> load_config_file(const std::string& path);

/// Replaces ${VAR} / ${VAR:-default}; `$$` is a literal `$`.
Result<std::string> interpolate_env(std::string_view s);

}  // namespace smmf
