#pragma once
/// The controller's HTTP API (JSON; errors in the OpenAI shape, see errors.h) over a Registry:
///
///   POST   /api/v1/instances                    register (InstanceRecord JSON)
///   GET    /api/v1/instances?model=&type=&healthy=true|false
///   GET    /api/v1/instances/{id}
///   PUT    /api/v1/instances/{id}/heartbeat     {"state","in_flight"}; 404: register again
///   DELETE /api/v1/instances/{id}
///   GET    /api/v1/watch?since=N&timeout_ms=M   long poll (M default 30000, max 60000)
///   GET    /api/v1/workers                      workers seen in the records
///   POST   /api/v1/models/{name}/start|stop|restart|scale[?worker=id|address]
///                                               relayed to the hosting workers
///   GET    /healthz
///
/// Instance ids go in the path percent-encoded ("w1%2Fqwen"); a raw '/' is accepted too.
/// Request/response examples: docs/architecture.md.
///
/// Threading: handlers run on the server's connection strands and never block: a watch parks
/// on a timer (WatchHub) and is woken by the registry's subscribe callback. The expiry loop runs
/// on the executor given to start().
/// Lifetime: the registry and the client must outlive this object; this object must outlive
/// the server using its routes and the expiry loop (call stop(), then let the io_context finish).
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>

#include "common/config.h"
#include "controller/watch_hub.h"
#include "net/http_client.h"
#include "net/router.h"
#include "registry/registry.h"

namespace smmf::controller {

class ControllerRoutes {
 public:
  static constexpr std::chrono::milliseconds kDefaultWatchTimeout{30'000};
  static constexpr std::chrono::milliseconds kMaxWatchTimeout{60'000};

  /// `client` relays management commands to workers.
  ControllerRoutes(registry::Registry& registry, ControllerConfig cfg,
                   std::shared_ptr<net::HttpClient> client);
  ~ControllerRoutes();
  ControllerRoutes(const ControllerRoutes&) = delete;
  ControllerRoutes& operator=(const ControllerRoutes&) = delete;

  void install(net::Router& router);
  /// Starts the expiry loop: every heartbeat_interval/2, instances that missed
  /// `unhealthy_after_missed` heartbeats turn unhealthy, those that missed
  /// `remove_after_missed` are removed (each logged at warn).
  void start(asio::any_io_executor ex);
  /// Answers every parked watch at once (new ones answer without waiting) and ends the expiry
  /// loop. Thread-safe; call before HttpServer::stop so long polls do not hold up shutdown.
  void stop();
  /// One expiry pass at `now_ms` (unix ms); what the loop calls. Exposed for tests.
  void expire_once(int64_t now_ms);
  size_t parked_watches() const { return hub_->size(); }

 private:
  using Exchange = net::HttpExchange;
  asio::awaitable<void> register_instance(Exchange& ex);
  asio::awaitable<void> list_instances(Exchange& ex);
  asio::awaitable<void> instance_route(Exchange& ex);  // GET/PUT/DELETE /api/v1/instances/...
  asio::awaitable<void> watch(Exchange& ex);
  asio::awaitable<void> workers(Exchange& ex);
  asio::awaitable<void> relay(Exchange& ex);
  asio::awaitable<void> expiry_loop(std::shared_ptr<asio::steady_timer> timer);

  registry::Registry& registry_;
  ControllerConfig cfg_;
  std::shared_ptr<net::HttpClient> client_;
  std::shared_ptr<WatchHub> hub_;
  std::atomic<bool> stopping_{false};
  std::mutex timer_mu_;
  std::shared_ptr<asio::steady_timer> expiry_timer_;
};

}  // namespace smmf::controller
