#include "cli/runtime.h"

#include <fmt/compile.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>

#include <pthread.h>

#include <csignal>

#include <filesystem>
#include <thread>
#include <vector>

#include "common/log.h"
#include "gateway/auth.h"
#include "observability/metrics.h"
#include "protocol/http_errors.h"

namespace smmf::cli {

void ModelFlags::add_to(CLI::App& cmd) {
  cmd.add_option("-m,--model", paths, "Model file (GGUF) to serve; repeatable");
  cmd.add_option("-n,--name", names,
                 "Name clients use for the --model at the same position (default: file stem)");
  cmd.add_option("-t,--type", types,
                 "Type of the --model at the same position: llm|embedding|reranker (default llm)");
}

Status ModelFlags::append_to(std::vector<ModelConfig>& out) const {
  if (names.size() > paths.size() || types.size() > paths.size())
    return Error::invalid("each --name and --type must follow a --model");
  for (size_t i = 0; i < paths.size(); ++i) {
    ModelConfig m;
    m.path = paths[i];
    m.name = i < names.size() ? names[i] : std::filesystem::path(m.path).stem().string();
    m.type = i < types.size() ? types[i] : "llm";
    m.origin = fmt::format("--model {}", m.path);
    if (m.type != "llm" && m.type != "embedding" && m.type != "reranker")
      return Error::invalid(fmt::format("--type '{}' must be llm, embedding or reranker", m.type));
    out.push_back(std::move(m));
  }
  return {};
}

void access_log(const net::HttpExchange& ex, std::chrono::microseconds latency) {
  const auto& req = ex.request();
  if (!spdlog::default_logger_raw()->should_log(spdlog::level::info)) return;
  // The line is formatted by a format compiled at build time, and the latency with one decimal
  // from integers (formatting a double costs more than the rest of the line).
  const auto tenths = (latency.count() + 50) / 100;
  thread_local fmt::memory_buffer line;
  line.clear();
  fmt::format_to(std::back_inserter(line), FMT_COMPILE("{} {} {} {}.{}ms {}B {}"),
                 std::string_view(req.method_string()), std::string_view(req.target()), ex.status(),
                 tenths / 10, tenths % 10, ex.bytes_sent(), ex.log_fields());
  log_info_line(std::string_view(line.data(), line.size()));
}

namespace {
// The {method, code} request counter and {method} duration histogram of an exchange, found by
// a short linear search per I/O thread (a few methods and statuses) rather than a cache key
// built and hashed per request.
std::pair<prometheus::Counter*, prometheus::Histogram*> http_series(const net::HttpExchange& ex) {
  struct Entry {
    net::http::verb verb;
    std::string method;  // for an unknown verb, the method's text
    unsigned code;
    prometheus::Counter* requests;
    prometheus::Histogram* duration;
  };
  thread_local std::vector<Entry> entries;
  const auto verb = ex.request().method();
  const std::string_view method = ex.request().method_string();
  const unsigned code = ex.status();
  for (const auto& e : entries)
    if (e.verb == verb && e.code == code && e.method == method) return {e.requests, e.duration};
  auto& m = observability::metrics();
  std::string name(method);
  auto* c =
      &observability::cached(m.http_requests, {{"method", name}, {"code", std::to_string(code)}});
  auto* h =
      &observability::cached(m.http_duration, {{"method", name}}, observability::latency_buckets());
  if (entries.size() < 64) entries.push_back({verb, name, code, c, h});
  return {c, h};
}
}  // namespace

std::shared_ptr<net::HttpServer> make_server(boost::asio::io_context& ioc, const Config& cfg,
                                             std::shared_ptr<net::Router> router) {
  auto auth = std::make_shared<gateway::Authenticator>(cfg.keys, cfg.cluster.token);
  if (auth->enabled()) router->use(auth->middleware());
  if (!cfg.keys.empty() && cfg.cluster.token.empty())
    spdlog::warn(
        "API keys are configured but no cluster token: other roles cannot call this one's "
        "management routes (set [cluster] token)");
  return std::make_shared<net::HttpServer>(
      ioc, cfg.server, std::move(router),
      [](net::http::status s, std::string_view msg) -> boost::json::value {
        return protocol::error_body(s, msg);
      },
      [log = cfg.log.access_log](const net::HttpExchange& ex, std::chrono::microseconds latency) {
        auto [requests, duration] = http_series(ex);
        requests->Increment();
        duration->Observe(static_cast<double>(latency.count()) / 1e6);
        if (log) access_log(ex, latency);
      });
}

std::shared_ptr<net::HttpClient> make_cluster_client(boost::asio::io_context& ioc,
                                                     const Config& cfg, net::ClientOptions opts) {
  if (!cfg.cluster.token.empty())
    opts.default_headers.emplace_back(std::string(gateway::Authenticator::kClusterHeader),
                                      cfg.cluster.token);
  if (!cfg.cluster.ca_file.empty()) opts.ca_file = cfg.cluster.ca_file;
  opts.keep_idle_timers = true;  // the roles' io_context runs until stopped
  return std::make_shared<net::HttpClient>(ioc.get_executor(), std::move(opts));
}

boost::asio::awaitable<bool> start_models(worker::ModelManager& models, bool stop_on_failure) {
  bool all = true;
  for (const auto& name : models.names()) {
    if (auto st = co_await models.start(name); !st) {
      spdlog::error("model '{}' failed to start: {}", name, st.error().message);
      all = false;
      if (stop_on_failure) break;
    }
  }
  co_return all;
}

void stop_server_then_models(boost::asio::io_context& ioc, net::HttpServer& server,
                             worker::ModelManager& models) {
  server.stop([&ioc, &models] {
    boost::asio::co_spawn(
        ioc,
        [&ioc, &models]() -> boost::asio::awaitable<void> {
          co_await models.stop_all();
          spdlog::info("stopped");
          ioc.stop();
        },
        boost::asio::detached);
  });
}

void run_until_stopped(boost::asio::io_context& ioc, int threads,
                       std::function<void(int signal)> on_signal) {
  boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
  // The first signal starts the graceful stop; later ones (a supervisor repeating SIGTERM) are
  // noted and change nothing: the stop is already bounded by its grace period.
  std::function<void(boost::system::error_code, int)> handler;
  bool stopping = false;
  handler = [&](boost::system::error_code ec, int sig) {
    if (ec) return;
    if (!stopping) {
      stopping = true;
      on_signal(sig);
    } else {
      spdlog::info("signal {}: already stopping", sig);
    }
    signals.async_wait(handler);
  };
  signals.async_wait(handler);
  int n = threads > 0 ? threads : static_cast<int>(std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (int i = 1; i < std::max(n, 1); ++i) pool.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : pool) t.join();
  // What is left is tearing down; a signal now must not kill the process with the default
  // action (it would end a clean stop with "killed by SIGTERM"). Removing the set restores
  // SIG_DFL, so the signals are held back around the switch to SIG_IGN.
  sigset_t both;
  sigemptyset(&both);
  sigaddset(&both, SIGINT);
  sigaddset(&both, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &both, nullptr);
  signals.clear();
  std::signal(SIGINT, SIG_IGN);
  std::signal(SIGTERM, SIG_IGN);
  pthread_sigmask(SIG_UNBLOCK, &both, nullptr);
}

}  // namespace smmf::cli
