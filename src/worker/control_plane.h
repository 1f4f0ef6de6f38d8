#pragma once
/// How a worker reaches the registry: over HTTP to a controller, or directly to an in-process
/// Registry (the all-in-one server). Thread-safe; calls never block an I/O thread.
#include <boost/asio/awaitable.hpp>

#include <memory>
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

 private:
  boost::asio::awaitable<Status> call(net::ClientRequest req);
  std::shared_ptr<net::HttpClient> client_;
  net::Url controller_;
};

}  // namespace smmf::worker
