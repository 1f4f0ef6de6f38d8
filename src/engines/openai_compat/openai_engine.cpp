#include "engines/openai_compat/openai_engine.h"

#include <fmt/format.h>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>

#include "engines/remote/remote_params.h"
#include "protocol/openai_client_json.h"
#include "protocol/rerank_json.h"
#include "protocol/sse.h"
#include "protocol/stream_chunk_scan.h"

namespace smmf::engines::openai_compat {
namespace json = boost::json;
using protocol::GenerationResult;

namespace {
constexpr size_t kMaxBatchedEvents = 64;  // per write to the client, when they arrive together

// Keeps an upstream's Retry-After (seconds form; an HTTP date is ignored) on its error, so that
// the gateway passes the hint on.
Error with_retry_after(Error e, const net::http::fields& headers) {
  auto it = headers.find(net::http::field::retry_after);
  if (it != headers.end()) {
    int s = 0;
    auto v = it->value();
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), s);
    if (ec == std::errc() && end == v.data() + v.size() && s > 0) e.retry_after_s = s;
  }
  return e;
}

// A non-streamed answer: the one-pass scanner for the usual shape, else the full parser (its tree
// in an arena whose first block is on the stack).
Result<GenerationResult> parse_response(std::string_view body, const std::string& upstream) {
  GenerationResult scanned;
  if (protocol::scan_generation_response(body, scanned)) return scanned;
  unsigned char first[4096];
  json::monotonic_resource arena(first, sizeof first);
  boost::system::error_code ec;
  auto v = json::parse(body, ec, &arena);
  if (ec) return Error::unavailable(fmt::format("{} answered invalid JSON", upstream));
  return protocol::parse_generation_response(v);
}

}  // namespace

OpenAiEngine::OpenAiEngine(std::shared_ptr<net::HttpClient> client, OpenAiEngineOptions opts)
    : client_(std::move(client)), opts_(std::move(opts)), origin_(opts_.base.origin()) {}

EngineInfo OpenAiEngine::info() const {
  return EngineInfo{opts_.engine_name, opts_.type, opts_.context_length, 0};
}

asio::awaitable<Status> OpenAiEngine::load() {
  co_return Status{};
}
asio::awaitable<void> OpenAiEngine::unload() {
  co_return;
}
Status OpenAiEngine::health() const {
  return {};
}

net::ClientRequest OpenAiEngine::make_request(std::string_view target, std::string body,
                                              const CallContext& ctx) const {
  std::string full;
  full.reserve(target.size() + opts_.query.size());
  full.append(target).append(opts_.query);
  auto req = net::ClientRequest::post(std::move(full), std::move(body));
  if (!opts_.api_key.empty())
    req.headers.emplace_back(opts_.auth_header, opts_.auth_prefix + opts_.api_key);
  for (const auto& h : opts_.headers) req.headers.push_back(h);
  if (!ctx.request_id.empty()) req.headers.emplace_back("x-request-id", ctx.request_id);
  if (ctx.trace.valid())
    req.headers.emplace_back("traceparent", protocol::format_traceparent(ctx.trace));
  req.cancel = ctx.cancel;  // a client that leaves closes the upstream call at once
  return req;
}

asio::awaitable<Result<GenerationResult>> OpenAiEngine::chat(const protocol::ChatRequest& req,
                                                             DeltaSink* sink,
                                                             const CallContext& ctx) {
  auto body = protocol::chat_request_text(req, opts_.upstream_model, sink, opts_.dialect);
  int prompt_estimate = 0;
  for (const auto& m : req.messages) prompt_estimate += remote::estimate_tokens(m.content) + 4;
  return generate("/chat/completions", std::move(body), sink, ctx, prompt_estimate);
}

asio::awaitable<Result<GenerationResult>> OpenAiEngine::complete(
    const protocol::CompletionRequest& req, DeltaSink* sink, const CallContext& ctx) {
  auto body = protocol::completion_request_text(req, opts_.upstream_model, sink, opts_.dialect);
  int prompt_estimate = 0;
  for (const auto& p : req.prompts) prompt_estimate += remote::estimate_tokens(p);
  return generate("/completions", std::move(body), sink, ctx, prompt_estimate);
}

