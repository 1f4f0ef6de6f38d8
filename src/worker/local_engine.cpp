#include "worker/local_engine.h"

namespace smmf::worker {

Status LocalEngine::health() const {
  // An idle or loading model takes calls: they wait for the load.
  if (models_.loads_on_demand(model_)) return {};
  auto lease = models_.acquire(model_);
  if (!lease) return lease.error();
  return {};
}

asio::awaitable<Result<protocol::GenerationResult>> LocalEngine::chat(
    const protocol::ChatRequest& req, engines::DeltaSink* sink, const engines::CallContext& ctx) {
  auto lease = models_.acquire(model_);  // a running model: no wait, no coroutine frame
  if (!lease) lease = co_await models_.lease(model_);  // idle or loading: waits for the load
  if (!lease) co_return lease.error();
  co_return co_await lease->engine().chat(req, sink, ctx);
}

asio::awaitable<Result<protocol::GenerationResult>> LocalEngine::complete(
    const protocol::CompletionRequest& req, engines::DeltaSink* sink,
    const engines::CallContext& ctx) {
  auto lease = models_.acquire(model_);  // a running model: no wait, no coroutine frame
  if (!lease) lease = co_await models_.lease(model_);  // idle or loading: waits for the load
  if (!lease) co_return lease.error();
  co_return co_await lease->engine().complete(req, sink, ctx);
}

asio::awaitable<Result<protocol::EmbeddingResult>> LocalEngine::embed(
    const protocol::EmbeddingRequest& req, const engines::CallContext& ctx) {
  auto lease = models_.acquire(model_);  // a running model: no wait, no coroutine frame
  if (!lease) lease = co_await models_.lease(model_);  // idle or loading: waits for the load
  if (!lease) co_return lease.error();
  co_return co_await lease->engine().embed(req, ctx);
}

asio::awaitable<Result<protocol::RerankResult>> LocalEngine::rerank(
    const protocol::RerankRequest& req, const engines::CallContext& ctx) {
  auto lease = models_.acquire(model_);
  if (!lease) co_return lease.error();
  co_return co_await lease->engine().rerank(req, ctx);
}

}  // namespace smmf::worker
