#include "cli/apiserver_command.h"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <atomic>
#include <iostream>

#include "cli/observability_setup.h"
#include "cli/worker_command.h"
#include "common/log.h"
#include "gateway/cluster_directory.h"
#include "gateway/controller_watch.h"
#include "gateway/openai_routes.h"
#include "gateway/remote_instance.h"
#include "gateway/state_metrics.h"
#include "net/http_client.h"

namespace smmf::cli {
namespace asio = boost::asio;

void add_start_apiserver(CLI::App& start_cmd, ApiServerOptions& o) {
  auto* cmd = start_cmd.add_subcommand(
      "apiserver", "Run an API server: the OpenAI API over the instances in the registry.");
  cmd->add_option("-c,--config", o.config_file, "TOML configuration file ([server], [routing])")
      ->check(CLI::ExistingFile);
  cmd->add_option("--controller", o.controller,
                  "Controller URL (default: $SMMF_CONTROLLER, else http://127.0.0.1:8001)");
  cmd->add_option("--host", o.host, "Listen address (default 127.0.0.1)");
  cmd->add_option("-p,--port", o.port, "Listen port (default 8000; 0 picks a free port)")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--threads", o.threads, "I/O threads (default: hardware concurrency)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--policy", o.policy,
                  "Default instance selection: least_outstanding|round_robin|random|weighted|"
                  "session_affinity");
  cmd->add_option("--log-level", o.log_level, "trace|debug|info|warn|error (default info)");
}

int run_apiserver(const ApiServerOptions& o) {
  Config cfg;
  if (!o.config_file.empty()) {
    auto loaded = load_config_file(o.config_file);
    if (!loaded) {
      std::cerr << "smmf start apiserver: " << loaded.error().message << "\n";
      return 2;
    }
    cfg = std::move(*loaded);
  }
  if (!o.host.empty()) cfg.server.host = o.host;
  if (o.port >= 0) cfg.server.port = static_cast<uint16_t>(o.port);
  if (o.threads >= 0) cfg.server.threads = o.threads;
  if (!o.log_level.empty()) cfg.log.level = o.log_level;
  if (!o.policy.empty()) {
    if (!gateway::policy_from_string(o.policy)) {
      std::cerr << "smmf start apiserver: unknown --policy '" << o.policy << "'\n";
      return 2;
    }
    cfg.routing.policy = o.policy;
  }
  auto controller = net::parse_url(controller_url(o.controller, cfg.worker.controller));
  if (!controller) {
    std::cerr << "smmf start apiserver: --controller: " << controller.error().message << "\n";
    return 2;
  }
  if (auto st = init_logging(cfg.log.level); !st) {
    std::cerr << "smmf start apiserver: " << st.error().message << "\n";
    return 2;
  }

  auto obs = make_observability(cfg, "smmf-apiserver", /*with_api=*/true);
  if (!obs) {
    spdlog::error("{}", obs.error().message);
    return 2;
  }
  asio::io_context ioc(io_concurrency_hint(cfg.server.threads));
  auto http = make_cluster_client(ioc, cfg);  // only the roles are called: with the token
  gateway::ClusterDirectory directory(cfg.routing, [&](const registry::InstanceRecord& rec) {
    return gateway::connect_remote(rec, http);
  });
  gateway::GatewayOptions gw;
  gw.max_retries = cfg.routing.max_retries;
  gw.affinity_header = cfg.routing.affinity_header;
  gw.tracer = obs->tracer;
  gw.groups = std::make_shared<gateway::ModelGroups>(cfg);
  gateway::OpenAiRoutes api(directory, gw);
  obs->scrape_hooks = {gateway::publish_instance_metrics(directory)};
  auto router = std::make_shared<net::Router>();
  api.install(*router);
  obs->install(*router);
  auto server = make_server(ioc, cfg, router);
  if (auto st = server->listen(); !st) {
    spdlog::error("{}", st.error().message);
    return 1;
  }
  server->start();
  spdlog::info("smmf {} apiserver listening on {}://{}:{} (controller {}, policy {})", SMMF_VERSION,
               server->scheme(), cfg.server.host, server->port(), controller->origin(),
               cfg.routing.policy);

  gateway::ControllerWatch watch(http, *controller, directory);
  asio::co_spawn(ioc, watch.run(), asio::detached);
  net::ClientOptions probe_opts;
  probe_opts.connect_timeout = cfg.routing.health_check_timeout;
  probe_opts.first_byte_timeout = cfg.routing.health_check_timeout;
  asio::co_spawn(ioc, directory.health_check_loop(make_cluster_client(ioc, cfg, probe_opts)),
                 asio::detached);

  std::atomic<bool> stopping{false};
  run_until_stopped(ioc, cfg.server.threads, [&](int sig) {
    if (stopping.exchange(true)) return;
    spdlog::info("signal {}: stopping", sig);
    watch.stop();
    directory.stop();
    server->stop([&] {
      spdlog::info("stopped");
      ioc.stop();
    });
  });
  return 0;
}

}  // namespace smmf::cli
