#pragma once
/// Keeps a ClusterDirectory in step with a controller over its long-poll watch
/// (GET /api/v1/watch?since=N). Nothing on the request path waits on it: the directory serves
/// from its copy, which survives controller outages. A snapshot after the first one (history
/// overflow or controller restart) starts a new epoch in the directory, whose instances get a
/// grace period to re-register.
/// Threading: run() is one coroutine; stop() is thread-safe.
#include <atomic>
#include <memory>

#include "gateway/cluster_directory.h"
#include "net/http_client.h"

namespace smmf::gateway {

class ControllerWatch {
 public:
  ControllerWatch(std::shared_ptr<net::HttpClient> client, net::Url controller,
                  ClusterDirectory& directory);
  asio::awaitable<void> run();
  void stop() { stopped_ = true; }

 private:
  std::shared_ptr<net::HttpClient> client_;
  net::Url controller_;
  ClusterDirectory& directory_;
  std::atomic<bool> stopped_{false};
};

}  // namespace smmf::gateway
