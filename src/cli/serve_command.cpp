#include "cli/serve_command.h"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>

#include "common/config.h"
#include "common/log.h"
#include "engines/engine_factory.h"
#include "gateway/error_map.h"
#include "gateway/local_directory.h"
#include "gateway/openai_routes.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "worker/model_manager.h"

#ifndef SMMF_DEFAULT_MODEL_DIR
#define SMMF_DEFAULT_MODEL_DIR ""
#endif

namespace smmf::cli {
namespace asio = boost::asio;

void add_serve_command(CLI::App& app, ServeOptions& o) {
  auto* cmd = app.add_subcommand(
      "serve",
      "Run the all-in-one server: models, workers and the OpenAI-compatible API in one process.\n"
      "With neither --config nor --model, serves the default tiny chat and embedding models.");
  cmd->add_option("-c,--config", o.config_file, "TOML configuration file")
      ->check(CLI::ExistingFile);
  cmd->add_option("--host", o.host, "Listen address (default 127.0.0.1)");
  cmd->add_option("-p,--port", o.port, "Listen port (default 8000; 0 picks a free port)")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--threads", o.threads, "I/O threads (default: hardware concurrency)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("-m,--model", o.model_paths, "Model file (GGUF) to serve; repeatable");
  cmd->add_option("-n,--name", o.model_names,
                  "Name clients use for the --model at the same position (default: file stem)");
  cmd->add_option("-t,--type", o.model_types,
                  "Type of the --model at the same position: llm|embedding|reranker (default llm)");
  cmd->add_option("--log-level", o.log_level, "trace|debug|info|warn|error (default info)");
}

namespace {

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
  if (o.model_names.size() > o.model_paths.size() || o.model_types.size() > o.model_paths.size())
    return Error::invalid("each --name and --type must follow a --model");
  for (size_t i = 0; i < o.model_paths.size(); ++i) {
    ModelConfig m;
    m.path = o.model_paths[i];
    m.name =
        i < o.model_names.size() ? o.model_names[i] : std::filesystem::path(m.path).stem().string();
    m.type = i < o.model_types.size() ? o.model_types[i] : "llm";
    m.origin = fmt::format("--model {}", m.path);
    if (m.type != "llm" && m.type != "embedding" && m.type != "reranker")
      return Error::invalid(fmt::format("--type '{}' must be llm, embedding or reranker", m.type));
    cfg.models.push_back(std::move(m));
  }
  if (cfg.models.empty() && o.config_file.empty()) {
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
            "default model {} not found (built by `make`; set SMMF_MODEL_DIR to its folder)",
            m.path));
      cfg.models.push_back(std::move(m));
    }
  }
  return cfg;
}

void access_log(const net::HttpExchange& ex, std::chrono::microseconds latency) {
  const auto& req = ex.request();
  spdlog::info("{} {} {} {:.1f}ms {}B {}", std::string_view(req.method_string()),
               std::string_view(req.target()), ex.status(), latency.count() / 1000.0,
               ex.bytes_sent(), ex.log_fields());
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

  asio::io_context ioc;
  auto http = std::make_shared<net::HttpClient>(ioc.get_executor());
  engines::EngineRegistry engines;
  engines::register_builtin_engines(engines, http);
  worker::ModelManager models(engines);
  for (const auto& m : cfg->models) {
    if (auto st = models.add(m); !st) {
      spdlog::error("{}", st.error().message);
      return 2;
    }
  }

  gateway::LocalDirectory directory(models);
  gateway::OpenAiRoutes routes(directory);
  auto router = std::make_shared<net::Router>();
  routes.install(*router);

  auto server = std::make_shared<net::HttpServer>(
      ioc, cfg->server, router,
      [](net::http::status s, std::string_view msg) -> boost::json::value {
        return gateway::error_body(s, msg);
      },
      cfg->log.access_log ? net::HttpServer::AccessLog(access_log) : nullptr);
  if (auto st = server->listen(); !st) {
    spdlog::error("{}", st.error().message);
    return 1;
  }
  server->start();
  spdlog::info("smmf {} listening on http://{}:{}", SMMF_VERSION, cfg->server.host, server->port());

  int exit_code = 0;
  auto shutdown = [&] {
    server->stop([&] {
      asio::co_spawn(
          ioc,
          [&]() -> asio::awaitable<void> {
            co_await models.stop_all();
            spdlog::info("stopped");
            ioc.stop();
          },
          asio::detached);
    });
  };

  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int sig) {
    if (ec) return;
    spdlog::info("signal {}: stopping (in-flight requests may finish within {}s)", sig,
                 cfg->server.shutdown_grace.count());
    shutdown();
  });

  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        for (const auto& name : models.names()) {
          if (auto st = co_await models.start(name); !st) {
            spdlog::error("model '{}' failed to start: {}", name, st.error().message);
            exit_code = 1;
            signals.cancel();
            shutdown();
            co_return;
          }
        }
        spdlog::info("ready: {} model(s) running", models.names().size());
      },
      asio::detached);

  int n = cfg->server.threads > 0 ? cfg->server.threads
                                  : static_cast<int>(std::thread::hardware_concurrency());
  std::vector<std::thread> threads;
  for (int i = 1; i < std::max(n, 1); ++i) threads.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : threads) t.join();
  return exit_code;
}

}  // namespace smmf::cli
