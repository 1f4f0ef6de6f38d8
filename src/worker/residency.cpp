// ModelManager's residency: loads on demand, waiting calls, room making (LRU eviction) and
// idle unloads. See the state diagram in model_manager.h.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

#include "worker/model_manager.h"

namespace smmf::worker {

/// One call waiting for its model to load. Fields other than the bell are guarded by the
/// manager's mutex; the bell (thread-safe) is rung once when `done` is set.
struct LoadWaiter {
  explicit LoadWaiter(asio::any_io_executor ex) : bell(std::move(ex), 1) {}
  asio::experimental::concurrent_channel<void(boost::system::error_code)> bell;
  bool done = false;
  std::optional<Lease> lease;
  std::optional<Error> error;
};

namespace {

// How often a load waiting for room checks again whether a victim drained.
constexpr std::chrono::milliseconds kRoomPoll{10};

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void finish(LoadWaiter& w) {
  w.done = true;
  w.bell.try_send(boost::system::error_code{});
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  t.expires_after(d);
  co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

std::string mib(uint64_t bytes) {
  return fmt::format("{:.0f} MiB", bytes / 1048576.0);
}

}  // namespace

std::optional<Lease> ModelManager::take_running(const Model& m) const {
  std::shared_ptr<Instance> best;
  for (const auto& inst : m.instances) {
    if (inst->state != ModelState::kRunning) continue;
    if (!best || inst->in_flight.load() < best->in_flight.load()) best = inst;
  }
  if (!best) return std::nullopt;
  return Lease(std::move(best));
}

void ModelManager::fail_waiters(Model& m, const Error& e) {
  for (auto& w : m.waiters) {
    w->error = e;
    finish(*w);
  }
  m.waiters.clear();
}

bool ModelManager::loads_on_demand(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = models_.find(name);
  if (it == models_.end()) return false;
  for (const auto& inst : it->second.instances) {
    auto s = inst->state.load();
    if (s == ModelState::kIdle || s == ModelState::kStarting || s == ModelState::kRunning ||
        (s == ModelState::kStopping && inst->wakeable))
      return true;
  }
  return false;
}

asio::awaitable<Result<Lease>> ModelManager::lease(std::string name) {
  auto ex = co_await asio::this_coro::executor;
  std::shared_ptr<LoadWaiter> w;
  {
    std::lock_guard lock(mu_);
    auto it = models_.find(name);
    if (it == models_.end())
      co_return Error{ErrorCode::kNotFound, fmt::format("The model '{}' does not exist", name),
                      "model"};
    Model& m = it->second;
    if (auto l = take_running(m)) co_return std::move(*l);
    bool can_wait = false;
    for (const auto& inst : m.instances) {
      auto s = inst->state.load();
      can_wait = can_wait || s == ModelState::kIdle || s == ModelState::kStarting ||
                 (s == ModelState::kStopping && inst->wakeable);
    }
    if (!can_wait)
      co_return Error::unavailable(
          fmt::format("The model '{}' has no running instance (it is stopped or failed)", name));
    if (static_cast<int>(m.waiters.size()) >= limits_.max_load_waiters)
      co_return Error::exhausted(
          fmt::format("The model '{}' is loading and {} requests already wait for it "
                      "(max_load_waiters); retry later",
                      name, m.waiters.size()));
    w = std::make_shared<LoadWaiter>(ex);
    m.waiters.push_back(w);
  }
  pump(name, ex);
  {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer timer(ex);
    timer.expires_after(limits_.load_timeout);
    auto rung = w->bell.async_receive(asio::as_tuple(asio::use_awaitable));
    auto expired = timer.async_wait(asio::as_tuple(asio::use_awaitable));
    auto first = co_await (std::move(rung) || std::move(expired));
    (void)first;  // the outcome is read from the waiter below, under the mutex
  }
  std::lock_guard lock(mu_);
  if (w->done) {
    if (w->lease) co_return std::move(*w->lease);
    co_return w->error.value_or(Error::unavailable("load failed"));
  }
  if (auto it = models_.find(name); it != models_.end()) {
    auto& q = it->second.waiters;
    q.erase(std::remove(q.begin(), q.end(), w), q.end());
  }
  co_return Error::unavailable(
      fmt::format("The model '{}' did not load within {} ms (load_timeout)", name,
                  limits_.load_timeout.count()));
}

void ModelManager::pump(const std::string& name, const asio::any_io_executor& ex) {
  std::shared_ptr<Instance> to_load;
  {
    std::lock_guard lock(mu_);
    auto it = models_.find(name);
    if (it == models_.end()) return;
    Model& m = it->second;
    // Leases are handed over here, under the mutex, so that the instance counts the calls as
    // in flight before anyone can pick it for eviction.
    while (!m.waiters.empty()) {
      auto l = take_running(m);
      if (!l) break;
      auto w = m.waiters.front();
      m.waiters.pop_front();
      w->lease = std::move(*l);
      finish(*w);
    }
    if (m.waiters.empty()) return;
    std::shared_ptr<Instance> idle;
    for (const auto& inst : m.instances) {
      auto s = inst->state.load();
      if (s == ModelState::kStarting || (s == ModelState::kStopping && inst->wakeable))
        return;  // its end pumps again
      if (s == ModelState::kIdle && !idle) idle = inst;
    }
    if (!idle) {
      fail_waiters(m,
                   Error::unavailable(fmt::format(
                       "The model '{}' has no running instance (it is stopped or failed)", name)));
      return;
    }
    idle->state = ModelState::kStarting;
    idle->wakeable = true;
    to_load = std::move(idle);
  }
  changed();
  asio::co_spawn(ex, load_on_demand(name, std::move(to_load)), asio::detached);
}

asio::awaitable<void> ModelManager::load_on_demand(std::string name,
                                                   std::shared_ptr<Instance> inst) {
  spdlog::info("model {} loading on demand", inst->id);
  Status st = co_await load_with_room(inst);
  if (!st) {
    std::lock_guard lock(mu_);
    if (auto it = models_.find(name); it != models_.end())
      fail_waiters(it->second, Error::unavailable(fmt::format("The model '{}' failed to load: {}",
                                                              name, st.error().message)));
  }
  pump(name, co_await asio::this_coro::executor);
}

asio::awaitable<Status> ModelManager::load_with_room(std::shared_ptr<Instance> inst) {
  if (auto st = co_await make_room(inst); !st) {
    {
      std::lock_guard lock(mu_);
      // No room is not a broken model: an on-demand instance goes back to idle.
      if (inst->state == ModelState::kStopping)
        inst->state = ModelState::kStopped;  // stop() came first
      else
        inst->state = inst->wakeable ? ModelState::kIdle : ModelState::kFailed;
      if (inst->state == ModelState::kFailed) inst->failure = st.error().message;
      inst->wakeable = false;
    }
    spdlog::warn("model {} not loaded: {}", inst->id, st.error().message);
    changed();
    co_return st;
  }
  co_return co_await load(inst);
}

asio::awaitable<Status> ModelManager::make_room(std::shared_ptr<Instance> inst) {
  const int max_models = limits_.max_loaded_models;
  const uint64_t max_bytes = limits_.max_loaded_bytes;
  if (!inst->local || (max_models <= 0 && max_bytes == 0)) {
    std::lock_guard lock(mu_);
    inst->has_room = true;
    co_return Status{};
  }
  if (max_bytes > 0 && inst->bytes > max_bytes)
    co_return Error::exhausted(
        fmt::format("model {} needs {} (file size), more than max_loaded_bytes ({})", inst->id,
                    mib(inst->bytes), mib(max_bytes)));
  auto deadline = std::chrono::steady_clock::now() + limits_.load_timeout;
  std::shared_ptr<Instance> draining;  // evicted, waiting for its calls in flight to end
  for (;;) {
    std::shared_ptr<Instance> victim;
    {
      std::lock_guard lock(mu_);
      if (inst->state != ModelState::kStarting)
        co_return Error::unavailable(
            fmt::format("model {} was stopped while waiting for room", inst->id));
      int count = 1;
      uint64_t bytes = inst->bytes;
      std::shared_ptr<Instance> lru_free, lru_busy;
      for (const auto& [name, m] : models_) {
        for (const auto& other : m.instances) {
          if (other == inst || !other->local) continue;
          auto s = other->state.load();
          bool resident = s == ModelState::kRunning || s == ModelState::kStopping ||
                          (s == ModelState::kStarting && other->has_room);
          if (!resident) continue;
          ++count;
          bytes += other->bytes;
          if (s != ModelState::kRunning) continue;
          auto& lru = other->in_flight.load(std::memory_order_acquire) == 0 ? lru_free : lru_busy;
          if (!lru || other->last_used_ms.load() < lru->last_used_ms.load()) lru = other;
        }
      }
      bool fits =
          (max_models <= 0 || count <= max_models) && (max_bytes == 0 || bytes <= max_bytes);
      if (fits) {
        inst->has_room = true;
        co_return Status{};
      }
      if (!draining) {
        // Prefer an instance with nothing in flight; else stop routing to the least recently
        // used busy one and unload it once its calls end (they are never cut short).
        victim = lru_free ? lru_free : lru_busy;
        if (victim) {
          victim->state = ModelState::kStopping;
          victim->wakeable = true;
          if (!lru_free) draining = victim;
        }
      } else if (draining->in_flight.load(std::memory_order_acquire) == 0) {
        victim = std::exchange(draining, nullptr);
      }
    }
    if (victim && victim != draining) {
      changed();
      spdlog::info("model {} evicted (least recently used) to make room for {}", victim->id,
                   inst->id);
      co_await unload_to_idle(victim);
      continue;
    }
    if (victim) changed();  // started draining
    if (std::chrono::steady_clock::now() >= deadline) {
      if (draining) {  // give up on it: it serves again
        std::lock_guard lock(mu_);
        if (draining->state == ModelState::kStopping && draining->wakeable) {
          draining->state = ModelState::kRunning;
          draining->wakeable = false;
        }
      }
      co_return Error::unavailable(
          fmt::format("no room to load model {} within load_timeout ({} ms): max_loaded_models {}, "
                      "max_loaded_bytes {}",
                      inst->id, limits_.load_timeout.count(), max_models, max_bytes));
    }
    co_await sleep_for(kRoomPoll);
  }
}

asio::awaitable<void> ModelManager::unload_to_idle(std::shared_ptr<Instance> inst) {
  co_await inst->engine->unload();
  std::string model;
  {
    std::lock_guard lock(mu_);
    if (inst->state == ModelState::kStopping && inst->wakeable) inst->state = ModelState::kIdle;
    inst->wakeable = false;
    inst->has_room = false;
    for (const auto& [name, m] : models_)
      if (std::find(m.instances.begin(), m.instances.end(), inst) != m.instances.end())
        model = name;
  }
  spdlog::info("model {} unloaded: idle", inst->id);
  changed();
  // Calls that arrived while it drained wait for it to load again.
  if (!model.empty()) pump(model, co_await asio::this_coro::executor);
}

asio::awaitable<void> ModelManager::unload_idle_loop() {
  std::chrono::milliseconds shortest{0};
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, m] : models_) {
      auto d = m.cfg.idle_unload_after;
      if (d.count() > 0 && (shortest.count() == 0 || d < shortest)) shortest = d;
    }
  }
  if (shortest.count() == 0) co_return;
  // A quarter of the shortest idle time, between 20 ms and 1 s: unloads come at most that late.
  auto tick =
      std::clamp(shortest / 4, std::chrono::milliseconds(20), std::chrono::milliseconds(1000));
  while (!stopping_all_) {
    co_await sleep_for(tick);
    std::vector<std::shared_ptr<Instance>> victims;
    {
      std::lock_guard lock(mu_);
      int64_t now = now_ms();
      for (auto& [name, m] : models_) {
        auto idle = m.cfg.idle_unload_after.count();
        if (idle <= 0 || !m.waiters.empty()) continue;
        for (auto& inst : m.instances) {
          if (inst->state != ModelState::kRunning) continue;
          if (inst->in_flight.load(std::memory_order_acquire) != 0) continue;
          if (now - inst->last_used_ms.load() < idle) continue;
          inst->state = ModelState::kStopping;
          inst->wakeable = true;
          victims.push_back(inst);
        }
      }
    }
    if (victims.empty() || stopping_all_) continue;
    changed();
    for (auto& v : victims) {
      spdlog::info("model {} unused for its idle_unload_after: unloading", v->id);
      co_await unload_to_idle(v);
    }
  }
}

}  // namespace smmf::worker
