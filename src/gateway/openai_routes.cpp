#include "gateway/openai_routes.h"

#include <boost/asio/this_coro.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/serialize.hpp>

#include <fmt/format.h>
#include <charconv>
#include <chrono>
#include <random>

#include "gateway/auth.h"
#include "gateway/call_deadline.h"
#include "gateway/call_trace.h"
#include "protocol/http_errors.h"
#include "protocol/rerank_json.h"
#include "protocol/sse.h"
#include "protocol/stream_chunk_scan.h"

#include <spdlog/spdlog.h>

namespace smmf::gateway {
namespace json = boost::json;
using net::HttpExchange;
using net::http::status;

namespace {

std::string random_id(std::string_view prefix) {
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  constexpr uint64_t kBase = sizeof(kChars) - 1;
  char tail[24];
  for (int i = 0; i < 24; i += 8) {  // 8 characters from each 64-bit draw (62^8 < 2^48)
    uint64_t r = rng();
    for (int j = 0; j < 8; ++j, r /= kBase) tail[i + j] = kChars[r % kBase];
  }
  std::string id;
  id.reserve(prefix.size() + sizeof tail);
  id.append(prefix);
  id.append(tail, sizeof tail);
  return id;
}

// The access log's "tokens=prompt+completion" value (to_chars: fmt's runtime formatting costs
// more than the rest of the field).
std::string tokens_field(const protocol::Usage& u) {
  char buf[32];
  auto r = std::to_chars(buf, buf + 12, u.prompt_tokens);
  *r.ptr++ = '+';
  r = std::to_chars(r.ptr, buf + sizeof(buf), u.completion_tokens);
  return std::string(buf, r.ptr);
}

// Built outside coroutines: GCC 12 rejects string-literal initializer lists in coroutine frames.
json::object ok_body() {
  return {{"status", "ok"}};
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

enum class Kind { kChat, kCompletion };

/// Streams deltas as SSE chunks; writes the response header with the first batch.
class SseSink : public engines::DeltaSink {
 public:
  SseSink(HttpExchange& ex, const protocol::ResponseMeta& meta, Kind kind, bool include_usage,
          CallTrace& trace)
      : ex_(ex), meta_(meta), kind_(kind), include_usage_(include_usage), trace_(trace) {}

  asio::awaitable<Status> write(std::span<const protocol::Delta> deltas) override {
    // Past its deadline a call sends nothing more (before the first byte: a 504 instead).
    if (deadline_) {
      if (auto e = deadline_->expired()) co_return *e;
    }
    trace_.on_deltas(deltas);
    buf_.clear();
    for (const auto& d : deltas) {
      json::object chunk;
      if (kind_ == Kind::kChat) {
        bool first = started_.size() <= static_cast<size_t>(d.index) || !started_[d.index];
        if (started_.size() <= static_cast<size_t>(d.index)) started_.resize(d.index + 1, false);
        started_[d.index] = true;
        chunk = protocol::chat_chunk_json(meta_, d, first, include_usage_);
      } else {
        chunk = protocol::completion_chunk_json(meta_, d, include_usage_);
      }
      protocol::append_sse(buf_, json::serialize(chunk));
    }
    if (auto st = co_await ensure_started(); !st) co_return st;
    if (deadline_) deadline_->first_token();
    co_return co_await ex_.write_chunk(buf_);
  }
  bool relays_openai_chunks() const override { return true; }

  /// The upstream's chunks with our id/object/created/model (and `usage` as we would write it).
  /// Chunks that carry no delta (a role, say) wait for the next write, as `write` would not have
  /// had them at all: the response does not start, and retries stay possible, before real output.
  asio::awaitable<Status> write_openai_chunks(
      std::span<const protocol::Delta> deltas,
      std::span<const protocol::StreamChunkView> chunks) override {
    if (deadline_) {
      if (auto e = deadline_->expired()) co_return *e;
    }
    if (head_.empty())
      head_ = protocol::relayed_chunk_head(
          meta_.id, kind_ == Kind::kChat ? "chat.completion.chunk" : "text_completion",
          meta_.created, meta_.model);
    for (const auto& c : chunks) {
      if (c.n_choices == 0) continue;  // usage-only: the route writes its own at the end
      protocol::append_relayed_chunk(pending_, head_, c, include_usage_);
    }
    if (deltas.empty()) co_return Status{};
    trace_.on_deltas(deltas);
    if (auto st = co_await ensure_started(); !st) co_return st;
    if (deadline_) deadline_->first_token();
    buf_.swap(pending_);
    pending_.clear();
    co_return co_await ex_.write_chunk(buf_);
  }
  /// Relayed chunks not written yet (no delta came after them); the route sends them first.
  std::string take_pending() { return std::exchange(pending_, {}); }

  void set_deadline(CallDeadline* d) { deadline_ = d; }

  asio::awaitable<Status> ensure_started() {
    if (header_sent_) co_return Status{};
    header_sent_ = true;
    co_return co_await ex_.start_stream(status::ok, "text/event-stream");
  }
  bool started() const { return header_sent_; }

 private:
  HttpExchange& ex_;
  const protocol::ResponseMeta& meta_;
  Kind kind_;
  bool include_usage_;
  CallTrace& trace_;
  bool header_sent_ = false;
  CallDeadline* deadline_ = nullptr;
  std::vector<bool> started_;
  std::string buf_;
  std::string head_;     ///< relayed chunks' head (built once per call)
  std::string pending_;  ///< relayed chunks waiting for a write
};

// A plain function, not in the coroutine: GCC 12 mishandles temporaries of a ?: there.
std::string response_body(Kind kind, const protocol::ResponseMeta& meta,
                          const protocol::GenerationResult& r) {
  if (kind == Kind::kChat) return protocol::chat_response_text(meta, r);
  return protocol::completion_response_text(meta, r);
}

template <class Req>
Result<Req> parse_request(HttpExchange& ex, const protocol::ParseLimits& limits) {
  if constexpr (std::is_same_v<Req, protocol::ChatRequest>) {
    // The usual chat body is read without a JSON tree; anything else (and every error) by the
    // full parser below.
    protocol::ChatRequest req;
    if (protocol::scan_chat_request(ex.request().body(), limits, req)) return req;
  }
  // The JSON tree only lives until it is turned into Req: one arena (its first block on the
  // stack) instead of a malloc per node.
  unsigned char first[4096];
  json::monotonic_resource arena(first, sizeof first);
  auto body = protocol::parse_json(ex.request().body(), &arena);
  if (!body) return body.error();
  if constexpr (std::is_same_v<Req, protocol::ChatRequest>)
    return protocol::parse_chat_request(*body, limits);
  else if constexpr (std::is_same_v<Req, protocol::CompletionRequest>)
    return protocol::parse_completion_request(*body, limits);
  else
    return protocol::parse_embedding_request(*body, limits);
}

/// Cancels the call when the client disconnects before the response is complete.
void watch_client(HttpExchange& ex, engines::CallContext& ctx) {
  ex.watch_disconnect([tok = ctx.cancel] { tok->cancel(); });
}

bool retryable(const Error& e) {
  return e.code == ErrorCode::kUnavailable || e.code == ErrorCode::kDeadlineExceeded ||
         e.code == ErrorCode::kResourceExhausted;
}

Status status_of(const auto& result) {
  if (result) return {};
  return result.error();
}

/// Calls `fn(pick)` on an instance of `model`, and again on other instances while it fails
/// retryably and `may_retry()` (nothing reached the client yet), up to `max_retries` times.
/// When `model` is a group, its members are tried in order the same way: the next member when
/// none of the previous one's instances could be picked or all tries on it failed retryably.
template <class Fn, class MayRetry>
auto with_retries(HttpExchange& ex, ModelDirectory& dir, const GatewayOptions& opts,
                  CallTrace& trace, const std::string& model, PickHints hints, Fn fn,
                  MayRetry may_retry) -> decltype(fn(std::declval<ModelDirectory::Pick&>())) {
  const bool group = opts.groups && opts.groups->is_group(model);
  std::vector<std::string> members;  // only a group's (a model is its own one candidate)
  if (group) members = opts.groups->candidates(model);
  const std::span<const std::string> names =
      group ? std::span<const std::string>(members) : std::span<const std::string>(&model, 1);
  std::optional<Error> last;
  bool last_from_pick = false;
  for (size_t m = 0; m < names.size(); ++m) {
    const std::string& name = names[m];
    PickHints h = hints;
    for (int attempt = 0;; ++attempt) {
      auto pick = dir.pick(name, h);
      if (!pick) {
        if (!last) {
          last = pick.error();
          last_from_pick = true;
        }
        break;
      }
      trace.begin_attempt(pick->instance, *pick->engine);
      auto result = co_await fn(*pick);
      dir.report(*pick, status_of(result));
      bool more = attempt < opts.max_retries || m + 1 < names.size();
      const bool done = result || !retryable(result.error()) || !may_retry() || !more;
      trace.end_attempt(status_of(result), !done);
      if (done) {
        ex.add_log_field("instance", pick->instance);  // the one that answered
        if (group) ex.add_log_field("member", name);
        co_return result;
      }
      spdlog::warn("{} failed on instance {}: {}; retrying{}", name, pick->instance,
                   result.error().message,
                   attempt < opts.max_retries ? " on another instance" : " on the next model");
      ex.add_log_field("retry", pick->instance);
      last = result.error();
      last_from_pick = false;
      if (attempt >= opts.max_retries) break;
      h.exclude.push_back(pick->instance);
    }
    if (group && m + 1 < names.size())
      spdlog::warn("group {}: falling back from {} to {}", model, name, names[m + 1]);
  }
  if (group && last_from_pick)
    co_return Error::unavailable(fmt::format(
        "no model of group '{}' can take the call now (last: {})", model, last->message));
  co_return *last;
}

/// Calling a model with the wrong endpoint is the caller's mistake: 400 naming "model".
Status check_type(const engines::Engine& engine, const std::string& model,
                  protocol::ModelType wanted) {
  auto type = engine.info().type;
  if (type == wanted) return {};
  std::string_view endpoint = type == protocol::ModelType::kEmbedding ? "/v1/embeddings"
                              : type == protocol::ModelType::kReranker
                                  ? "/v1/rerank"
                                  : "/v1/chat/completions or /v1/completions";
  return Error::invalid(fmt::format("The model '{}' is a {} model: use {}", model,
                                    protocol::to_string(type), endpoint),
                        "model");
}

asio::awaitable<Result<protocol::GenerationResult>> wrong_type(Error e) {
  co_return e;
}
asio::awaitable<Result<protocol::EmbeddingResult>> wrong_embed(Error e) {
  co_return e;
}
asio::awaitable<Result<protocol::RerankResult>> wrong_rerank(Error e) {
  co_return e;
}

CallTimeouts timeouts_for(const GatewayOptions& opts, const std::string& model) {
  return opts.groups ? opts.groups->timeouts(model) : CallTimeouts{};
}

PickHints hints_for(const HttpExchange& ex, const GatewayOptions& opts, const std::string& user) {
  PickHints h;
  h.affinity_key = std::string(ex.header(opts.affinity_header));
  if (h.affinity_key.empty()) h.affinity_key = user;
  return h;
}

template <class Req>
asio::awaitable<void> generate(HttpExchange& ex, ModelDirectory& dir, const GatewayOptions& opts,
                               Kind kind) {
  protocol::ResponseMeta meta{
      random_id(kind == Kind::kChat ? "chatcmpl-" : "cmpl-"), unix_now(), {}};
  ex.add_response_header("x-request-id", meta.id);
  engines::CallContext ctx;
  ctx.request_id = meta.id;
  CallTrace trace(ex, opts.tracer.get(), ctx);
  auto req = parse_request<Req>(ex, opts.limits);
  if (!req) {
    co_await send_error(ex, req.error());
    co_return;
  }
  ex.add_log_field("model", req->model);
  if (auto st = admit_model(ex, req->model); !st) {
    co_await send_error(ex, st.error());
    co_return;
  }
  meta.model = req->model;
  trace.set_request(*req, meta.id);
  watch_client(ex, ctx);
  auto exec = co_await asio::this_coro::executor;
  CallDeadline deadline(exec, timeouts_for(opts, req->model), ctx.cancel, req->gen.stream);
  std::optional<SseSink> sink;
  if (req->gen.stream) {
    sink.emplace(ex, meta, kind, req->gen.include_usage, trace);
    sink->set_deadline(&deadline);
  }
  auto call =
      [&](ModelDirectory::Pick& pick) -> asio::awaitable<Result<protocol::GenerationResult>> {
    if (auto st = check_type(*pick.engine, req->model, protocol::ModelType::kLlm); !st)
      return wrong_type(st.error());
    engines::DeltaSink* s = sink ? &*sink : nullptr;
    if constexpr (std::is_same_v<Req, protocol::ChatRequest>)
      return pick.engine->chat(*req, s, ctx);
    else
      return pick.engine->complete(*req, s, ctx);
  };
  auto result =
      co_await with_retries(ex, dir, opts, trace, req->model, hints_for(ex, opts, req->gen.user),
                            call, [&] { return !sink || !sink->started(); });
  if (!result) {
    if (auto e = deadline.expired()) result = *e;
  }
  if (result) {
    trace.set_result(*result);
    record_usage(ex, static_cast<uint64_t>(result->usage.total()));
  } else {
    trace.set_error(result.error());
  }

  if (!req->gen.stream) {
    if (!result) {
      co_await send_error(ex, result.error());
      co_return;
    }
    ex.add_log_field("tokens", tokens_field(result->usage));
    // Built before the co_await: GCC 12 destroys a temporary of a ?: inside a co_await
    // expression twice.
    std::string body = response_body(kind, meta, *result);
    co_await ex.send_text(status::ok, std::move(body), "application/json");
    co_return;
  }

  if (!result) {
    if (!sink->started()) {
      co_await send_error(ex, result.error());
      co_return;
    }
    // Mid-stream failure: say so in the stream and end it without [DONE].
    ex.add_log_field("error", fmt::format("\"{}\"", result.error().message));
    if (result.error().code == ErrorCode::kCancelled) {
      ex.set_keep_alive(false);
      co_return;
    }
    // The connection stays open: the stream's head promised keep-alive and its end is framed,
    // so a client may already be sending its next request on it (a failed write closes it).
    std::string tail =
        protocol::format_sse(json::serialize(protocol::error_body(result.error())), "error");
    if (co_await ex.write_chunk(tail)) co_await ex.end_stream();
    co_return;
  }
  ex.add_log_field("tokens", tokens_field(result->usage));
  if (!co_await sink->ensure_started()) co_return;
  std::string tail = sink->take_pending();
  if (req->gen.include_usage)
    protocol::append_sse(
        tail, json::serialize(protocol::usage_chunk_json(
                  meta, kind == Kind::kChat ? "chat.completion.chunk" : "text_completion",
                  result->usage)));
  tail += protocol::kSseDone;
  if (co_await ex.write_chunk(tail)) co_await ex.end_stream();
}

/// The directory's models and the groups that have one of them.
std::vector<protocol::ModelCard> all_models(const ModelDirectory& dir, const GatewayOptions& opts) {
  auto models = dir.models();
  if (opts.groups) {
    auto groups = opts.groups->cards(models);
    models.insert(models.end(), groups.begin(), groups.end());
  }
  return models;
}

}  // namespace

asio::awaitable<void> send_error(HttpExchange& ex, const Error& e) {
  ex.add_log_field("error", fmt::format("\"{}\"", e.message));
  if (e.retry_after_s > 0) ex.add_response_header("retry-after", std::to_string(e.retry_after_s));
  co_await ex.send_json(protocol::error_status(e), protocol::error_body(e));
}

OpenAiRoutes::OpenAiRoutes(ModelDirectory& directory, GatewayOptions options)
    : directory_(directory), opts_(std::move(options)) {}

void OpenAiRoutes::install(net::Router& router) {
  using net::http::verb;
  router.add(verb::get, "/v1/models", [this](HttpExchange& ex) { return list_models(ex); });
  router.add_prefix(verb::get, "/v1/models/", [this](HttpExchange& ex) { return get_model(ex); });
  router.add(verb::post, "/v1/chat/completions", [this](HttpExchange& ex) { return chat(ex); });
  router.add(verb::post, "/v1/completions", [this](HttpExchange& ex) { return completions(ex); });
  router.add(verb::post, "/v1/embeddings", [this](HttpExchange& ex) { return embeddings(ex); });
  for (const char* path : {"/v1/rerank", "/rerank", "/v2/rerank"})
    router.add(verb::post, path, [this](HttpExchange& ex) { return rerank(ex); });
  router.add(verb::get, "/healthz", [this](HttpExchange& ex) { return health(ex); });
  router.add(verb::get, "/health", [this](HttpExchange& ex) { return health(ex); });
}

asio::awaitable<void> OpenAiRoutes::list_models(HttpExchange& ex) {
  auto models = all_models(directory_, opts_);
  std::erase_if(models, [&](const auto& m) { return !model_visible(ex, m.id); });
  co_await ex.send_json(status::ok, protocol::models_json(models));
}

asio::awaitable<void> OpenAiRoutes::get_model(HttpExchange& ex) {
  std::string_view id = ex.target_path().substr(std::string_view("/v1/models/").size());
  for (const auto& m : all_models(directory_, opts_)) {
    if (m.id == id && model_visible(ex, m.id)) {
      co_await ex.send_json(status::ok, protocol::model_json(m));
      co_return;
    }
  }
  co_await send_error(ex,
                      Error::not_found(fmt::format("The model '{}' does not exist", id), "model"));
}

// Not coroutines: generate's awaitable is the call (one frame fewer).
asio::awaitable<void> OpenAiRoutes::chat(HttpExchange& ex) {
  return generate<protocol::ChatRequest>(ex, directory_, opts_, Kind::kChat);
}

asio::awaitable<void> OpenAiRoutes::completions(HttpExchange& ex) {
  return generate<protocol::CompletionRequest>(ex, directory_, opts_, Kind::kCompletion);
}

asio::awaitable<void> OpenAiRoutes::embeddings(HttpExchange& ex) {
  auto req = parse_request<protocol::EmbeddingRequest>(ex, opts_.limits);
  if (!req) {
    co_await send_error(ex, req.error());
    co_return;
  }
  ex.add_log_field("model", req->model);
  if (auto st = admit_model(ex, req->model); !st) {
    co_await send_error(ex, st.error());
    co_return;
  }
  engines::CallContext ctx;
  ctx.request_id = random_id("emb-");
  CallTrace trace(ex, opts_.tracer.get(), ctx);
  trace.set_request(*req, ctx.request_id);
  watch_client(ex, ctx);
  auto exec = co_await asio::this_coro::executor;
  CallDeadline deadline(exec, timeouts_for(opts_, req->model), ctx.cancel, false);
  auto result = co_await with_retries(
      ex, directory_, opts_, trace, req->model, hints_for(ex, opts_, req->user),
      [&](ModelDirectory::Pick& pick) -> asio::awaitable<Result<protocol::EmbeddingResult>> {
        if (auto st = check_type(*pick.engine, req->model, protocol::ModelType::kEmbedding); !st)
          return wrong_embed(st.error());
        return pick.engine->embed(*req, ctx);
      },
      [] { return true; });
  if (!result) {
    if (auto e = deadline.expired()) result = *e;
    trace.set_error(result.error());
    co_await send_error(ex, result.error());
    co_return;
  }
  trace.set_result(*result);
  record_usage(ex, static_cast<uint64_t>(result->prompt_tokens));
  ex.add_log_field("tokens", std::to_string(result->prompt_tokens));
  co_await ex.send_json(
      status::ok, protocol::embedding_response_json(req->model, *result, req->encoding_format));
}

asio::awaitable<void> OpenAiRoutes::rerank(HttpExchange& ex) {
  auto body = protocol::parse_json(ex.request().body());
  Result<protocol::RerankRequest> req = body ? protocol::parse_rerank_request(*body, opts_.limits)
                                             : Result<protocol::RerankRequest>(body.error());
  if (!req) {
    co_await send_error(ex, req.error());
    co_return;
  }
  ex.add_log_field("model", req->model);
  if (auto st = admit_model(ex, req->model); !st) {
    co_await send_error(ex, st.error());
    co_return;
  }
  std::string id = random_id("rerank-");
  ex.add_response_header("x-request-id", id);
  engines::CallContext ctx;
  ctx.request_id = id;
  CallTrace trace(ex, opts_.tracer.get(), ctx);
  trace.set_request(*req, id);
  watch_client(ex, ctx);
  auto exec = co_await asio::this_coro::executor;
  CallDeadline deadline(exec, timeouts_for(opts_, req->model), ctx.cancel, false);
  auto result = co_await with_retries(
      ex, directory_, opts_, trace, req->model, hints_for(ex, opts_, {}),
      [&](ModelDirectory::Pick& pick) -> asio::awaitable<Result<protocol::RerankResult>> {
        if (auto st = check_type(*pick.engine, req->model, protocol::ModelType::kReranker); !st)
          return wrong_rerank(st.error());
        return pick.engine->rerank(*req, ctx);
      },
      [] { return true; });
  if (!result) {
    if (auto e = deadline.expired()) result = *e;
    trace.set_error(result.error());
    co_await send_error(ex, result.error());
    co_return;
  }
  if (result->results.size() != req->documents.size()) {
    co_await send_error(
        ex, Error::internal(fmt::format("the engine scored {} of {} documents",
                                        result->results.size(), req->documents.size())));
    co_return;
  }
  record_usage(ex, static_cast<uint64_t>(result->prompt_tokens));
  ex.add_log_field("tokens", std::to_string(result->prompt_tokens));
  co_await ex.send_json(status::ok, protocol::rerank_response_json(id, *req, *result));
}

asio::awaitable<void> OpenAiRoutes::health(HttpExchange& ex) {
  if (auto st = opts_.ready ? opts_.ready() : directory_.ready(); !st) {
    co_await send_error(ex, st.error());
    co_return;
  }
  co_await ex.send_json(status::ok, ok_body());
}

}  // namespace smmf::gateway
