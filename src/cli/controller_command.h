#pragma once
/// `smmf start controller`: the model registry role (register, heartbeat, list, watch, relay
/// management commands to workers). A thin composition root: config + MemoryRegistry +
/// ControllerRoutes + HttpServer.
#include <CLI/CLI.hpp>

#include <string>

namespace smmf::cli {

struct ControllerOptions {
  std::string config_file;
  std::string host;
  int port = -1;  ///< -1: 8001 (the controller does not take [server].port, which the file
                  ///< usually sets for the API server)
  int threads = -1;
  std::string snapshot_file;
  int heartbeat_interval_ms = -1;
  std::string log_level;
};

/// Adds `controller` under the `start` subcommand group.
void add_start_controller(CLI::App& start_cmd, ControllerOptions& opts);
int run_controller(const ControllerOptions& opts);

}  // namespace smmf::cli
