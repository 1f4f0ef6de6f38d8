#pragma once
/// What every role's composition root shares: model flags, the access log, error bodies,
/// running the io_context on N threads, and stopping on SIGINT/SIGTERM.
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>

#include <functional>
#include <string>
#include <vector>

#include "common/config.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "worker/model_manager.h"

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

/// An HTTP server whose own errors (404 route, 413, ...) are OpenAI-shaped, with the API keys
/// and cluster token of `cfg` guarding `router` (gateway/auth.h).
std::shared_ptr<net::HttpServer> make_server(boost::asio::io_context& ioc, const Config& cfg,
                                             std::shared_ptr<net::Router> router);

/// The client for calls between the roles (register, heartbeat, watch, relays, instance
/// calls): it sends the cluster token and trusts [cluster] ca_file. Never give it to engines
/// that call third parties. For the roles' processes only (it keeps idle timers armed).
std::shared_ptr<net::HttpClient> make_cluster_client(boost::asio::io_context& ioc,
                                                     const Config& cfg,
                                                     net::ClientOptions opts = {});

/// Loads every model in turn, logging each failure; with `stop_on_failure` it stops at the
/// first. Returns whether all started.
boost::asio::awaitable<bool> start_models(worker::ModelManager& models, bool stop_on_failure);

/// Graceful stop of a role that hosts models: the server drains (in-flight calls finish within
/// the grace period), then every model unloads, then `ioc` stops.
void stop_server_then_models(boost::asio::io_context& ioc, net::HttpServer& server,
                             worker::ModelManager& models);

/// The io_context's concurrency hint for `threads` I/O threads (0 = one per core): 1 lets Asio's
/// scheduler skip waking other threads; it still locks, as other threads (engines, the span
/// writer) post to it.
inline int io_concurrency_hint(int threads) {
  return threads == 1 ? 1 : BOOST_ASIO_CONCURRENCY_HINT_DEFAULT;
}

/// Calls `on_signal` once on SIGINT/SIGTERM, then runs `ioc` on `threads` threads (0 = one per
/// core) until it is stopped.
void run_until_stopped(boost::asio::io_context& ioc, int threads,
                       std::function<void(int signal)> on_signal);

}  // namespace smmf::cli
