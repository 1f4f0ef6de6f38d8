#pragma once
/// What every role's composition root shares: model flags, the access log, error bodies,
/// running the io_context on N threads, and stopping on SIGINT/SIGTERM.
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>

#include <functional>
#include <string>
#include <vector>

#include "common/config.h"
#include "net/http_server.h"

namespace smmf::cli {

/// --model/--name/--type, repeatable, paired by position.
struct ModelFlags {
  std::vector<std::string> paths;
  std::vector<std::string> names;
  std::vector<std::string> types;
  void add_to(CLI::App& cmd);
  /// Appends the flagged models to `out`.
  Status append_to(std::vector<ModelConfig>& out) const;
};

void access_log(const net::HttpExchange& ex, std::chrono::microseconds latency);

/// An HTTP server whose own errors (404 route, 413, ...) are OpenAI-shaped.
std::shared_ptr<net::HttpServer> make_server(boost::asio::io_context& ioc, const Config& cfg,
                                             std::shared_ptr<const net::Router> router);

/// Calls `on_signal` once on SIGINT/SIGTERM, then runs `ioc` on `threads` threads (0 = one per
/// core) until it is stopped.
void run_until_stopped(boost::asio::io_context& ioc, int threads,
                       std::function<void(int signal)> on_signal);

}  // namespace smmf::cli
