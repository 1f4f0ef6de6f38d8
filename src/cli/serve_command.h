#pragma once
/// `smmf serve`: the all-in-one server. The same rooms as a cluster, wired in one process:
/// an embedded registry with the controller's API, a worker whose models register there
/// in-process, and the API server routing from the registry (in-process calls, no HTTP hop;
/// external instances registered through the controller API are reached over HTTP).
#include <CLI/CLI.hpp>

#include <string>

#include "cli/runtime.h"

namespace smmf::cli {

struct ServeOptions {
  std::string config_file;
  std::string host;
  int port = -1;
  int threads = -1;
  ModelFlags models;
  std::string log_level;
};

void add_serve_command(CLI::App& app, ServeOptions& opts);
int run_serve(const ServeOptions& opts);

}  // namespace smmf::cli
