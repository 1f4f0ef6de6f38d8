#include "worker/registrar.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

namespace smmf::worker {

Registrar::Registrar(asio::any_io_executor ex, ModelManager& models,
                     std::shared_ptr<ControlPlane> plane, WorkerIdentity self,
                     std::chrono::milliseconds interval)
    : models_(models),
      plane_(std::move(plane)),
      self_(std::move(self)),
      interval_(interval),
      timer_(asio::make_strand(std::move(ex))) {}

void Registrar::start() {
  asio::co_spawn(timer_.get_executor(), run(), asio::detached);
}

registry::InstanceRecord Registrar::record_for(const ModelStatus& m) const {
  registry::InstanceRecord r;
  r.id = fmt::format("{}/{}", self_.id, m.name);
  r.model = m.name;
  r.type = m.type;
  r.address = self_.address;
  r.engine = m.engine;
  r.weight = m.weight;
  r.state = std::string(to_string(m.state));
  r.failure = m.failure;
  r.worker = self_.id;
  r.worker_address = self_.address;
  r.in_flight = m.in_flight;
  r.replicas = m.replicas;
  r.context_length = m.context_length;
  r.labels = m.labels;
  return r;
}

void Registrar::poke() {
  poked_ = true;
  asio::post(timer_.get_executor(), [self = shared_from_this()] { self->timer_.cancel(); });
}

void Registrar::stop() {
  stopping_ = true;
  poke();
}

asio::awaitable<void> Registrar::sync() {
  for (const auto& m : models_.list()) {
    auto rec = record_for(m);
    // Re-register when what routing sees changed; otherwise a cheap heartbeat.
    std::string print = fmt::format("{}|{}|{}|{}|{}", rec.state, rec.replicas, rec.weight,
                                    rec.context_length, rec.failure);
    for (const auto& [k, v] : rec.labels) print += fmt::format("|{}={}", k, v);
    auto it = registered_.find(rec.id);
    if (it != registered_.end() && it->second == print) {
      auto st = co_await plane_->heartbeat(rec.id, rec.state, rec.in_flight);
      if (st) continue;
      if (st.error().code != ErrorCode::kNotFound) {
        spdlog::warn("heartbeat for {} failed: {}", rec.id, st.error().message);
        continue;
      }
      spdlog::info("the registry forgot {}: registering again", rec.id);
    }
    auto st = co_await plane_->put(rec);
    if (!st) {
      spdlog::warn("registering {} failed: {}", rec.id, st.error().message);
      registered_.erase(rec.id);
      continue;
    }
    if (it == registered_.end())
      spdlog::info("registered {} at {} ({})", rec.id, rec.address, rec.state);
    registered_[rec.id] = print;
  }
  // The registry decides how often it expects heartbeats.
  if (auto want = plane_->announced_interval(); want && *want != interval_) {
    spdlog::info("heartbeat interval set to {} ms by the controller", want->count());
    interval_ = *want;
  }
}

asio::awaitable<void> Registrar::run() {
  auto self = shared_from_this();
  while (!stopping_) {
    poked_ = false;
    co_await sync();
    if (stopping_) break;
    if (poked_) continue;  // a change arrived during the sync
    timer_.expires_after(interval_);
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  for (const auto& [id, print] : registered_) {
    auto st = co_await plane_->remove(id);
    if (!st)
      spdlog::warn("deregistering {} failed: {}", id, st.error().message);
    else
      spdlog::info("deregistered {}", id);
  }
  registered_.clear();
}

}  // namespace smmf::worker
