#pragma once
/// An Engine that stands for a model of an in-process ModelManager: each call leases one of
/// the model's running replicas (fewest in flight) and runs on its engine; when the model is
/// idle or loading, the call waits for the load (ModelManager::lease). This is how the
/// all-in-one server routes to its own models through the same ClusterDirectory as remote ones,
/// without an HTTP hop.
#include "engines/engine.h"
#include "worker/model_manager.h"

namespace smmf::worker {

class LocalEngine : public engines::Engine {
 public:
  LocalEngine(ModelManager& models, std::string model, engines::EngineInfo info)
      : models_(models), model_(std::move(model)), info_(std::move(info)) {}

  engines::EngineInfo info() const override { return info_; }
  asio::awaitable<Status> load() override { co_return Status{}; }
  asio::awaitable<void> unload() override { co_return; }
  Status health() const override;
  asio::awaitable<Result<protocol::GenerationResult>> chat(
      const protocol::ChatRequest& req, engines::DeltaSink* sink,
      const engines::CallContext& ctx) override;
  asio::awaitable<Result<protocol::GenerationResult>> complete(
      const protocol::CompletionRequest& req, engines::DeltaSink* sink,
      const engines::CallContext& ctx) override;
  asio::awaitable<Result<protocol::EmbeddingResult>> embed(
      const protocol::EmbeddingRequest& req, const engines::CallContext& ctx) override;
  asio::awaitable<Result<protocol::RerankResult>> rerank(const protocol::RerankRequest& req,
                                                         const engines::CallContext& ctx) override;

 private:
  ModelManager& models_;
  std::string model_;
  engines::EngineInfo info_;
};

}  // namespace smmf::worker
