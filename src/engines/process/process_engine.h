#pragma once
/// engine = "process": SMMF starts a model server itself (llama-server, vLLM,
/// text-generation-launcher, ...) on a free loopback port, waits until its health URL answers
/// 200, and routes to it with the openai_compat engine (protocol = "openai") or the tgi engine
/// (protocol = "tgi").
///
///   load() ──spawn──> starting ──health 200──> running ──child exits──> restarting
///                        │ exit / timeout          ^                        │ backoff
///                        v                         └────────respawn─────────┘
///                     failed (load error with the log tail)   more than max_restarts
///                                                             within restart_window -> failed
///   unload(): SIGTERM to the child's process group, SIGKILL after stop_grace.
///
/// While the child is down, calls answer Unavailable (the gateway tries other instances or
/// a group's next model). status_labels(): pid, port, restarts, process (state), log_tail.
/// Threading: thread-safe; a mutex guards the current child and engine (never held across an
/// await); the supervisor is one coroutine on the executor load() ran on.
#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>

#include "engines/engine_factory.h"
#include "engines/process/child_process.h"
#include "net/http_client.h"

namespace smmf::engines::process {

struct ProcessOptions {
  std::vector<std::string> command;  ///< argv; {port} {host} {model} {path} are replaced
  std::vector<std::pair<std::string, std::string>> env;  ///< placeholders replaced too
  std::string cwd;
  std::string protocol = "openai";  ///< openai | tgi
  std::string health_path = "/health";
  std::chrono::milliseconds start_timeout{120'000};
  int max_restarts = 5;
  std::chrono::milliseconds restart_window{300'000};
  std::chrono::milliseconds restart_backoff{1'000};  ///< doubles per restart in the window
  std::chrono::milliseconds max_backoff{30'000};
  std::chrono::milliseconds stop_grace{10'000};
  size_t log_lines = 50;
  std::string upstream_model;  ///< model id sent upstream (openai protocol); default: name
  protocol::ModelType type = protocol::ModelType::kLlm;
  int context_length = 0;
  std::string name;  ///< the model's name ({model})
  std::string path;  ///< the model's path ({path})
};

class ProcessEngine : public Engine, public std::enable_shared_from_this<ProcessEngine> {
 public:
  ProcessEngine(std::shared_ptr<net::HttpClient> http, ProcessOptions opts);
  ~ProcessEngine() override;

  EngineInfo info() const override;
  asio::awaitable<Status> load() override;
  asio::awaitable<void> unload() override;
  Status health() const override;
  std::map<std::string, std::string> status_labels() const override;
  asio::awaitable<Result<protocol::GenerationResult>> chat(const protocol::ChatRequest& req,
                                                           DeltaSink* sink,
                                                           const CallContext& ctx) override;
  asio::awaitable<Result<protocol::GenerationResult>> complete(
      const protocol::CompletionRequest& req, DeltaSink* sink, const CallContext& ctx) override;
  asio::awaitable<Result<protocol::EmbeddingResult>> embed(const protocol::EmbeddingRequest& req,
                                                           const CallContext& ctx) override;
  asio::awaitable<Result<protocol::RerankResult>> rerank(const protocol::RerankRequest& req,
                                                         const CallContext& ctx) override;

 private:
  /// Spawns the child and waits for health; on success it becomes current.
  asio::awaitable<Status> start_child();
  asio::awaitable<void> supervise();
  Result<std::shared_ptr<Engine>> current() const;
  std::shared_ptr<Engine> make_inner(uint16_t port) const;

  std::shared_ptr<net::HttpClient> http_;
  std::shared_ptr<net::HttpClient> probe_;
  ProcessOptions opts_;
  std::shared_ptr<LogTail> log_;
  asio::any_io_executor ex_;
  std::atomic<bool> stopping_{false};

  mutable std::mutex mu_;
  std::shared_ptr<ChildProcess> child_;
  std::shared_ptr<Engine> inner_;
  uint16_t port_ = 0;
  int restarts_ = 0;
  std::string state_ = "stopped";  ///< starting | running | restarting | failed | stopped
  std::string failure_;
  std::deque<std::chrono::steady_clock::time_point> recent_exits_;
};

/// Registers "process"; params are documented in docs/engines.md.
void register_process(EngineRegistry& registry, std::shared_ptr<net::HttpClient> http);

/// A free TCP port on 127.0.0.1 (bound and released; the child binds it right after).
Result<uint16_t> free_loopback_port();
/// Replaces {port} {host} {model} {path} in `s`.
std::string expand(std::string_view s, const ProcessOptions& o, uint16_t port);

}  // namespace smmf::engines::process
