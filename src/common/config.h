#pragma once
/// The TOML configuration file (format in docs/configuration.md). Loading fails fast with the
/// file, key and reason. `${VAR}` and `${VAR:-default}` in string values are replaced from the
/// environment; an unset variable without a default is an error.
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/error.h"

namespace smmf {

/// Limits and timeouts of one HTTP listener; every one documented with its default.
struct ServerConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 8000;
  int threads = 0;                            ///< I/O threads; 0 = hardware concurrency
  size_t max_body_bytes = 16 << 20;           ///< larger request bodies get 413
  size_t max_header_bytes = 64 << 10;         ///< larger request headers get 431
  std::chrono::seconds header_timeout{30};    ///< to read a request's header and body
  std::chrono::seconds idle_timeout{60};      ///< keep-alive connection with no request
  std::chrono::seconds write_timeout{60};     ///< one write stalled this long drops the client
  std::chrono::seconds shutdown_grace{30};    ///< in-flight requests may finish this long
  size_t max_connections = 10000;             ///< beyond it new connections get 503
  std::chrono::seconds request_timeout{600};  ///< whole exchange, request read to answer; 0 = none
  std::string tls_cert;                       ///< PEM certificate chain; with tls_key: HTTPS only
  std::string tls_key;                        ///< PEM private key
  std::vector<std::string> cors_origins;      ///< allowed browser origins; "*" = any; empty = off
};

/// One API key (docs/security.md). Only the key's hash is stored.
struct ApiKeyConfig {
  std::string name;                              ///< shown in logs and errors
  std::string hash;                              ///< "sha256:<64 hex digits>" of the key
  std::vector<std::string> scopes{"inference"};  ///< inference | admin
  std::vector<std::string> models;               ///< models it may call; empty = all
  uint32_t requests_per_minute = 0;              ///< 0 = unlimited
  uint64_t tokens_per_minute = 0;                ///< prompt + completion; 0 = unlimited
  uint32_t max_concurrent = 0;                   ///< requests in flight at once; 0 = unlimited
};

/// What the roles of one cluster share.
struct ClusterConfig {
  std::string token;    ///< sent by workers and API servers, required by controllers and workers
  std::string ca_file;  ///< CA bundle to verify the other roles' HTTPS certificates (+ system)
};

struct LogConfig {
  std::string level = "info";  ///< trace | debug | info | warn | error
  bool access_log = true;      ///< one line per request
};

/// The model controller (registry) role.
struct ControllerConfig {
  std::chrono::milliseconds heartbeat_interval{2000};  ///< what workers are told to use
  int unhealthy_after_missed = 3;  ///< heartbeats missed before an instance is unhealthy
  int remove_after_missed = 15;    ///< heartbeats missed before it is removed
  std::string snapshot_file;       ///< empty = no snapshot; else restored at start
};

/// The worker role: where it registers and how it is reached.
struct WorkerConfig {
  std::string controller;  ///< controller URL, e.g. http://127.0.0.1:8001
  std::string id;          ///< default: host:port
  std::string advertise;   ///< URL others use to reach it; default http://host:port
  std::chrono::milliseconds heartbeat_interval{2000};
};

/// How the API server picks an instance and recovers from failures.
struct RoutingConfig {
  std::string policy =
      "least_outstanding";  ///< least_outstanding|round_robin|random|weighted|session_affinity
  std::map<std::string, std::string> model_policies;  ///< per model override
  std::string affinity_header = "x-session-id";  ///< session_affinity key (else the "user" field)
  int max_retries = 2;                           ///< other instances tried after a failure
  int eject_after_failures = 3;                  ///< consecutive failures that eject an instance
  std::chrono::milliseconds eject_base{2000};    ///< first ejection; doubles each time, max 60 s
  std::chrono::milliseconds health_check_interval{2000};  ///< active GET /healthz; 0 = off
  std::chrono::milliseconds health_check_timeout{1000};
};

/// One served model. `params` holds engine-specific settings, validated by the engine's factory.
struct ModelConfig {
  std::string name;          ///< the id clients use
  std::string type = "llm";  ///< llm | embedding | reranker
  std::string engine = "llama.cpp";
  std::string path;  ///< model file for local engines
  int replicas = 1;
  int weight = 1;  ///< share of traffic under the weighted policy
  boost::json::object params;
  std::string origin;  ///< "file.toml: models[2]" for error messages
};

struct Config {
  ServerConfig server;
  LogConfig log;
  ControllerConfig controller;
  WorkerConfig worker;
  RoutingConfig routing;
  std::vector<ModelConfig> models;
  std::vector<ApiKeyConfig> keys;  ///< empty = the API is open (no key needed)
  ClusterConfig cluster;
};

/// Parses TOML text; `source` names it in errors.
Result<Config> parse_config(std::string_view toml_text, std::string_view source);
Result<Config> load_config_file(const std::string& path);

/// Replaces ${VAR} / ${VAR:-default}; `$$` is a literal `$`.
Result<std::string> interpolate_env(std::string_view s);

}  // namespace smmf
