#pragma once
/// The default Registry: a map in memory, a bounded history of recent events for
/// `changes_since`, and an optional JSON snapshot file so a restarted controller keeps its
/// instances.
///
/// Threading: every method is thread-safe (one mutex). Subscribers are called after the change,
/// outside the lock, on the thread that made it. The snapshot is written by a background thread
/// of its own (never an I/O thread), at most once per `save_interval`, to "<file>.tmp" then
/// renamed over the file; the destructor writes the last pending change.
/// Events: put / remove / expire emit one event per change. A heartbeat emits a put only when it
/// changes what routing sees (state, or healthy again); liveness and in-flight updates are
/// silent, so watchers are not woken on every heartbeat.
/// Snapshot restore: instances come back as they were with `last_heartbeat_ms` = load time, so
/// they stay routable until they either heartbeat again or time out; the revision continues from
/// the saved one. A missing file is an empty registry; an unreadable one is logged (warn) and
/// ignored (workers re-register when their heartbeat gets 404).
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "registry/registry.h"

namespace smmf::registry {

class MemoryRegistry : public Registry {
 public:
  struct Options {
    std::string snapshot_file;       ///< empty = no snapshot
    size_t history_limit = 4096;     ///< events kept for changes_since
    std::function<int64_t()> clock;  ///< unix ms; default: the system clock
    std::chrono::milliseconds save_interval{200};
    /// Where revisions start when no snapshot is restored. A controller starts them at its
    /// start time (unix ms) so that they never go backwards across restarts, and a watcher
    /// holding an older revision is sent a snapshot.
    uint64_t first_revision = 0;
  };

  MemoryRegistry();
  explicit MemoryRegistry(std::string snapshot_file);
  explicit MemoryRegistry(Options opts);
  ~MemoryRegistry() override;
  MemoryRegistry(const MemoryRegistry&) = delete;
  MemoryRegistry& operator=(const MemoryRegistry&) = delete;

  Status put(InstanceRecord rec) override;
  Status heartbeat(const std::string& id, const std::string& state, int in_flight) override;
  Status remove(const std::string& id) override;
  std::vector<InstanceRecord> list(const ListFilter& filter = {}) const override;
  std::optional<InstanceRecord> get(const std::string& id) const override;
  Changes changes_since(uint64_t since) const override;
  uint64_t revision() const override;
  void subscribe(std::function<void(uint64_t revision)> on_change) override;
  void expire(int64_t now_ms, int64_t unhealthy_after_ms, int64_t remove_after_ms) override;

  /// Writes the snapshot now if a change is pending (blocks on file I/O; not for I/O threads).
  Status flush();

 private:
  int64_t now() const;
  // Called with mu_ held: assigns the next revision and records the event.
  uint64_t record_locked(EventKind kind, const InstanceRecord& rec);
  // Called without mu_: marks the snapshot dirty and calls subscribers.
  void changed(uint64_t revision);
  void load_snapshot();
  Status save_snapshot();
  void saver_loop();

  Options opts_;
  mutable std::mutex mu_;  // guards the fields below
  std::map<std::string, InstanceRecord> instances_;
  std::deque<RegistryEvent> history_;
  uint64_t revision_ = 0;
  uint64_t history_start_ = 0;  // every change after this revision is in history_

  std::mutex subs_mu_;
  std::vector<std::function<void(uint64_t)>> subscribers_;

  std::mutex save_mu_;  // guards dirty_/stop_; serializes snapshot writes
  std::condition_variable save_cv_;
  bool dirty_ = false;
  bool stop_ = false;
  std::mutex write_mu_;  // one writer of the file at a time (saver thread vs flush)
  std::thread saver_;
};

}  // namespace smmf::registry
