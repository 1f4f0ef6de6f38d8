#pragma once
/// Hosts model instances on engines in one process and tracks their lifecycle.
///
///            start() (load = "eager")          load ok
///   stopped ───────────────────────> starting ───────────> running
///      ^  │                            ^  │ load error         │  │ stop()
///      │  │ start()                    │  v                    │  v
///      │  │ (load = "on_demand")       │ failed(reason)        │ stopping ── calls end ──> stopped
///      │  v                  a call    │                       │
///      │ idle ─────────────────────────┘                       │ idle_unload_after, or evicted
///      │  ^   (waits for room: LRU eviction of idle models)    │ for room (LRU; waits for its
///      │  └──────────── stopping (to idle) <───────────────────┘ calls in flight to end)
///      └── stop() from any state
///
/// `idle`: not loaded but listed and routable; the first call loads it and waits (at most
/// load_timeout, at most max_load_waiters calls per model). Residency limits (max_loaded_models,
/// max_loaded_bytes from the GGUF file size) count instances with a local model file; making
/// room unloads the least recently used running instance, never one with calls in flight.
///
/// Threading: all methods are thread-safe (one mutex guards the table; it is never held across
/// an await or an engine call). Engines are shared_ptr: a lease keeps its engine alive even if
/// the model is stopped meanwhile. Loads on demand run as coroutines on the caller's executor.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/config.h"
#include "engines/engine.h"
#include "engines/engine_factory.h"

namespace smmf::worker {
namespace asio = boost::asio;

enum class ModelState { kStopped, kStarting, kRunning, kStopping, kFailed, kIdle };
std::string_view to_string(ModelState s);

/// One replica of a model on one engine.
struct Instance {
  std::string id;  ///< "<model>#<replica>"
  std::shared_ptr<engines::Engine> engine;
  std::atomic<ModelState> state{ModelState::kStopped};
  std::atomic<int> in_flight{0};
  std::atomic<int64_t> last_used_ms{0};  ///< steady clock; set when a call starts or ends
  std::string failure;                   ///< reason when failed (guarded by the manager's mutex)
  // Guarded by the manager's mutex:
  uint64_t bytes = 0;     ///< resident size estimate (model file size)
  bool local = false;     ///< counts against the residency limits (has a model file)
  bool wakeable = false;  ///< its starting/stopping is an on-demand load / unload to idle
  bool has_room = false;  ///< starting and counted as resident (passed the residency check)
};

/// Keeps one call's instance busy (in-flight counted) until destroyed.
class Lease {
 public:
  Lease() = default;
  explicit Lease(std::shared_ptr<Instance> inst);
  Lease(Lease&&) noexcept = default;
  Lease& operator=(Lease&&) noexcept = default;
  ~Lease();
  engines::Engine& engine() const { return *inst_->engine; }
  const std::string& instance_id() const { return inst_->id; }

 private:
  std::shared_ptr<Instance> inst_;
};

struct ModelStatus {
  std::string name;
  std::string type;
  std::string engine;
  int weight = 1;
  ModelState state = ModelState::kStopped;
  std::string failure;
  int replicas = 0;
  int running = 0;
  int in_flight = 0;
  int loaded = 0;  ///< replicas holding weights: loading with room, running or unloading
  bool on_demand = false;
  int context_length = 0;
  int64_t created = 0;
  /// Engines' status_labels(); keys get "#<replica>" when the model has several replicas.
  std::map<std::string, std::string> labels;
};

/// Worker-wide residency limits and load waits (the [worker] settings of the same names).
struct ResidencyLimits {
  int max_loaded_models = 0;      ///< 0 = no limit
  uint64_t max_loaded_bytes = 0;  ///< 0 = no limit
  std::chrono::milliseconds load_timeout{120'000};
  int max_load_waiters = 64;
  static ResidencyLimits from(const WorkerConfig& w);
};

struct LoadWaiter;

class ModelManager {
 public:
  explicit ModelManager(const engines::EngineRegistry& engines, ResidencyLimits limits = {});

  /// Validates and adds a model (stopped). Errors name the config origin and key.
  Status add(const ModelConfig& cfg);
  /// Loads every replica of `name`; returns when all are running or one failed.
  boost::asio::awaitable<Status> start(std::string name);
  boost::asio::awaitable<Status> stop(std::string name);
  /// Replaces each replica by a freshly loaded one, one at a time; the old replica serves
  /// until its replacement runs, then finishes its in-flight calls and is unloaded.
  boost::asio::awaitable<Status> restart(std::string name);
  /// Changes the replica count: new replicas are loaded, surplus ones stopped.
  boost::asio::awaitable<Status> scale(std::string name, int replicas);
  /// Called after every state change (e.g. to tell the controller at once).
  void on_change(std::function<void()> cb) { on_change_ = std::move(cb); }
  boost::asio::awaitable<void> stop_all();

  /// A running instance of `name` with the fewest calls in flight.
  Result<Lease> acquire(std::string_view name) const;
  /// Like acquire(), but when the model is idle or loading, loads it (making room) and waits.
  /// Errors: NotFound; Unavailable (stopped, failed, load failed or not done within
  /// load_timeout); ResourceExhausted (max_load_waiters calls already wait).
  asio::awaitable<Result<Lease>> lease(std::string name);
  /// Whether lease() would wait for a load rather than fail (idle or loading).
  bool loads_on_demand(std::string_view name) const;
  /// Unloads running instances unused for their model's idle_unload_after, until stop_all().
  asio::awaitable<void> unload_idle_loop();
  std::vector<ModelStatus> list() const;
  std::vector<std::string> names() const;

 private:
  struct Model {
    ModelConfig cfg;
    std::vector<std::shared_ptr<Instance>> instances;
    int64_t created = 0;
    std::deque<std::shared_ptr<LoadWaiter>> waiters;  ///< calls waiting for a load, in order
  };
  void changed() const {
    if (on_change_) on_change_();
  }
  Result<std::shared_ptr<Instance>> make_instance(const ModelConfig& cfg, int replica) const;
  boost::asio::awaitable<Status> load(const std::shared_ptr<Instance>& inst);
  // Residency (residency.cpp).
  asio::awaitable<Status> load_with_room(std::shared_ptr<Instance> inst);
  asio::awaitable<Status> make_room(std::shared_ptr<Instance> inst);
  asio::awaitable<void> load_on_demand(std::string name, std::shared_ptr<Instance> inst);
  asio::awaitable<void> unload_to_idle(std::shared_ptr<Instance> inst);
  void pump(const std::string& name, const asio::any_io_executor& ex);
  std::optional<Lease> take_running(const Model& m) const;  // under mu_
  void fail_waiters(Model& m, const Error& e);              // under mu_

  const engines::EngineRegistry& engines_;
  ResidencyLimits limits_;
  std::atomic<bool> stopping_all_{false};
  std::function<void()> on_change_;
  mutable std::mutex mu_;
  std::map<std::string, Model, std::less<>> models_;
};

}  // namespace smmf::worker
