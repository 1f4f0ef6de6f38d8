#include "worker/model_manager.h"

#include <spdlog/spdlog.h>
#include <boost/asio/this_coro.hpp>

#include <fmt/format.h>

#include <filesystem>

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
    case ModelState::kIdle:
      return "idle";
  }
  return "unknown";
}

namespace {
int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

Lease::Lease(std::shared_ptr<Instance> inst) : inst_(std::move(inst)) {
  inst_->in_flight.fetch_add(1, std::memory_order_relaxed);
  inst_->last_used_ms.store(steady_ms(), std::memory_order_relaxed);
}

Lease::~Lease() {
  if (!inst_) return;
  // Stamped before the count drops, so an idle check never sees 0 in flight with an old stamp.
  inst_->last_used_ms.store(steady_ms(), std::memory_order_relaxed);
  inst_->in_flight.fetch_sub(1, std::memory_order_release);
}

ResidencyLimits ResidencyLimits::from(const WorkerConfig& w) {
  ResidencyLimits l;
  l.max_loaded_models = w.max_loaded_models;
  l.max_loaded_bytes = w.max_loaded_bytes;
  l.load_timeout = w.load_timeout;
  l.max_load_waiters = w.max_load_waiters;
  return l;
}

ModelManager::ModelManager(const engines::EngineRegistry& engines, ResidencyLimits limits)
    : engines_(engines), limits_(limits) {}

Result<std::shared_ptr<Instance>> ModelManager::make_instance(const ModelConfig& cfg,
                                                              int replica) const {
  auto engine = engines_.create(cfg);
  if (!engine) return engine.error();
  auto inst = std::make_shared<Instance>();
  inst->id = fmt::format("{}#{}", cfg.name, replica);
  inst->engine = std::move(*engine);
  inst->local = !cfg.path.empty();
  std::error_code ec;
  if (inst->local) inst->bytes = std::filesystem::file_size(cfg.path, ec);
  if (ec) inst->bytes = 0;
  return inst;
}

Status ModelManager::add(const ModelConfig& cfg) {
  Model m;
  m.cfg = cfg;
  m.created = std::chrono::duration_cast<std::chrono::seconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  for (int i = 0; i < cfg.replicas; ++i) {
    auto inst = make_instance(cfg, i);
    if (!inst) return inst.error();
    m.instances.push_back(std::move(*inst));
  }
  std::lock_guard lock(mu_);
  if (models_.contains(cfg.name))
    return Error{ErrorCode::kAlreadyExists, fmt::format("model '{}' already exists", cfg.name),
                 "name"};
  models_.emplace(cfg.name, std::move(m));
  return {};
}

boost::asio::awaitable<Status> ModelManager::load(const std::shared_ptr<Instance>& inst) {
  auto t0 = std::chrono::steady_clock::now();
  Status st = co_await inst->engine->load();
  if (!st) {
    {
      std::lock_guard lock(mu_);
      bool stopping = inst->state == ModelState::kStopping;
      inst->state = stopping ? ModelState::kStopped : ModelState::kFailed;
      inst->failure = st.error().message;
      inst->wakeable = false;
      inst->has_room = false;
    }
    spdlog::error("model {} failed to start: {}", inst->id, st.error().message);
    changed();
    co_return st;
  }
  bool stopped_meanwhile = false;
  {
    std::lock_guard lock(mu_);
    if (inst->state == ModelState::kStarting) {
      inst->state = ModelState::kRunning;
      inst->wakeable = false;
      inst->last_used_ms = steady_ms();
    } else {
      stopped_meanwhile = true;  // stop() left the unload to this load
    }
  }
  if (stopped_meanwhile) {
    co_await inst->engine->unload();
    {
      std::lock_guard lock(mu_);
      inst->state = ModelState::kStopped;
      inst->has_room = false;
    }
    spdlog::info("model {} stopped while loading", inst->id);
    changed();
    co_return Error::unavailable(fmt::format("model {} was stopped while loading", inst->id));
  }
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  spdlog::info("model {} running ({} engine, loaded in {} ms)", inst->id,
               inst->engine->info().engine, ms);
  changed();
  co_return Status{};
}

boost::asio::awaitable<Status> ModelManager::start(std::string name) {
  std::vector<std::shared_ptr<Instance>> to_load;
  bool woke = false;
  {
    std::lock_guard lock(mu_);
    auto it = models_.find(name);
    if (it == models_.end())
      co_return Error::not_found(fmt::format("no model '{}'", name), "model");
    for (auto& inst : it->second.instances) {
      auto s = inst->state.load();
      if (s != ModelState::kStopped && s != ModelState::kFailed) continue;
      inst->failure.clear();
      inst->wakeable = false;
      if (it->second.cfg.on_demand) {
        inst->state = ModelState::kIdle;  // loaded by its first call
        woke = true;
      } else {
        inst->state = ModelState::kStarting;
        to_load.push_back(inst);
      }
    }
  }
  if (woke) spdlog::info("model {} is idle: loaded on demand", name);
  if (woke || !to_load.empty()) changed();
  Status result;
  for (auto& inst : to_load)
    if (auto st = co_await load_with_room(inst); !st && result) result = st;
  // Calls that arrived while it loaded wait for it (lease()): hand them over.
  if (!to_load.empty()) pump(name, co_await asio::this_coro::executor);
  co_return result;
}

boost::asio::awaitable<Status> ModelManager::stop(std::string name) {
  std::vector<std::shared_ptr<Instance>> instances;
  {
    std::lock_guard lock(mu_);
    auto it = models_.find(name);
    if (it == models_.end())
      co_return Error::not_found(fmt::format("no model '{}'", name), "model");
    // Everything leaves the routing set first, then the engines drain and unload.
    for (auto& inst : it->second.instances) {
      auto s = inst->state.load();
      inst->wakeable = false;
      if (s == ModelState::kStopped) continue;
      if (s == ModelState::kIdle || s == ModelState::kFailed) {
        inst->state = ModelState::kStopped;  // holds no weights
        continue;
      }
      inst->state = ModelState::kStopping;
      // A loading instance is unloaded by its load when that ends (load()).
      if (s != ModelState::kStarting) instances.push_back(inst);
    }
    fail_waiters(it->second, Error::unavailable(fmt::format("The model '{}' was stopped", name)));
  }
  changed();
  for (auto& inst : instances) {
    co_await inst->engine->unload();
    {
      std::lock_guard lock(mu_);
      inst->state = ModelState::kStopped;
      inst->has_room = false;
    }
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
    auto made = make_instance(cfg, static_cast<int>(i));
    if (!made) co_return made.error();
    auto fresh = std::move(*made);
    fresh->id = instances[i]->id;
    if (instances[i]->state == ModelState::kIdle) {
      // Not loaded: the fresh engine stays idle too and loads on demand.
      fresh->state = ModelState::kIdle;
      std::lock_guard lock(mu_);
      auto it = models_.find(name);
      if (it != models_.end() && i < it->second.instances.size() &&
          it->second.instances[i] == instances[i])
        it->second.instances[i] = fresh;
      continue;
    }
    fresh->state = ModelState::kStarting;
    if (auto st = co_await load_with_room(fresh); !st) co_return st;
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
    {
      std::lock_guard lock(mu_);
      old->state = ModelState::kStopped;
      old->has_room = false;
    }
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
      auto inst = make_instance(cfg, i);
      if (!inst) co_return inst.error();
      (*inst)->state = cfg.on_demand ? ModelState::kIdle : ModelState::kStarting;
      m.instances.push_back(*inst);
      if (!cfg.on_demand) added.push_back(std::move(*inst));
    }
    m.cfg.replicas = replicas;
  }
  changed();
  Status result;
  for (auto& inst : added)
    if (auto st = co_await load_with_room(inst); !st && result) result = st;
  for (auto& inst : removed) {
    auto was = inst->state.exchange(ModelState::kStopping);
    if (was != ModelState::kIdle && was != ModelState::kStopped) co_await inst->engine->unload();
    std::lock_guard lock(mu_);
    inst->state = ModelState::kStopped;
    inst->has_room = false;
  }
  spdlog::info("model {} scaled to {} replica(s)", name, replicas);
  changed();
  co_return result;
}

