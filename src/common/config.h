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
  /// Residency of models with local weights (see docs/configuration.md, on-demand loading).
  int max_loaded_models = 0;                        ///< loaded at once; 0 = no limit
  uint64_t max_loaded_bytes = 0;                    ///< sum of loaded GGUF file sizes; 0 = no limit
  std::chrono::milliseconds load_timeout{120'000};  ///< a call waits this long for a load
  int max_load_waiters = 64;  ///< calls waiting for one model's load; beyond: 429
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
  int weight = 1;          ///< share of traffic under the weighted policy
  bool on_demand = false;  ///< load = "on_demand": loaded by the first call, not at start
  std::chrono::milliseconds idle_unload_after{0};  ///< unloaded after this long unused; 0 = never
  boost::json::object params;
  std::chrono::milliseconds request_timeout{0};      ///< whole call; 0 = none
  std::chrono::milliseconds first_token_timeout{0};  ///< request -> first streamed token; 0 = none
  std::string origin;                                ///< "file.toml: models[2]" for error messages
};

/// A name that stands for an ordered list of models: each call goes to the first member that
/// can take it, and falls back to the next when every instance of one is unavailable or fails
/// before the first byte reached the client.
struct GroupConfig {
  std::string name;
  std::vector<std::string> models;
  std::chrono::milliseconds request_timeout{0};
  std::chrono::milliseconds first_token_timeout{0};
  std::string origin;
};

/// Tracing, metrics and feedback (docs/observability.md).
struct ObservabilityConfig {
  bool tracing = true;                    ///< make spans and export them (when a sink below is set)
  std::string capture = "redacted";       ///< full | redacted | off: inputs/outputs kept in spans
  size_t max_capture_chars = 16384;       ///< longer captured texts are cut
  std::string trace_dir;                  ///< JSONL span files; empty = no files
  uint64_t max_file_bytes = 16ull << 20;  ///< a trace file is rotated past this size
  int max_files = 10;                     ///< oldest trace files beyond this are removed
  std::string otlp_endpoint;  ///< OpenTelemetry collector (OTLP/HTTP JSON); empty = none
  size_t otlp_batch = 512;    ///< spans per POST at most
  std::chrono::milliseconds flush_interval{1000};  ///< OTLP batches leave at least this often
  size_t queue_capacity = 8192;  ///< spans waiting for the writer; beyond: dropped and counted
  std::string feedback_db;       ///< SQLite file for POST /v1/feedback; empty = feedback off
};

struct Config {
  ServerConfig server;
  LogConfig log;
  ControllerConfig controller;
  WorkerConfig worker;
  RoutingConfig routing;
  ObservabilityConfig observability;
  std::vector<ModelConfig> models;
  std::vector<GroupConfig> groups;
  std::vector<ApiKeyConfig> keys;  ///< empty = the API is open (no key needed)
  ClusterConfig cluster;
};

/// Parses TOML text; `source` names it in errors.
Result<Config> parse_config(std::string_view toml_text, std::string_view source);
Result<Config> load_config_file(const std::string& path);

/// Replaces ${VAR} / ${VAR:-default}; `$$` is a literal `$`.
Result<std::string> interpolate_env(std::string_view s);

}  // namespace smmf
