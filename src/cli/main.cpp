#include <CLI/CLI.hpp>

#include <iostream>
#include <string>

#ifdef SMMF_WITH_MIMALLOC
#include <mimalloc.h>
#endif

#include "cli/apiserver_command.h"
#include "cli/controller_command.h"
#include "cli/keys_command.h"
#include "cli/model_command.h"
#include "cli/serve_command.h"
#include "cli/trace_command.h"
#include "cli/worker_command.h"

namespace {
// Which malloc serves the process (`smmf version`); also keeps the link to mimalloc, whose
// malloc/free replace glibc's, even under --as-needed.
std::string allocator() {
#ifdef SMMF_WITH_MIMALLOC
  const int v = mi_version();
  return "mimalloc " + std::to_string(v / 100) + "." + std::to_string(v / 10 % 10) + "." +
         std::to_string(v % 10);
#else
  return "libc";
#endif
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "SMMF: a service-oriented multi-model management framework.\n"
      "One OpenAI-compatible API over local (llama.cpp) and remote models."};
  app.set_version_flag("--version", std::string("smmf ") + SMMF_VERSION);
  app.require_subcommand(1);

  smmf::cli::ServeOptions serve;
  smmf::cli::add_serve_command(app, serve);
  auto* start = app.add_subcommand("start", "Run one role of a distributed deployment");
  start->require_subcommand(1);
  smmf::cli::ControllerOptions controller;
  smmf::cli::add_start_controller(*start, controller);
  smmf::cli::WorkerOptions worker;
  smmf::cli::add_start_worker(*start, worker);
  smmf::cli::ApiServerOptions apiserver;
  smmf::cli::add_start_apiserver(*start, apiserver);
  smmf::cli::ModelOptions model;
  smmf::cli::add_model_command(app, model);
  smmf::cli::TraceOptions trace;
  smmf::cli::add_trace_command(app, trace);
  smmf::cli::KeysOptions keys;
  smmf::cli::add_keys_command(app, keys);
  auto* version = app.add_subcommand("version", "Print the version and exit");

  CLI11_PARSE(app, argc, argv);
  if (version->parsed()) {
    std::cout << "smmf " << SMMF_VERSION << "\nallocator: " << allocator() << "\n";
    return 0;
  }
  if (app.got_subcommand("serve")) return smmf::cli::run_serve(serve);
  if (start->got_subcommand("controller")) return smmf::cli::run_controller(controller);
  if (start->got_subcommand("worker")) return smmf::cli::run_worker(worker);
  if (start->got_subcommand("apiserver")) return smmf::cli::run_apiserver(apiserver);
  if (app.got_subcommand("model")) return smmf::cli::run_model(model);
  if (app.got_subcommand("trace")) return smmf::cli::run_trace(trace);
  if (app.got_subcommand("keys"))
    return smmf::cli::run_keys_hash(keys, std::cin, std::cout, std::cerr);
  return 0;
}
