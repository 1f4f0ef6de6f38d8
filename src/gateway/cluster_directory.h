#pragma once
/// ModelDirectory over the registry's instances (cluster mode, and the all-in-one server's
/// embedded registry): a local copy kept current by the watch, so a call never waits on the
/// controller. Picks by policy among routable instances, counts in-flight calls, ejects
/// instances after consecutive failures (for a growing interval), and drops instances whose
/// active health check fails until it passes again.
///
/// Controller restarts: when the watch reports a new controller epoch, known instances stay
/// routable for `restart_grace` so that workers can re-register; the ones that do not are
/// dropped then.
/// Threading: thread-safe (a shared mutex guards the table; in-flight counts are atomics).
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>

#include "common/config.h"
#include "gateway/balancer.h"
#include "gateway/model_directory.h"
#include "net/http_client.h"
#include "registry/registry.h"

namespace smmf::gateway {

class ClusterDirectory : public ModelDirectory {
 public:
  /// How to reach an instance: an in-process engine, or an HTTP client engine to its address.
  struct Connection {
    std::shared_ptr<engines::Engine> engine;
    bool in_process = false;  ///< in-process instances are not health-checked over HTTP
  };
  using Connector = std::function<Result<Connection>(const registry::InstanceRecord&)>;

  ClusterDirectory(RoutingConfig cfg, Connector connect);

  /// Applies a watch result. `epoch` identifies the controller's run (see above).
  void apply(const registry::Changes& changes, const std::string& epoch = {});
  void set_restart_grace(std::chrono::milliseconds g) { restart_grace_ = g; }
  /// Replaces the default readiness (synced with the registry once).
  void set_ready_check(std::function<Status()> check) { ready_check_ = std::move(check); }

  std::vector<protocol::ModelCard> models() const override;
  Result<Pick> pick(std::string_view model, const PickHints& hints = {}) override;
  void report(const Pick& pick, const Status& outcome) override;
  Status ready() const override;

  struct MemberStats {
    std::string id;
    std::string model;
    std::string address;
    bool routable = false;
    bool ejected = false;
    bool check_failed = false;
    int in_flight = 0;
    uint64_t served = 0;
  };
  std::vector<MemberStats> stats() const;

  /// Probes GET {address}/healthz of every HTTP instance every `health_check_interval`
  /// with `health_check_timeout`, until `stop()`.
  asio::awaitable<void> health_check_loop(std::shared_ptr<net::HttpClient> client);
  void stop() { stopped_ = true; }

 private:
  struct Member;
  struct Lease;
  Policy policy_for(std::string_view model) const;
  void upsert(const registry::InstanceRecord& rec);

  RoutingConfig cfg_;
  Connector connect_;
  std::chrono::milliseconds restart_grace_{10'000};
  std::function<Status()> ready_check_;
  mutable std::shared_mutex mu_;
  std::map<std::string, std::shared_ptr<Member>, std::less<>> members_;  // by instance id
  std::string epoch_;
  bool synced_ = false;
  std::atomic<uint64_t> round_robin_{0};
  std::atomic<bool> stopped_{false};
};

}  // namespace smmf::gateway
