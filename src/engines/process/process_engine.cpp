#include "engines/process/process_engine.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <csignal>

#include "engines/openai_compat/openai_engine.h"
#include "engines/tgi/tgi_engine.h"

namespace smmf::engines::process {
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

Result<uint16_t> free_loopback_port() {
  asio::io_context ioc;
  boost::system::error_code ec;
  asio::ip::tcp::acceptor a(ioc);
  asio::ip::tcp::endpoint ep(asio::ip::make_address_v4("127.0.0.1"), 0);
  a.open(ep.protocol(), ec);
  if (!ec) a.bind(ep, ec);
  if (ec) return Error::unavailable(fmt::format("no free loopback port: {}", ec.message()));
  return a.local_endpoint().port();
}

std::string expand(std::string_view s, const ProcessOptions& o, uint16_t port) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    auto try_sub = [&](std::string_view key, const std::string& value) {
      if (s.substr(i, key.size()) != key) return false;
      out += value;
      i += key.size() - 1;
      return true;
    };
    if (s[i] == '{' && (try_sub("{port}", std::to_string(port)) || try_sub("{host}", "127.0.0.1") ||
                        try_sub("{model}", o.name) || try_sub("{path}", o.path)))
      continue;
    out += s[i];
  }
  return out;
}

ProcessEngine::ProcessEngine(std::shared_ptr<net::HttpClient> http, ProcessOptions opts)
    : http_(std::move(http)),
      opts_(std::move(opts)),
      log_(std::make_shared<LogTail>(opts_.log_lines)) {}

ProcessEngine::~ProcessEngine() {
  // unload() normally ran; if not, the child must not outlive its engine.
  if (child_) child_->signal(SIGKILL);
}

EngineInfo ProcessEngine::info() const {
  return EngineInfo{"process", opts_.type, opts_.context_length, 0};
}

std::shared_ptr<Engine> ProcessEngine::make_inner(uint16_t port) const {
  std::string base = fmt::format("http://127.0.0.1:{}", port);
  if (opts_.protocol == "tgi") {
    tgi::TgiOptions t;
    t.upstream.base = *net::parse_url(base);
    t.context_length = opts_.context_length;
    return std::make_shared<tgi::TgiEngine>(http_, std::move(t));
  }
  openai_compat::OpenAiEngineOptions o;
  o.base = *net::parse_url(base + "/v1");
  o.upstream_model = opts_.upstream_model;
  o.type = opts_.type;
  o.context_length = opts_.context_length;
  return std::make_shared<openai_compat::OpenAiEngine>(http_, std::move(o));
}

