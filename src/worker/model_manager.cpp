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

boost::asio::awaitable<Status> ModelManager::load(const std::shared_ptr<Instance>& inst) {
  inst->state = ModelState::kStarting;
  changed();
  auto t0 = std::chrono::steady_clock::now();
  Status st = co_await inst->engine->load();
  if (!st) {
    inst->state = ModelState::kFailed;
    {
      std::lock_guard lock(mu_);
      inst->failure = st.error().message;
    }
    spdlog::error("model {} failed to start: {}", inst->id, st.error().message);
    changed();
    co_return st;
  }
  inst->state = ModelState::kRunning;
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  spdlog::info("model {} running ({} engine, loaded in {} ms)", inst->id,
               inst->engine->info().engine, ms);
  changed();
  co_return Status{};
}

boost::asio::awaitable<Status> ModelManager::start(std::string name) {
  std::vector<std::shared_ptr<Instance>> instances;
  {
    std::lock_guard lock(mu_);
    auto it = models_.find(name);
    if (it == models_.end())
      co_return Error::not_found(fmt::format("no model '{}'", name), "model");
    instances = it->second.instances;
  }
  Status result;
  for (auto& inst : instances) {
    auto s = inst->state.load();
    if (s == ModelState::kRunning || s == ModelState::kStarting) continue;
    if (auto st = co_await load(inst); !st && result) result = st;
  }
  co_return result;
}

boost::asio::awaitable<Status> ModelManager::stop(std::string name) {
  std::vector<std::shared_ptr<Instance>> instances;
  {
    std::lock_guard lock(mu_);
    auto it = models_.find(name);
    if (it == models_.end())
      co_return Error::not_found(fmt::format("no model '{}'", name), "model");
    instances = it->second.instances;
  }
  // Everything leaves the routing set first, then the engines drain and unload.
  for (auto& inst : instances)
    if (inst->state != ModelState::kStopped) inst->state = ModelState::kStopping;
  changed();
  for (auto& inst : instances) {
    if (inst->state == ModelState::kStopped) continue;
    co_await inst->engine->unload();
    inst->state = ModelState::kStopped;
    spdlog::info("model {} stopped", inst->id);
  }
  changed();
  co_return Status{};
}

boost::asio::awaitable<Status> ModelManager::restart(std::string name) {
  ModelConfig cfg;
  std::vector<std::shared_ptr<Instance>> instances;
  {
    std::lock_guard lock(mu_);
    auto it = models_.find(name);
    if (it == models_.end())
      co_return Error::not_found(fmt::format("no model '{}'", name), "model");
    cfg = it->second.cfg;
    instances = it->second.instances;
  }
  for (size_t i = 0; i < instances.size(); ++i) {
    auto engine = engines_.create(cfg);
    if (!engine) co_return engine.error();
    auto fresh = std::make_shared<Instance>();
    fresh->id = instances[i]->id;
    fresh->engine = std::move(*engine);
    if (auto st = co_await load(fresh); !st) co_return st;
    {
      std::lock_guard lock(mu_);
      auto it = models_.find(name);
      if (it == models_.end() || i >= it->second.instances.size()) break;
      it->second.instances[i] = fresh;
    }
    changed();
    // The old replica left the table; leases still holding it finish before it unloads.
    auto old = instances[i];
    old->state = ModelState::kStopping;
    co_await old->engine->unload();
    old->state = ModelState::kStopped;
    spdlog::info("model {} restarted", fresh->id);
  }
  co_return Status{};
}

boost::asio::awaitable<Status> ModelManager::scale(std::string name, int replicas) {
  if (replicas < 0 || replicas > 64)
    co_return Error::invalid("replicas must be between 0 and 64", "replicas");
  ModelConfig cfg;
  std::vector<std::shared_ptr<Instance>> added, removed;
  {
    std::lock_guard lock(mu_);
    auto it = models_.find(name);
    if (it == models_.end())
      co_return Error::not_found(fmt::format("no model '{}'", name), "model");
    auto& m = it->second;
    cfg = m.cfg;
    while (static_cast<int>(m.instances.size()) > replicas) {
      removed.push_back(m.instances.back());
      m.instances.pop_back();
    }
    for (int i = static_cast<int>(m.instances.size()); i < replicas; ++i) {
      auto engine = engines_.create(cfg);
      if (!engine) co_return engine.error();
      auto inst = std::make_shared<Instance>();
      inst->id = fmt::format("{}#{}", name, i);
      inst->engine = std::move(*engine);
      m.instances.push_back(inst);
      added.push_back(std::move(inst));
    }
    m.cfg.replicas = replicas;
  }
  changed();
  Status result;
  for (auto& inst : added)
    if (auto st = co_await load(inst); !st && result) result = st;
  for (auto& inst : removed) {
    inst->state = ModelState::kStopping;
    co_await inst->engine->unload();
    inst->state = ModelState::kStopped;
  }
  spdlog::info("model {} scaled to {} replica(s)", name, replicas);
  changed();
  co_return result;
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
    s.weight = m.cfg.weight;
    s.replicas = static_cast<int>(m.instances.size());
    s.created = m.created;
    s.state = ModelState::kStopped;
    for (size_t i = 0; i < m.instances.size(); ++i) {
      const auto& inst = m.instances[i];
      if (inst->engine)
        for (auto& [k, v] : inst->engine->status_labels())
          s.labels[m.instances.size() > 1 ? k + "#" + std::to_string(i) : k] = std::move(v);
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
