#pragma once
/// The worker's management API over its ModelManager (JSON; OpenAI-shaped errors):
///   GET  /api/v1/models                          the models with state, replicas, in-flight
///   POST /api/v1/models/{name}/start|stop|restart
///   POST /api/v1/models/{name}/scale             {"replicas": N}
/// Answers when the action is done: {"model","state","replicas","running"}.
/// Threading: handlers run on connection strands; model loading runs off the I/O threads.
#include <functional>

#include "net/router.h"
#include "worker/model_manager.h"

namespace smmf::worker {

class WorkerRoutes {
 public:
  explicit WorkerRoutes(ModelManager& models) : models_(models) {}
  void install(net::Router& router);

 private:
  asio::awaitable<void> list(net::HttpExchange& ex);
  asio::awaitable<void> action(net::HttpExchange& ex);
  asio::awaitable<void> fail(net::HttpExchange& ex, const Error& e);

  ModelManager& models_;
};

boost::json::object to_json(const ModelStatus& m);

}  // namespace smmf::worker