asio::awaitable<Status> ProcessEngine::start_child() {
  auto port = free_loopback_port();
  if (!port) co_return port.error();
  SpawnSpec spec;
  for (const auto& a : opts_.command) spec.argv.push_back(expand(a, opts_, *port));
  for (const auto& [k, v] : opts_.env) spec.env.emplace_back(k, expand(v, opts_, *port));
  spec.cwd = expand(opts_.cwd, opts_, *port);
  auto child = ChildProcess::spawn(ex_, spec, log_, opts_.name);
  if (!child) co_return child.error();
  {
    std::lock_guard lock(mu_);
    child_ = *child;
    port_ = *port;
    inner_.reset();
  }
  spdlog::info("model {}: started `{}` (pid {}, port {})", opts_.name, spec.argv[0],
               (*child)->pid(), *port);
  auto url = *net::parse_url(fmt::format("http://127.0.0.1:{}", *port));
  asio::steady_timer timer(ex_);
  auto deadline = Clock::now() + opts_.start_timeout;
  auto fail = [&](std::string why) {
    std::string tail = log_->joined();
    return Error::unavailable(fmt::format("model {}: `{}` {}; last output:\n{}", opts_.name,
                                          spec.argv[0], why, tail.empty() ? "(none)" : tail));
  };
  for (;;) {
    if ((*child)->exited())
      co_return fail(fmt::format("{} before {} answered 200", (*child)->exit_description(),
                                 opts_.health_path));
    if (stopping_) co_return Error::cancelled("the model is stopping");
    auto res = co_await probe_->send(url, net::ClientRequest::get(opts_.health_path));
    if (res && res->status == 200) break;
    if (Clock::now() > deadline) {
      co_await (*child)->terminate(opts_.stop_grace);
      co_return fail(fmt::format("did not answer 200 on {} within {} ms", opts_.health_path,
                                 opts_.start_timeout.count()));
    }
    timer.expires_after(std::chrono::milliseconds(200));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  std::lock_guard lock(mu_);
  inner_ = make_inner(*port);
  state_ = "running";
  co_return Status{};
}

asio::awaitable<Status> ProcessEngine::load() {
  ex_ = co_await asio::this_coro::executor;
  net::ClientOptions po;
  po.connect_timeout = std::chrono::milliseconds(1000);
  po.first_byte_timeout = std::chrono::milliseconds(2000);
  po.max_idle_per_host = 0;
  probe_ = std::make_shared<net::HttpClient>(ex_, po);
  {
    std::lock_guard lock(mu_);
    state_ = "starting";
  }
  auto st = co_await start_child();
  if (!st) {
    std::lock_guard lock(mu_);
    state_ = "failed";
    failure_ = st.error().message;
    co_return st;
  }
  asio::co_spawn(ex_, supervise(), asio::detached);
  co_return Status{};
}

asio::awaitable<void> ProcessEngine::supervise() {
  auto self = shared_from_this();
  asio::steady_timer timer(ex_);
  for (;;) {
    std::shared_ptr<ChildProcess> child;
    {
      std::lock_guard lock(mu_);
      child = child_;
    }
    if (child) co_await child->wait();
    if (stopping_) co_return;
    auto now = Clock::now();
    size_t in_window;
    {
      std::lock_guard lock(mu_);
      inner_.reset();
      state_ = "restarting";
      recent_exits_.push_back(now);
      while (!recent_exits_.empty() && now - recent_exits_.front() > opts_.restart_window)
        recent_exits_.pop_front();
      in_window = recent_exits_.size();
    }
    std::string why = child ? child->exit_description() : std::string("failed to start");
    if (static_cast<int>(in_window) > opts_.max_restarts) {
      std::lock_guard lock(mu_);
      state_ = "failed";
      failure_ = fmt::format("{} more than {} times within {} ms; last output:\n{}", why,
                             opts_.max_restarts, opts_.restart_window.count(), log_->joined());
      spdlog::error("model {}: the process {}: not restarting", opts_.name, failure_);
      co_return;
    }
    auto backoff = opts_.restart_backoff * (1 << std::min<size_t>(in_window - 1, 16));
    backoff = std::min(backoff, opts_.max_backoff);
    spdlog::warn("model {}: the process {}; restarting in {} ms ({} exit(s) within the window)",
                 opts_.name, why, backoff.count(), in_window);
    timer.expires_after(backoff);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (stopping_) co_return;
    auto st = co_await start_child();
    if (!st) {
      spdlog::warn("{}", st.error().message);
      std::lock_guard lock(mu_);
      child_.reset();  // counted as one more exit on the next turn
      continue;
    }
    std::lock_guard lock(mu_);
    ++restarts_;
    spdlog::info("model {}: the process is back (restart {})", opts_.name, restarts_);
  }
}

asio::awaitable<void> ProcessEngine::unload() {
  stopping_ = true;
  std::shared_ptr<ChildProcess> child;
  {
    std::lock_guard lock(mu_);
    child = child_;
    inner_.reset();
    state_ = "stopping";
  }
  if (child) {
    co_await child->terminate(opts_.stop_grace);
    spdlog::info("model {}: the process (pid {}) {}", opts_.name, child->pid(),
                 child->exit_description());
  }
  std::lock_guard lock(mu_);
  state_ = "stopped";
}

Status ProcessEngine::health() const {
  auto inner = current();
  if (!inner) return inner.error();
  return {};
}

Result<std::shared_ptr<Engine>> ProcessEngine::current() const {
  std::lock_guard lock(mu_);
  if (inner_) return inner_;
  if (state_ == "failed")
    return Error::unavailable(fmt::format("model {}: {}", opts_.name, failure_));
  return Error::unavailable(fmt::format("model {}: the process is {}", opts_.name, state_));
}

std::map<std::string, std::string> ProcessEngine::status_labels() const {
  std::lock_guard lock(mu_);
  std::map<std::string, std::string> out;
  const bool alive = child_ && !child_->exited();
  // Between the child's end and the supervisor noticing it, the state still says running.
  out["process"] = state_ == "running" && !alive ? "exited" : state_;
  if (alive) out["pid"] = std::to_string(child_->pid());
  if (port_) out["port"] = std::to_string(port_);
  out["restarts"] = std::to_string(restarts_);
  out["log_tail"] = log_->joined();
  if (state_ == "failed") out["process_failure"] = failure_;
  return out;
}

asio::awaitable<Result<protocol::GenerationResult>> ProcessEngine::chat(
    const protocol::ChatRequest& req, DeltaSink* sink, const CallContext& ctx) {
  auto inner = current();
  if (!inner) co_return inner.error();
  co_return co_await (*inner)->chat(req, sink, ctx);
}

asio::awaitable<Result<protocol::GenerationResult>> ProcessEngine::complete(
    const protocol::CompletionRequest& req, DeltaSink* sink, const CallContext& ctx) {
  auto inner = current();
  if (!inner) co_return inner.error();
  co_return co_await (*inner)->complete(req, sink, ctx);
}

asio::awaitable<Result<protocol::EmbeddingResult>> ProcessEngine::embed(
    const protocol::EmbeddingRequest& req, const CallContext& ctx) {
  auto inner = current();
  if (!inner) co_return inner.error();
  co_return co_await (*inner)->embed(req, ctx);
}

asio::awaitable<Result<protocol::RerankResult>> ProcessEngine::rerank(
    const protocol::RerankRequest& req, const CallContext& ctx) {
  auto inner = current();
  if (!inner) co_return inner.error();
  co_return co_await (*inner)->rerank(req, ctx);
}
}  // namespace smmf::engines::process
