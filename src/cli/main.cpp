#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/serve_command.h"

int main(int argc, char** argv) {
  CLI::App app{
      "SMMF: a service-oriented multi-model management framework.\n"
      "One OpenAI-compatible API over local (llama.cpp) and remote models."};
  app.set_version_flag("--version", std::string("smmf ") + SMMF_VERSION);
  app.require_subcommand(1);

  smmf::cli::ServeOptions serve;
  smmf::cli::add_serve_command(app, serve);
  auto* version = app.add_subcommand("version", "Print the version and exit");

  CLI11_PARSE(app, argc, argv);
  if (version->parsed()) {
    std::cout << "smmf " << SMMF_VERSION << "\n";
    return 0;
  }
  if (app.got_subcommand("serve")) return smmf::cli::run_serve(serve);
  return 0;
}
