#pragma once
/// How a worker reaches the registry: over HTTP to a controller, or directly to an in-process
/// Registry (the all-in-one server). Thread-safe; calls never block an I/O thread.
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/error.h"
#include "net/http_client.h"
#include "registry/registry.h"

namespace smmf::worker {

class ControlPlane {
 public:
  virtual ~ControlPlane() = default;
  virtual boost::asio::awaitable<Status> put(const registry::InstanceRecord& rec) = 0;
  /// NotFound means the registry forgot the instance: register it again.
  virtual boost::asio::awaitable<Status> heartbeat(const std::string& id, const std::string& state,
                                                   int in_flight) = 0;
  virtual boost::asio::awaitable<Status> remove(const std::string& id) = 0;
  /// The heartbeat interval the registry asked for in its last answer, if it said one.
  virtual std::optional<std::chrono::milliseconds> announced_interval() const {
    return std::nullopt;
  }
};

class LocalControlPlane : public ControlPlane {
 public:
  explicit LocalControlPlane(registry::Registry& registry) : registry_(registry) {}
  boost::asio::awaitable<Status> put(const registry::InstanceRecord& rec) override;
  boost::asio::awaitable<Status> heartbeat(const std::string& id, const std::string& state,
                                           int in_flight) override;
  boost::asio::awaitable<Status> remove(const std::string& id) override;

 private:
  registry::Registry& registry_;
};

class HttpControlPlane : public ControlPlane {
 public:
  HttpControlPlane(std::shared_ptr<net::HttpClient> client, net::Url controller)
      : client_(std::move(client)), controller_(std::move(controller)) {}
  boost::asio::awaitable<Status> put(const registry::InstanceRecord& rec) override;
  boost::asio::awaitable<Status> heartbeat(const std::string& id, const std::string& state,
                                           int in_flight) override;
  boost::asio::awaitable<Status> remove(const std::string& id) override;
  std::optional<std::chrono::milliseconds> announced_interval() const override {
    int64_t ms = announced_ms_.load();
    if (ms <= 0) return std::nullopt;
    return std::chrono::milliseconds(ms);
  }

 private:
  boost::asio::awaitable<Result<std::string>> call(net::ClientRequest req);
  std::shared_ptr<net::HttpClient> client_;
  net::Url controller_;
  std::atomic<int64_t> announced_ms_{0};
};

}  // namespace smmf::worker
