#include "worker/model_manager.h"

#include <spdlog/spdlog.h>

#include <fmt/format.h>

namespace smmf::worker {

std::string_view to_string(ModelState s) {
  switch (s) {
    case ModelState::kStopped:
      return "stopped";
    case ModelState::kStarting:
      return "starting";
    case ModelState::kRunning:
      return "running";
    case ModelState::kStopping:
      return "stopping";
    case ModelState::kFailed:
      return "failed";
  }
  return "unknown";
}

Lease::Lease(std::shared_ptr<Instance> inst) : inst_(std::move(inst)) {
  inst_->in_flight.fetch_add(1, std::memory_order_relaxed);
}

Lease::~Lease() {
  if (inst_) inst_->in_flight.fetch_sub(1, std::memory_order_relaxed);
}

ModelManager::ModelManager(const engines::EngineRegistry& engines) : engines_(engines) {}

Status ModelManager::add(const ModelConfig& cfg) {
  Model m;
  m.cfg = cfg;
  m.created = std::chrono::duration_cast<std::chrono::seconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  for (int i = 0; i < cfg.replicas; ++i) {
    auto engine = engines_.create(cfg);
    if (!engine) return engine.error();
    auto inst = std::make_shared<Instance>();
    inst->id = fmt::format("{}#{}", cfg.name, i);
    inst->engine = std::move(*engine);
    m.instances.push_back(std::move(inst));
  }
  std::lock_guard lock(mu_);
  if (models_.contains(cfg.name))
    return Error{ErrorCode::kAlreadyExists, fmt::format("model '{}' already exists", cfg.name),
                 "name"};
  models_.emplace(cfg.name, std::move(m));
  return {};
}

boost::asio::awaitable<Status> ModelManager::start(std::string name) {
  std::vector<std::shared_ptr<Instance>> instances;
  {
    std::lock_guard lock(mu_);
    auto it = models_.find(name);
    if (it == models_.end()) co_return Error::not_found(fmt::format("no model '{}'", name));
    instances = it->second.instances;
  }
  Status result;
  for (auto& inst : instances) {
    auto s = inst->state.load();
    if (s == ModelState::kRunning || s == ModelState::kStarting) continue;
    inst->state = ModelState::kStarting;
    auto t0 = std::chrono::steady_clock::now();
    Status st = co_await inst->engine->load();
    if (!st) {
      inst->state = ModelState::kFailed;
      {
        std::lock_guard lock(mu_);
        inst->failure = st.error().message;
      }
      spdlog::error("model {} failed to start: {}", inst->id, st.error().message);
      if (result) result = st;
      continue;
    }
    inst->state = ModelState::kRunning;
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    spdlog::info("model {} running ({} engine, loaded in {} ms)", inst->id,
                 inst->engine->info().engine, ms);
  }
  co_return result;
}

boost::asio::awaitable<Status> ModelManager::stop(std::string name) {
  std::vector<std::shared_ptr<Instance>> instances;
  {
    std::lock_guard lock(mu_);
    auto it = models_.find(name);
    if (it == models_.end()) co_return Error::not_found(fmt::format("no model '{}'", name));
    instances = it->second.instances;
  }
  for (auto& inst : instances) {
    if (inst->state == ModelState::kStopped) continue;
    inst->state = ModelState::kStopping;
    co_await inst->engine->unload();
    inst->state = ModelState::kStopped;
    spdlog::info("model {} stopped", inst->id);
  }
  co_return Status{};
}

boost::asio::awaitable<void> ModelManager::stop_all() {
  for (const auto& name : names()) co_await stop(name);
}

Result<Lease> ModelManager::acquire(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = models_.find(name);
  if (it == models_.end())
    return Error{ErrorCode::kNotFound, fmt::format("The model '{}' does not exist", name), "model"};
  std::shared_ptr<Instance> best;
  for (const auto& inst : it->second.instances) {
    if (inst->state != ModelState::kRunning) continue;
    if (!best || inst->in_flight.load() < best->in_flight.load()) best = inst;
  }
  if (!best)
    return Error::unavailable(fmt::format(
        "The model '{}' has no running instance (it is stopped, loading or failed)", name));
  return Lease(std::move(best));
}

std::vector<ModelStatus> ModelManager::list() const {
  std::lock_guard lock(mu_);
  std::vector<ModelStatus> out;
  for (const auto& [name, m] : models_) {
    ModelStatus s;
    s.name = name;
    s.type = m.cfg.type;
    s.engine = m.cfg.engine;
    s.replicas = static_cast<int>(m.instances.size());
    s.created = m.created;
    s.state = ModelState::kStopped;
    for (const auto& inst : m.instances) {
      auto st = inst->state.load();
      if (st == ModelState::kRunning) {
        ++s.running;
        if (s.context_length == 0) s.context_length = inst->engine->info().context_length;
      }
      s.in_flight += inst->in_flight.load();
      if (st == ModelState::kFailed && s.failure.empty()) s.failure = inst->failure;
      // The model's state is its most advanced instance's.
      if (st == ModelState::kRunning ||
          (s.state != ModelState::kRunning && st != s.state && st != ModelState::kStopped))
        s.state = st;
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<std::string> ModelManager::names() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, m] : models_) out.push_back(name);
  return out;
}

}  // namespace smmf::worker
