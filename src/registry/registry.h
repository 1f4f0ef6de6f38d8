#pragma once
/// The Registry seam: where model instances are registered, heartbeat and are listed and
/// watched. The memory implementation is the default (with an optional snapshot file);
/// a distributed store (etcd) can implement the same interface.
/// Threading: every method is thread-safe. `subscribe` callbacks run on the caller of the
/// mutating method, without the registry's lock held; they must not block.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "registry/instance.h"

namespace smmf::registry {

struct ListFilter {
  std::string model;            ///< empty = any
  std::string type;             ///< empty = any
  std::optional<bool> healthy;  ///< unset = any
};

/// The registry's state at a revision, or the changes after a revision.
struct Changes {
  uint64_t revision = 0;  ///< the newest revision included
  bool snapshot = false;  ///< true: `events` are the full state as puts
  std::vector<RegistryEvent> events;
};

class Registry {
 public:
  virtual ~Registry() = default;
  /// Registers or replaces an instance (keeps registered_ms of an existing id); stamps the
  /// heartbeat time. Emits a put event.
  virtual Status put(InstanceRecord rec) = 0;
  /// Refreshes liveness and the reported state/in-flight. NotFound for an unknown id: the
  /// caller must register again (e.g. after a controller restart without snapshot).
  virtual Status heartbeat(const std::string& id, const std::string& state, int in_flight) = 0;
  virtual Status remove(const std::string& id) = 0;
  virtual std::vector<InstanceRecord> list(const ListFilter& filter = {}) const = 0;
  virtual std::optional<InstanceRecord> get(const std::string& id) const = 0;
  /// Changes after `since`; a snapshot when `since` is 0 or older than the kept history.
  virtual Changes changes_since(uint64_t since) const = 0;
  virtual uint64_t revision() const = 0;
  /// Called after every change with the new revision.
  virtual void subscribe(std::function<void(uint64_t revision)> on_change) = 0;
  /// Marks instances whose heartbeat is older than `unhealthy_after_ms` unhealthy and removes
  /// those older than `remove_after_ms` (external instances without heartbeats included,
  /// unless registered with `labels["heartbeat"] == "none"`). `now_ms` is injected for tests.
  virtual void expire(int64_t now_ms, int64_t unhealthy_after_ms, int64_t remove_after_ms) = 0;
};

}  // namespace smmf::registry