boost::asio::awaitable<void> ModelManager::stop_all() {
  stopping_all_ = true;
  for (const auto& name : names()) co_await stop(name);
}

Result<Lease> ModelManager::acquire(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = models_.find(name);
  if (it == models_.end())
    return Error{ErrorCode::kNotFound, fmt::format("The model '{}' does not exist", name), "model"};
  auto lease = take_running(it->second);
  if (!lease)
    return Error::unavailable(fmt::format(
        "The model '{}' has no running instance (it is stopped, loading or failed)", name));
  return std::move(*lease);
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
    s.on_demand = m.cfg.on_demand;
    s.state = ModelState::kStopped;
    bool wakeable = false;
    for (size_t i = 0; i < m.instances.size(); ++i) {
      const auto& inst = m.instances[i];
      if (inst->engine)
        for (auto& [k, v] : inst->engine->status_labels())
          s.labels[m.instances.size() > 1 ? k + "#" + std::to_string(i) : k] = std::move(v);
      auto st = inst->state.load();
      // Waiting for room is not resident yet; loading with room, running and unloading are.
      if ((st == ModelState::kStarting && inst->has_room) || st == ModelState::kRunning ||
          st == ModelState::kStopping)
        ++s.loaded;
      if (st == ModelState::kIdle || inst->wakeable) wakeable = true;
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
    // Loading on demand or unloading to idle: still listed and routed (calls wait), so "idle".
    if (s.state != ModelState::kRunning && wakeable) s.state = ModelState::kIdle;
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
