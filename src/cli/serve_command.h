#pragma once
/// `smmf serve`: the all-in-one server (worker manager + API server in one process).
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace smmf::cli {

struct ServeOptions {
  std::string config_file;
  std::string host;
  int port = -1;
  int threads = -1;
  std::vector<std::string> model_paths;
  std::vector<std::string> model_names;
  std::vector<std::string> model_types;
  std::string log_level;
};

void add_serve_command(CLI::App& app, ServeOptions& opts);
int run_serve(const ServeOptions& opts);

}  // namespace smmf::cli
