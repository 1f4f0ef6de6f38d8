#include "cli/worker_command.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>

#include <atomic>
#include <cstdlib>
#include <iostream>

#include "cli/observability_setup.h"
#include "common/log.h"
#include "engines/engine_factory.h"
#include "gateway/local_directory.h"
#include "gateway/openai_routes.h"
#include "gateway/state_metrics.h"
#include "net/http_client.h"
#include "protocol/http_errors.h"
#include "worker/registrar.h"
#include "worker/worker_routes.h"

namespace smmf::cli {
namespace asio = boost::asio;

std::string controller_url(const std::string& flag, const std::string& from_config) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("SMMF_CONTROLLER"); env && *env) return env;
  if (!from_config.empty()) return from_config;
  return "http://127.0.0.1:8001";
}

void add_start_worker(CLI::App& start_cmd, WorkerOptions& o) {
  auto* cmd = start_cmd.add_subcommand(
      "worker", "Run a worker: host models, serve them, and register them with a controller.");
  cmd->add_option("-c,--config", o.config_file, "TOML configuration file ([[models]], [worker])")
      ->check(CLI::ExistingFile);
  cmd->add_option("--controller", o.controller,
                  "Controller URL (default: $SMMF_CONTROLLER, else http://127.0.0.1:8001)");
  cmd->add_option("--host", o.host, "Listen address (default 127.0.0.1)");
  cmd->add_option("-p,--port", o.port, "Listen port (default 8002; 0 picks a free port)")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--threads", o.threads, "I/O threads (default: hardware concurrency)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--id", o.id, "Worker id, unique in the cluster (default: host:port)");
  cmd->add_option("--advertise", o.advertise,
                  "URL the API servers use to reach this worker (default http://host:port)");
  cmd->add_option("--heartbeat-interval-ms", o.heartbeat_interval_ms,
                  "Heartbeat interval (default 2000)")
      ->check(CLI::Range(50, 3'600'000));
  o.models.add_to(*cmd);
  cmd->add_option("--log-level", o.log_level, "trace|debug|info|warn|error (default info)");
}

int run_worker(const WorkerOptions& o) {
  Config cfg;
  if (!o.config_file.empty()) {
    auto loaded = load_config_file(o.config_file);
    if (!loaded) {
      std::cerr << "smmf start worker: " << loaded.error().message << "\n";
      return 2;
    }
    cfg = std::move(*loaded);
  }
  cfg.server.port = o.port >= 0 ? static_cast<uint16_t>(o.port) : 8002;
  if (!o.host.empty()) cfg.server.host = o.host;
  if (o.threads >= 0) cfg.server.threads = o.threads;
  if (!o.log_level.empty()) cfg.log.level = o.log_level;
  if (o.heartbeat_interval_ms > 0)
    cfg.worker.heartbeat_interval = std::chrono::milliseconds(o.heartbeat_interval_ms);
  if (auto st = o.models.append_to(cfg.models); !st) {
    std::cerr << "smmf start worker: " << st.error().message << "\n";
    return 2;
  }
  auto controller = net::parse_url(controller_url(o.controller, cfg.worker.controller));
  if (!controller) {
    std::cerr << "smmf start worker: --controller: " << controller.error().message << "\n";
    return 2;
  }
  if (auto st = init_logging(cfg.log.level); !st) {
    std::cerr << "smmf start worker: " << st.error().message << "\n";
    return 2;
  }

  auto obs = make_observability(cfg, "smmf-worker", /*with_api=*/false);
  if (!obs) {
    spdlog::error("{}", obs.error().message);
    return 2;
  }
  asio::io_context ioc(io_concurrency_hint(cfg.server.threads));
  net::ClientOptions http_opts;
  http_opts.keep_idle_timers = true;  // the io_context runs until stopped
  auto http = std::make_shared<net::HttpClient>(ioc.get_executor(), http_opts);
  engines::EngineRegistry engines;
  engines::register_builtin_engines(engines, http);
  worker::ModelManager models(engines, worker::ResidencyLimits::from(cfg.worker));
  for (const auto& m : cfg.models) {
    if (auto st = models.add(m); !st) {
      spdlog::error("{}", st.error().message);
      return 2;
    }
  }

  gateway::LocalDirectory directory(models);
  gateway::GatewayOptions gw;
  gw.max_retries = 0;  // replicas inside one worker are balanced by the ModelManager
  gw.ready = [] { return Status{}; };  // a live worker is healthy; model states are in the registry
  gw.tracer = obs->tracer;
  gw.groups = std::make_shared<gateway::ModelGroups>(cfg);  // its models' call timeouts
  gateway::OpenAiRoutes api(directory, gw);
  worker::WorkerRoutes manage(models);
  obs->scrape_hooks = {gateway::publish_model_metrics(models)};
  auto router = std::make_shared<net::Router>();
  api.install(*router);
  obs->install(*router);
  manage.install(*router);
  auto server = make_server(ioc, cfg, router);
  if (auto st = server->listen(); !st) {
    spdlog::error("{}", st.error().message);
    return 1;
  }
  server->start();

  std::string address =
      !o.advertise.empty() ? o.advertise
      : !cfg.worker.advertise.empty()
          ? cfg.worker.advertise
          : fmt::format("{}://{}:{}", server->scheme(), cfg.server.host, server->port());
  std::string id = !o.id.empty()            ? o.id
                   : !cfg.worker.id.empty() ? cfg.worker.id
                                            : fmt::format("{}:{}", cfg.server.host, server->port());
  spdlog::info("smmf {} worker {} listening on {}://{}:{} (controller {})", SMMF_VERSION, id,
               server->scheme(), cfg.server.host, server->port(), controller->origin());

  auto registrar = std::make_shared<worker::Registrar>(
      ioc.get_executor(), models,
      std::make_shared<worker::HttpControlPlane>(make_cluster_client(ioc, cfg), *controller),
      worker::WorkerIdentity{id, address}, cfg.worker.heartbeat_interval);
  models.on_change([registrar] { registrar->poke(); });
  registrar->start();

  std::atomic<bool> stopping{false};
  int exit_code = 0;
  auto shutdown = [&] {
    if (stopping.exchange(true)) return;
    registrar->stop();  // deregisters first, so API servers stop routing here
    stop_server_then_models(ioc, *server, models);
  };
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        // A worker keeps serving the models that did load; the failed ones are in the registry.
        if (!co_await start_models(models, /*stop_on_failure=*/false)) exit_code = 1;
        spdlog::info("ready: {} model(s)", models.names().size());
        co_await models.unload_idle_loop();
      },
      asio::detached);
  run_until_stopped(ioc, cfg.server.threads, [&](int sig) {
    spdlog::info("signal {}: stopping", sig);
    shutdown();
  });
  return exit_code;
}

}  // namespace smmf::cli
