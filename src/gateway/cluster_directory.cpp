#include "gateway/cluster_directory.h"

#include <boost/container/small_vector.hpp>

#include "observability/metrics.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <mutex>
#include <set>

namespace smmf::gateway {
using Clock = std::chrono::steady_clock;

struct ClusterDirectory::Member {
  registry::InstanceRecord rec;
  std::shared_ptr<engines::Engine> engine;
  bool in_process = false;
  std::atomic<int> in_flight{0};
  std::atomic<uint64_t> served{0};
  // Guarded by the directory's mutex (exclusive for writes).
  int consecutive_failures = 0;
  int ejections = 0;
  Clock::time_point ejected_until{};
  bool check_failed = false;
  bool stale = false;  // from a previous controller epoch, not re-registered yet
  Clock::time_point stale_since{};

  bool ejected(Clock::time_point now) const { return now < ejected_until; }
  bool routable() const { return rec.routable() && !check_failed; }
};

/// Holds one call's instance: counts it in flight until released.
struct ClusterDirectory::Lease {
  explicit Lease(std::shared_ptr<Member> m) : member(std::move(m)) { member->in_flight++; }
  ~Lease() { member->in_flight--; }
  std::shared_ptr<Member> member;
};

ClusterDirectory::ClusterDirectory(RoutingConfig cfg, Connector connect)
    : cfg_(std::move(cfg)), connect_(std::move(connect)) {}

Policy ClusterDirectory::policy_for(std::string_view model) const {
  auto it = cfg_.model_policies.find(std::string(model));
  const std::string& name = it == cfg_.model_policies.end() ? cfg_.policy : it->second;
  return policy_from_string(name).value_or(Policy::kLeastOutstanding);
}

void ClusterDirectory::upsert(const registry::InstanceRecord& rec) {
  auto it = members_.find(rec.id);
  if (it != members_.end() && it->second->rec.address == rec.address) {
    bool was = it->second->routable();
    it->second->rec = rec;
    it->second->stale = false;
    if (was != it->second->routable())
      spdlog::info("instance {} of {} is now {}", rec.id, rec.model,
                   it->second->routable() ? "routable" : "not routable");
    return;
  }
  auto conn = connect_(rec);
  if (!conn) {
    spdlog::warn("cannot route to instance {} ({}): {}", rec.id, rec.address, conn.error().message);
    if (it != members_.end()) members_.erase(it);
    return;
  }
  auto m = std::make_shared<Member>();
  m->rec = rec;
  m->engine = std::move(conn->engine);
  m->in_process = conn->in_process;
  spdlog::info("instance {} of {} at {} added ({})", rec.id, rec.model, rec.address, rec.state);
  members_[rec.id] = std::move(m);
}

void ClusterDirectory::apply(const registry::Changes& changes, const std::string& epoch) {
  std::unique_lock lock(mu_);
  auto now = Clock::now();
  if (!epoch.empty() && !epoch_.empty() && epoch != epoch_) {
    spdlog::warn(
        "the controller restarted: keeping {} known instance(s) for {} ms while "
        "workers re-register",
        members_.size(), restart_grace_.count());
    for (auto& [id, m] : members_) {
      m->stale = true;
      m->stale_since = now;
    }
  }
  if (!epoch.empty()) epoch_ = epoch;
  if (changes.snapshot) {
    std::set<std::string> present;
    for (const auto& e : changes.events) present.insert(e.record.id);
    for (auto it = members_.begin(); it != members_.end();) {
      if (!present.contains(it->first) && !it->second->stale) {
        spdlog::info("instance {} removed", it->first);
        it = members_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const auto& e : changes.events) {
    if (e.kind == registry::EventKind::kPut) {
      upsert(e.record);
    } else if (members_.erase(e.record.id)) {
      spdlog::info("instance {} removed", e.record.id);
    }
  }
  // Stale members past the grace period did not come back.
  for (auto it = members_.begin(); it != members_.end();) {
    if (it->second->stale && now - it->second->stale_since > restart_grace_) {
      spdlog::info("instance {} did not re-register: removed", it->first);
      it = members_.erase(it);
    } else {
      ++it;
    }
  }
  synced_ = true;
}

std::vector<protocol::ModelCard> ClusterDirectory::models() const {
  std::shared_lock lock(mu_);
  std::map<std::string, protocol::ModelCard> out;
  for (const auto& [id, m] : members_) {
    if (!m->routable()) continue;
    auto& card = out[m->rec.model];
    card.id = m->rec.model;
    card.type = protocol::model_type_from_string(m->rec.type).value_or(protocol::ModelType::kLlm);
    card.context_length = std::max(card.context_length, m->rec.context_length);
    int64_t created = m->rec.registered_ms / 1000;
    if (card.created == 0 || created < card.created) card.created = created;
  }
  std::vector<protocol::ModelCard> v;
  for (auto& [k, c] : out) v.push_back(std::move(c));
  return v;
}

Result<ModelDirectory::Pick> ClusterDirectory::pick(std::string_view model,
                                                    const PickHints& hints) {
  std::shared_lock lock(mu_);
  auto now = Clock::now();
  // Inline buffers: a model rarely has more than a few instances (no allocation per call).
  boost::container::small_vector<const std::shared_ptr<Member>*, 8> healthy, panic;
  bool known = false;
  for (const auto& [id, m] : members_) {
    if (m->rec.model != model) continue;
    known = true;
    if (!m->routable()) continue;
    if (std::find(hints.exclude.begin(), hints.exclude.end(), id) != hints.exclude.end()) continue;
    (m->ejected(now) ? panic : healthy).push_back(&m);
  }
  if (!known)
    return Error{ErrorCode::kNotFound, fmt::format("The model '{}' does not exist", model),
                 "model"};
  // When every instance is ejected, try them anyway rather than fail everything (panic mode).
  auto& pool = healthy.empty() ? panic : healthy;
  if (pool.empty())
    return Error::unavailable(fmt::format("The model '{}' has no healthy instance{}", model,
                                          hints.exclude.empty() ? "" : " left to retry on"));
  boost::container::small_vector<Candidate, 8> cands;
  for (const auto* m : pool)
    cands.push_back({(*m)->rec.id, (*m)->in_flight.load(), (*m)->rec.weight});
  size_t i = choose(policy_for(model), std::span<const Candidate>(cands.data(), cands.size()),
                    hints.affinity_key, round_robin_);
  std::shared_ptr<Member> chosen = *pool[i];
  chosen->served++;
  Pick p;
  p.engine = chosen->engine.get();
  p.instance = chosen->rec.id;
  auto lease = std::make_shared<Lease>(chosen);
  p.hold = lease;
  return p;
}

void ClusterDirectory::report(const Pick& pick, const Status& outcome) {
  bool instance_failed = !outcome && (outcome.error().code == ErrorCode::kUnavailable ||
                                      outcome.error().code == ErrorCode::kDeadlineExceeded ||
                                      outcome.error().code == ErrorCode::kInternal);
  std::unique_lock lock(mu_);
  auto it = members_.find(pick.instance);
  if (it == members_.end()) return;
  Member& m = *it->second;
  if (!instance_failed) {
    if (outcome) {
      m.consecutive_failures = 0;
      m.ejections = 0;
    }
    return;
  }
  if (++m.consecutive_failures < cfg_.eject_after_failures) return;
  auto interval = std::min<std::chrono::milliseconds>(
      cfg_.eject_base * (1 << std::min(m.ejections, 5)), std::chrono::milliseconds(60'000));
  m.ejected_until = Clock::now() + interval;
  m.ejections++;
  m.consecutive_failures = 0;
  observability::metrics()
      .ejections.Add({{"model", m.rec.model}, {"instance", pick.instance}})
      .Increment();
  spdlog::warn("instance {} ejected for {} ms after {} consecutive failures (last: {})",
               pick.instance, interval.count(), cfg_.eject_after_failures, outcome.error().message);
}

Status ClusterDirectory::ready() const {
  if (ready_check_) return ready_check_();
  std::shared_lock lock(mu_);
  if (!synced_) return Error::unavailable("not yet synchronised with the controller");
  return {};
}

std::vector<ClusterDirectory::MemberStats> ClusterDirectory::stats() const {
  std::shared_lock lock(mu_);
  std::vector<MemberStats> out;
  auto now = Clock::now();
  for (const auto& [id, m] : members_)
    out.push_back({id, m->rec.model, m->rec.address, m->routable(), m->ejected(now),
                   m->check_failed, m->in_flight.load(), m->served.load()});
  return out;
}

asio::awaitable<void> ClusterDirectory::health_check_loop(std::shared_ptr<net::HttpClient> client) {
  if (cfg_.health_check_interval.count() == 0) co_return;
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer timer(ex);
  while (!stopped_) {
    timer.expires_after(cfg_.health_check_interval);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (stopped_) break;
    std::vector<std::pair<std::string, std::string>> targets;  // id, address
    {
      std::shared_lock lock(mu_);
      for (const auto& [id, m] : members_)
        if (!m->in_process && m->rec.labels.count("health_check") == 0)
          targets.emplace_back(id, m->rec.address);
    }
    for (const auto& [id, address] : targets) {
      auto url = net::parse_url(address);
      bool ok = false;
      if (url) {
        auto res = co_await client->send(*url, net::ClientRequest::get("/healthz"));
        ok = res && res->status < 500;
      }
      std::unique_lock lock(mu_);
      auto it = members_.find(id);
      if (it == members_.end()) continue;
      if (it->second->check_failed != !ok)
        spdlog::warn("instance {} health check {}", id, ok ? "passes again" : "failed");
      it->second->check_failed = !ok;
    }
  }
}

}  // namespace smmf::gateway
