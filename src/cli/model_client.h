#pragma once
/// The client side of `smmf model`: a blocking runner for one short-lived CLI process, and the
/// controller calls it makes (list instances, start/stop/restart/scale a model). The same calls
/// work against `smmf serve`, whose port answers the controller and worker routes.
///
/// Threading: a BlockingRunner runs its io_context on the calling thread, one task at a time;
/// not thread-safe. Lifetime: a coroutine's reference arguments must outlive run().
/// Errors: transport failures become Error{kUnavailable} whose message names the URL ("cannot
/// reach the controller at URL: ..."); error answers keep the server's message.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/array.hpp>

#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "net/http_client.h"

namespace smmf::cli {

class BlockingRunner {
 public:
  explicit BlockingRunner(net::ClientOptions opts = {});
  ~BlockingRunner();
  BlockingRunner(const BlockingRunner&) = delete;
  BlockingRunner& operator=(const BlockingRunner&) = delete;

  net::HttpClient& http() { return *http_; }

  /// Runs `task` to completion on the calling thread and returns its value; rethrows what it
  /// throws. Pooled keep-alive connections survive between calls.
  template <class T>
  T run(boost::asio::awaitable<T> task) {
    std::optional<T> out;
    std::exception_ptr failure;
    ioc_.restart();
    boost::asio::co_spawn(ioc_, store(std::move(task), out),
                          [&failure](std::exception_ptr e) { failure = e; });
    ioc_.run();
    if (failure) std::rethrow_exception(failure);
    return std::move(*out);
  }

 private:
  template <class T>
  static boost::asio::awaitable<void> store(boost::asio::awaitable<T> task, std::optional<T>& out) {
    out.emplace(co_await std::move(task));
  }

  boost::asio::io_context ioc_;
  std::shared_ptr<net::HttpClient> http_;
};

/// Client options that send `Authorization: Bearer KEY`: the flag's key, else $SMMF_API_KEY,
/// else none.
net::ClientOptions client_options_with_key(const std::string& api_key_flag);

/// GET /api/v1/instances[?model=]: the InstanceRecord JSON objects (`data`).
boost::asio::awaitable<Result<boost::json::array>> list_instances(net::HttpClient& http,
                                                                  const net::Url& controller,
                                                                  std::string model);

enum class ModelAction { kStart, kStop, kRestart, kScale };
std::string_view to_string(ModelAction a);

struct ActionRequest {
  std::string model;
  ModelAction action = ModelAction::kStart;
  std::string worker;  ///< worker id or address; empty = every worker hosting the model
  int replicas = 0;    ///< for kScale
};

/// What the server answered to an action. A controller relays to several workers; a worker or
/// `smmf serve` answers for itself (one worker).
struct ActionReply {
  bool ok = false;
  int succeeded = 0;                  ///< workers that did it
  std::vector<std::string> failures;  ///< "worker ID: message", one per failed worker
  std::string error;                  ///< the answer's error message when !ok
};

/// POST /api/v1/models/{name}/{action}[?worker=]. Fails only when no answer arrived.
boost::asio::awaitable<Result<ActionReply>> model_action(net::HttpClient& http,
                                                         const net::Url& controller,
                                                         ActionRequest req);

/// The message of an OpenAI-shaped error body, else a short form of the body, else "HTTP N".
std::string error_message(unsigned status, std::string_view body);

/// "cannot reach the WHAT at ORIGIN: reason" for a request that got no answer.
std::string unreachable_message(std::string_view what, const net::Url& url,
                                const net::ClientError& e);

}  // namespace smmf::cli
