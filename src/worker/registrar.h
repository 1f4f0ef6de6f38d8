#pragma once
/// Keeps the registry informed about this worker's models: one instance record per model
/// (id "<worker id>/<model>", replicas balanced inside the worker), registered at start,
/// re-registered when the state changes or the registry forgot it (controller restart),
/// heartbeat every interval, removed on shutdown.
/// Threading: run() is one coroutine on the registrar's strand, which its timer shares (the io
/// context may run on several threads: poke()'s cancel must not touch the timer while run()
/// arms it); poke() and stop() are thread-safe.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>

#include "worker/control_plane.h"
#include "worker/model_manager.h"

namespace smmf::worker {

struct WorkerIdentity {
  std::string id;       ///< unique in the cluster
  std::string address;  ///< base URL of this worker's API, e.g. http://127.0.0.1:8002
};

class Registrar : public std::enable_shared_from_this<Registrar> {
 public:
  Registrar(asio::any_io_executor ex, ModelManager& models, std::shared_ptr<ControlPlane> plane,
            WorkerIdentity self, std::chrono::milliseconds interval);

  /// Spawns run() on the registrar's strand (detached).
  void start();
  /// Syncs every interval (or at once after poke()) until stop(); then deregisters. Runs on
  /// the strand: use start().
  asio::awaitable<void> run();
  void poke();
  void stop();
  /// The record for a model as this worker would register it now.
  registry::InstanceRecord record_for(const ModelStatus& m) const;

 private:
  asio::awaitable<void> sync();

  ModelManager& models_;
  std::shared_ptr<ControlPlane> plane_;
  WorkerIdentity self_;
  std::chrono::milliseconds interval_;
  asio::steady_timer timer_;  ///< on a strand of the executor given
  std::atomic<bool> stopping_{false};
  std::atomic<bool> poked_{false};
  std::map<std::string, std::string> registered_;  // id -> fingerprint of what was sent
};

}  // namespace smmf::worker