asio::awaitable<Result<GenerationResult>> OpenAiEngine::generate(std::string_view target,
                                                                 std::string body, DeltaSink* sink,
                                                                 const CallContext& ctx,
                                                                 int prompt_estimate) {
  const std::string& upstream = origin_;
  auto opened = co_await client_->open(opts_.base, make_request(target, std::move(body), ctx));
  if (!opened) co_return opened.error().error;
  auto& stream = **opened;
  if (stream.status() != 200) {
    auto err_body = co_await stream.read_all();
    std::string text = err_body ? std::move(*err_body) : std::string();
    co_return with_retry_after(
        remote::upstream_failure(stream.status(), text, upstream, opts_.api_key), stream.headers());
  }

  if (!sink) {
    // Usually the whole body came with the head: taken at once, without read_all's frame.
    auto all = stream.read_all_now();
    if (!all) all = co_await stream.read_all();
    if (!*all) co_return all->error();
    auto parsed = parse_response(**all, upstream);
    if (parsed && parsed->usage.prompt_tokens == 0 && parsed->usage.completion_tokens == 0) {
      // The upstream reported no usage: estimate it.
      parsed->usage.prompt_tokens = prompt_estimate;
      for (const auto& c : parsed->choices)
        parsed->usage.completion_tokens += remote::estimate_tokens(c.text);
    }
    co_return parsed;
  }

  GenerationResult result;
  bool got_usage = false;
  size_t out_bytes = 0;
  protocol::SseParser parser(client_->options().max_sse_event_bytes);
  std::vector<protocol::SseEvent> events;
  std::vector<protocol::Delta> deltas;
  // Relay: chunks go to the client as the upstream wrote them (see DeltaSink); the light scan
  // finds what they carry, and only chunks with usage or an error, or of a shape it does not
  // know, go through the full parser.
  const bool relay = sink->relays_openai_chunks();
  std::vector<protocol::StreamChunkView> views;
  auto account = [&](size_t from) {
    for (size_t i = from; i < deltas.size(); ++i) {
      out_bytes += deltas[i].text.size();
      if (deltas[i].finish_reason)
        result.choices.push_back({deltas[i].index, {}, *deltas[i].finish_reason});
    }
  };
  bool done = false;
  while (!done) {
    if (ctx.cancel->cancelled()) co_return Error::cancelled("the client went away");
    auto piece = co_await stream.read();
    if (!piece) co_return piece.error();
    if (piece->empty()) {
      // Some servers close without [DONE]; that is an early end only if no choice finished.
      if (result.choices.empty())
        co_return Error::unavailable(fmt::format("{} ended the stream early", upstream));
      break;
    }
    if (!parser.feed(*piece, events))
      co_return Error::unavailable(fmt::format("{} sent an oversized stream event", upstream));
    // Events that already arrived go out in one write to the client rather than one each
    // (the HTTP parser hands over one chunk per read even when more are buffered).
    while (stream.buffered() && events.size() < kMaxBatchedEvents) {
      auto more = co_await stream.read();
      if (!more) co_return more.error();
      if (more->empty()) break;  // the body ended: the next read() says so again
      if (!parser.feed(*more, events))
        co_return Error::unavailable(fmt::format("{} sent an oversized stream event", upstream));
    }
    deltas.clear();
    views.clear();
    for (const auto& ev : events) {
      if (ev.data == "[DONE]") {
        done = true;
        break;
      }
      const size_t first = deltas.size();
      protocol::StreamChunkView view;
      const bool scanned =
          relay && ev.event.empty() && protocol::scan_stream_chunk(ev.data, view, deltas);
      if (scanned && !view.needs_full_parse) {
        account(first);
        views.push_back(view);
        continue;
      }
      deltas.resize(first);
      if (relay && !scanned && !views.empty()) {
        // This one goes out natively: what was scanned before it goes first.
        auto st = co_await sink->write_openai_chunks(deltas, views);
        if (!st) co_return st.error();
        deltas.clear();
        views.clear();
      }
      const size_t from = deltas.size();
      json::monotonic_resource arena;  // the chunk's tree dies with this iteration
      boost::system::error_code ec;
      auto v = json::parse(ev.data, ec, &arena);
      if (ec)
        co_return Error::unavailable(fmt::format("{} sent an invalid stream chunk", upstream));
      if (ev.event == "error" || (v.is_object() && v.get_object().contains("error")))
        co_return remote::upstream_failure(502, ev.data, upstream, opts_.api_key);
      auto chunk = protocol::parse_stream_chunk(v);
      if (!chunk) co_return chunk.error();
      if (chunk->usage) {
        result.usage = *chunk->usage;
        got_usage = true;
      }
      for (auto& d : chunk->deltas) deltas.push_back(std::move(d));
      account(from);
      if (scanned) {
        views.push_back(view);  // usage or the like: relayed all the same
      } else if (relay && deltas.size() > from) {
        auto st = co_await sink->write(deltas);
        if (!st) co_return st.error();
        deltas.clear();
      }
    }
    if (relay && !views.empty()) {
      if (auto st = co_await sink->write_openai_chunks(deltas, views); !st) co_return st.error();
    } else if (!deltas.empty()) {
      if (auto st = co_await sink->write(deltas); !st) co_return st.error();
    }
    events.clear();  // after the write: the views point into the events
  }
  if (!got_usage) {
    result.usage.prompt_tokens = prompt_estimate;
    result.usage.completion_tokens = static_cast<int>((out_bytes + 3) / 4);
  }
  // What follows [DONE] is the end of the chunked body: read it off the critical path so the
  // connection goes back to the pool (a stream left unread would be closed).
  net::ResponseStream::finish_in_background(std::move(*opened));
  co_return result;
}

asio::awaitable<Result<protocol::EmbeddingResult>> OpenAiEngine::embed(
    const protocol::EmbeddingRequest& req, const CallContext& ctx) {
  auto body = json::serialize(protocol::embedding_request_json(req, opts_.upstream_model));
  auto res = co_await client_->send(opts_.base, make_request("/embeddings", std::move(body), ctx));
  if (!res) co_return res.error().error;
  if (res->status != 200)
    co_return with_retry_after(
        remote::upstream_failure(res->status, res->body, origin_, opts_.api_key), res->headers);
  boost::system::error_code ec;
  auto v = json::parse(res->body, ec);
  if (ec) co_return Error::unavailable(fmt::format("{} answered invalid JSON", origin_));
  co_return protocol::parse_embedding_response(v);
}

asio::awaitable<Result<protocol::RerankResult>> OpenAiEngine::rerank(
    const protocol::RerankRequest& req, const CallContext& ctx) {
  auto body = json::serialize(protocol::rerank_request_json(req, opts_.upstream_model));
  auto res = co_await client_->send(opts_.base, make_request("/rerank", std::move(body), ctx));
  if (!res) co_return res.error().error;
  if (res->status != 200)
    co_return remote::upstream_failure(res->status, res->body, origin_, opts_.api_key);
  boost::system::error_code ec;
  auto v = json::parse(res->body, ec);
  if (ec) co_return Error::unavailable(fmt::format("{} answered invalid JSON", origin_));
  co_return protocol::parse_rerank_response(v, req.documents.size());
}

}  // namespace smmf::engines::openai_compat
