#pragma once
/// `smmf start apiserver`: the OpenAI-compatible API over every healthy instance in the
/// registry, routed from a local copy kept current by the controller's watch.
#include <CLI/CLI.hpp>

#include "cli/runtime.h"

namespace smmf::cli {

struct ApiServerOptions {
  std::string config_file;
  std::string controller;
  std::string host;
  int port = -1;
  int threads = -1;
  std::string policy;
  std::string log_level;
};

void add_start_apiserver(CLI::App& start_cmd, ApiServerOptions& opts);
int run_apiserver(const ApiServerOptions& opts);

}  // namespace smmf::cli
