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
  /// `error_body` renders errors (the gateway's OpenAI shape).
  WorkerRoutes(ModelManager& models, std::function<boost::json::value(const Error&)> error_body,
               std::function<net::http::status(const Error&)> error_status);
  void install(net::Router& router);

 private:
  asio::awaitable<void> list(net::HttpExchange& ex);
  asio::awaitable<void> action(net::HttpExchange& ex);
  asio::awaitable<void> fail(net::HttpExchange& ex, const Error& e);

  ModelManager& models_;
  std::function<boost::json::value(const Error&)> error_body_;
  std::function<net::http::status(const Error&)> error_status_;
};

boost::json::object to_json(const ModelStatus& m);

}  // namespace smmf::worker
