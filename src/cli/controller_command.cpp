#include "cli/controller_command.h"

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>

#include <fmt/format.h>
#include <iostream>

#include "cli/runtime.h"
#include "common/config.h"
#include "common/log.h"
#include "controller/controller_routes.h"
#include "dashboard/dashboard_routes.h"
#include "net/http_client.h"
#include "observability/observability_routes.h"
#include "registry/memory_registry.h"

namespace smmf::cli {
namespace asio = boost::asio;

namespace {

constexpr uint16_t kDefaultPort = 8001;

Result<Config> build_config(const ControllerOptions& o) {
  Config cfg;
  if (!o.config_file.empty()) {
    auto loaded = load_config_file(o.config_file);
    if (!loaded) return loaded.error();
    cfg = std::move(*loaded);
  }
  if (!o.host.empty()) cfg.server.host = o.host;
  cfg.server.port = o.port >= 0 ? static_cast<uint16_t>(o.port) : kDefaultPort;
  if (o.threads >= 0) cfg.server.threads = o.threads;
  if (!o.log_level.empty()) cfg.log.level = o.log_level;
  if (!o.snapshot_file.empty()) cfg.controller.snapshot_file = o.snapshot_file;
  if (o.heartbeat_interval_ms >= 0)
    cfg.controller.heartbeat_interval = std::chrono::milliseconds(o.heartbeat_interval_ms);
  const auto& c = cfg.controller;
  if (c.heartbeat_interval.count() <= 0)
    return Error::invalid("controller.heartbeat_interval_ms must be positive");
  if (c.unhealthy_after_missed < 1)
    return Error::invalid("controller.unhealthy_after_missed must be at least 1");
  if (c.remove_after_missed < c.unhealthy_after_missed)
    return Error::invalid(
        "controller.remove_after_missed must be at least controller.unhealthy_after_missed");
  return cfg;
}

}  // namespace

void add_start_controller(CLI::App& start_cmd, ControllerOptions& o) {
  auto* cmd = start_cmd.add_subcommand(
      "controller",
      "Run the model controller: the registry that workers register with and API servers watch.");
  cmd->add_option("-c,--config", o.config_file,
                  "TOML configuration file ([controller], [server] limits, [log])")
      ->check(CLI::ExistingFile);
  cmd->add_option("--host", o.host, "Listen address (default 127.0.0.1)");
  cmd->add_option("-p,--port", o.port, "Listen port (default 8001; 0 picks a free port)")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--threads", o.threads, "I/O threads (default: hardware concurrency)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--snapshot", o.snapshot_file,
                  "Registry snapshot file, restored at start and rewritten after changes");
  cmd->add_option("--heartbeat-interval-ms", o.heartbeat_interval_ms,
                  "Heartbeat interval told to workers (default 2000)")
      ->check(CLI::Range(1, 3'600'000));
  cmd->add_option("--log-level", o.log_level, "trace|debug|info|warn|error (default info)");
}

int run_controller(const ControllerOptions& opts) {
  auto cfg = build_config(opts);
  if (!cfg) {
    std::cerr << "smmf start controller: " << cfg.error().message << "\n";
    return 2;
  }
  if (auto st = init_logging(cfg->log.level); !st) {
    std::cerr << "smmf start controller: " << st.error().message << "\n";
    return 2;
  }

  asio::io_context ioc;
  registry::MemoryRegistry::Options reg_opts;
  reg_opts.snapshot_file = cfg->controller.snapshot_file;
  reg_opts.first_revision =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count());
  registry::MemoryRegistry registry(reg_opts);
  net::ClientOptions client_opts;
  client_opts.connect_timeout = std::chrono::seconds(5);
  auto client = make_cluster_client(ioc, *cfg, client_opts);
  controller::ControllerRoutes routes(registry, cfg->controller, client);
  auto router = std::make_shared<net::Router>();
  routes.install(*router);
  observability::install_metrics_route(*router);
  dashboard::install_dashboard(*router);

  auto server = make_server(ioc, *cfg, router);
  if (auto st = server->listen(); !st) {
    spdlog::error("{}", st.error().message);
    return 1;
  }
  server->start();
  routes.start(ioc.get_executor());
  spdlog::info("smmf {} controller listening on {}://{}:{} (heartbeat {} ms{})", SMMF_VERSION,
               server->scheme(), cfg->server.host, server->port(),
               cfg->controller.heartbeat_interval.count(),
               cfg->controller.snapshot_file.empty()
                   ? std::string()
                   : fmt::format(", snapshot {}", cfg->controller.snapshot_file));

  run_until_stopped(ioc, cfg->server.threads, [&](int sig) {
    spdlog::info("signal {}: stopping", sig);
    routes.stop();  // answers parked watches now so they do not hold up the grace period
    server->stop([&] {
      spdlog::info("stopped");
      ioc.stop();
    });
  });
  if (auto st = registry.flush(); !st) spdlog::warn("{}", st.error().message);
  return 0;
}

}  // namespace smmf::cli
