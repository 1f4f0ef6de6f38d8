#pragma once
/// Hosts model instances on engines in one process and tracks their lifecycle.
///
///            start()                load ok
///   stopped ─────────> starting ─────────────> running
///      ^                  │ load error            │ stop()
///      │                  v                       v
///      │               failed(reason)         stopping ── in-flight calls end ──> stopped
///      └──────────────────────────────────────────────────────────────────────────┘
///
/// Threading: all methods are thread-safe (one mutex guards the table; it is never held across
/// an await or an engine call). Engines are shared_ptr: a lease keeps its engine alive even if
/// the model is stopped meanwhile.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/config.h"
#include "engines/engine.h"
#include "engines/engine_factory.h"

namespace smmf::worker {
namespace asio = boost::asio;

enum class ModelState { kStopped, kStarting, kRunning, kStopping, kFailed };
std::string_view to_string(ModelState s);

/// One replica of a model on one engine.
struct Instance {
  std::string id;  ///< "<model>#<replica>"
  std::shared_ptr<engines::Engine> engine;
  std::atomic<ModelState> state{ModelState::kStopped};
  std::atomic<int> in_flight{0};
  std::string failure;  ///< reason when failed (guarded by the manager's mutex)
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
  int context_length = 0;
  int64_t created = 0;
  /// Engines' status_labels(); keys get "#<replica>" when the model has several replicas.
  std::map<std::string, std::string> labels;
};

class ModelManager {
 public:
  explicit ModelManager(const engines::EngineRegistry& engines);

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
  std::vector<ModelStatus> list() const;
  std::vector<std::string> names() const;

 private:
  struct Model {
    ModelConfig cfg;
    std::vector<std::shared_ptr<Instance>> instances;
    int64_t created = 0;
  };
  void changed() const {
    if (on_change_) on_change_();
  }
  boost::asio::awaitable<Status> load(const std::shared_ptr<Instance>& inst);

  const engines::EngineRegistry& engines_;
  std::function<void()> on_change_;
  mutable std::mutex mu_;
  std::map<std::string, Model, std::less<>> models_;
};

}  // namespace smmf::worker
