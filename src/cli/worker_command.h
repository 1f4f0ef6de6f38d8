#pragma once
/// `smmf start worker`: hosts models on engines, serves them over the OpenAI API and the
/// worker management API, and registers them with a controller.
#include <CLI/CLI.hpp>

#include "cli/runtime.h"

namespace smmf::cli {

struct WorkerOptions {
  std::string config_file;
  std::string controller;
  std::string host;
  int port = -1;
  int threads = -1;
  std::string id;
  std::string advertise;
  int heartbeat_interval_ms = -1;
  ModelFlags models;
  std::string log_level;
};

void add_start_worker(CLI::App& start_cmd, WorkerOptions& opts);
int run_worker(const WorkerOptions& opts);

/// The controller URL: the flag, else $SMMF_CONTROLLER, else the config, else the default.
std::string controller_url(const std::string& flag, const std::string& from_config = {});

}  // namespace smmf::cli
