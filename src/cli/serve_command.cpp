#include "cli/serve_command.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>

#include "cli/observability_setup.h"
#include "common/log.h"
#include "controller/controller_routes.h"
#include "dashboard/dashboard_routes.h"
#include "engines/engine_factory.h"
#include "gateway/cluster_directory.h"
#include "gateway/openai_routes.h"
#include "gateway/remote_instance.h"
#include "gateway/state_metrics.h"
#include "net/http_client.h"
#include "protocol/http_errors.h"
#include "registry/memory_registry.h"
#include "worker/local_engine.h"
#include "worker/registrar.h"
#include "worker/worker_routes.h"

#ifndef SMMF_DEFAULT_MODEL_DIR
#define SMMF_DEFAULT_MODEL_DIR ""
#endif

namespace smmf::cli {
namespace asio = boost::asio;

void add_serve_command(CLI::App& app, ServeOptions& o) {
  auto* cmd = app.add_subcommand(
      "serve",
      "Run the all-in-one server: controller, worker and OpenAI-compatible API in one process.\n"
      "With neither --config nor --model, serves the default tiny chat and embedding models.");
  cmd->add_option("-c,--config", o.config_file, "TOML configuration file")
      ->check(CLI::ExistingFile);
  cmd->add_option("--host", o.host, "Listen address (default 127.0.0.1)");
  cmd->add_option("-p,--port", o.port, "Listen port (default 8000; 0 picks a free port)")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--threads", o.threads, "I/O threads (default: hardware concurrency)")
      ->check(CLI::Range(0, 1024));
  o.models.add_to(*cmd);
  cmd->add_option("--log-level", o.log_level, "trace|debug|info|warn|error (default info)");
}

namespace {

Status add_default_models(std::vector<ModelConfig>& out) {
  const char* env = std::getenv("SMMF_MODEL_DIR");
  std::filesystem::path dir = env && *env ? env : SMMF_DEFAULT_MODEL_DIR;
  for (auto [name, type, file] : {std::tuple{"tiny-chat", "llm", "tiny-chat.gguf"},
                                  std::tuple{"tiny-embed", "embedding", "tiny-embed.gguf"}}) {
    ModelConfig m;
    m.name = name;
    m.type = type;
    m.path = (dir / file).string();
    m.origin = "default model";
    if (!std::filesystem::exists(m.path))
      return Error::not_found(fmt::format(
          "default model {} not found (made by `make`; set SMMF_MODEL_DIR to its folder)", m.path));
    out.push_back(std::move(m));
  }
  return {};
}

Result<Config> build_config(const ServeOptions& o) {
  Config cfg;
  if (!o.config_file.empty()) {
    auto loaded = load_config_file(o.config_file);
    if (!loaded) return loaded.error();
    cfg = std::move(*loaded);
  }
  if (!o.host.empty()) cfg.server.host = o.host;
  if (o.port >= 0) cfg.server.port = static_cast<uint16_t>(o.port);
  if (o.threads >= 0) cfg.server.threads = o.threads;
  if (!o.log_level.empty()) cfg.log.level = o.log_level;
  if (auto st = o.models.append_to(cfg.models); !st) return st.error();
  if (cfg.models.empty() && o.config_file.empty()) {
    if (auto st = add_default_models(cfg.models); !st) return st.error();
  }
  return cfg;
}

}  // namespace

int run_serve(const ServeOptions& opts) {
  auto cfg = build_config(opts);
  if (!cfg) {
    std::cerr << "smmf serve: " << cfg.error().message << "\n";
    return 2;
  }
  if (auto st = init_logging(cfg->log.level); !st) {
    std::cerr << "smmf serve: " << st.error().message << "\n";
    return 2;
  }

  auto obs = make_observability(*cfg, "smmf-serve", /*with_api=*/true);
  if (!obs) {
    spdlog::error("{}", obs.error().message);
    return 2;
  }
  asio::io_context ioc(io_concurrency_hint(cfg->server.threads));
  net::ClientOptions http_opts;
  http_opts.keep_idle_timers = true;  // the io_context runs until stopped
  auto http = std::make_shared<net::HttpClient>(ioc.get_executor(), http_opts);
  auto cluster_http = make_cluster_client(ioc, *cfg);  // to other roles, with the cluster token
  engines::EngineRegistry engines;
  engines::register_builtin_engines(engines, http);
  worker::ModelManager models(engines, worker::ResidencyLimits::from(cfg->worker));
  for (const auto& m : cfg->models) {
    if (auto st = models.add(m); !st) {
      spdlog::error("{}", st.error().message);
      return 2;
    }
  }

  // The embedded control plane: a registry with the controller's API.
  registry::MemoryRegistry registry(cfg->controller.snapshot_file);
  controller::ControllerRoutes controller(registry, cfg->controller, cluster_http);
  const std::string self_id = "local";

  gateway::ClusterDirectory directory(
      cfg->routing,
      [&](const registry::InstanceRecord& rec) -> Result<gateway::ClusterDirectory::Connection> {
        if (rec.worker == self_id) {
          engines::EngineInfo info;
          info.engine = rec.engine;
          info.type =
              protocol::model_type_from_string(rec.type).value_or(protocol::ModelType::kLlm);
          info.context_length = rec.context_length;
          return gateway::ClusterDirectory::Connection{
              std::make_shared<worker::LocalEngine>(models, rec.model, info), true};
        }
        return gateway::connect_remote(rec, cluster_http);
      });
  // The registry feeds the directory in-process, in revision order.
  std::mutex feed_mu;
  uint64_t fed = 0;
  auto feed = [&] {
    std::lock_guard lock(feed_mu);
    auto changes = registry.changes_since(fed);
    if (changes.revision == fed && !changes.snapshot) return;
    fed = changes.revision;
    directory.apply(changes);
  };
  registry.subscribe([&](uint64_t) { feed(); });
  feed();

  gateway::GatewayOptions gw;
  gw.max_retries = cfg->routing.max_retries;
  gw.affinity_header = cfg->routing.affinity_header;
  gw.groups = std::make_shared<gateway::ModelGroups>(*cfg);
  gw.ready = [&]() -> Status {
    for (const auto& m : models.list())
      if (m.running == 0 && m.state != worker::ModelState::kIdle)
        return Error::unavailable(fmt::format("model '{}' is {}{}{}", m.name, to_string(m.state),
                                              m.failure.empty() ? "" : ": ", m.failure));
    return {};
  };
  gw.tracer = obs->tracer;
  gateway::OpenAiRoutes api(directory, gw);
  worker::WorkerRoutes manage(models);
  obs->scrape_hooks = {gateway::publish_model_metrics(models),
                       gateway::publish_instance_metrics(directory)};
  auto router = std::make_shared<net::Router>();
  // First installed wins: the API's /healthz (ready when the models run) over the controller's,
  // and the worker's own /api/v1/models actions over the controller's relay of the same paths,
  // which in one process would only call back into this server.
  api.install(*router);
  obs->install(*router);
  manage.install(*router);
  controller.install(*router);
  dashboard::install_dashboard(*router);

  auto server = make_server(ioc, *cfg, router);
  if (auto st = server->listen(); !st) {
    spdlog::error("{}", st.error().message);
    return 1;
  }
  server->start();
  controller.start(ioc.get_executor());
  std::string address =
      fmt::format("{}://{}:{}", server->scheme(), cfg->server.host, server->port());
  spdlog::info("smmf {} listening on {}", SMMF_VERSION, address);

  auto registrar = std::make_shared<worker::Registrar>(
      ioc.get_executor(), models, std::make_shared<worker::LocalControlPlane>(registry),
      worker::WorkerIdentity{self_id, address}, cfg->controller.heartbeat_interval);
  models.on_change([registrar] { registrar->poke(); });
  registrar->start();
  net::ClientOptions probe_opts;
  probe_opts.connect_timeout = cfg->routing.health_check_timeout;
  probe_opts.first_byte_timeout = cfg->routing.health_check_timeout;
  asio::co_spawn(ioc, directory.health_check_loop(make_cluster_client(ioc, *cfg, probe_opts)),
                 asio::detached);

  int exit_code = 0;
  std::atomic<bool> stopping{false};
  auto shutdown = [&] {
    if (stopping.exchange(true)) return;
    registrar->stop();
    directory.stop();
    controller.stop();
    stop_server_then_models(ioc, *server, models);
  };

  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        if (!co_await start_models(models, /*stop_on_failure=*/true)) {
          exit_code = 1;
          asio::post(ioc, shutdown);
          co_return;
        }
        spdlog::info("ready: {} model(s) running", models.names().size());
        co_await models.unload_idle_loop();
      },
      asio::detached);

  run_until_stopped(ioc, cfg->server.threads, [&](int sig) {
    spdlog::info("signal {}: stopping (in-flight requests may finish within {}s)", sig,
                 cfg->server.shutdown_grace.count());
    shutdown();
  });
  return exit_code;
}

}  // namespace smmf::cli
