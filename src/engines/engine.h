#pragma once
/// The Engine seam: what one model instance can do, in native types. Implementations: the
/// in-process llama.cpp engine, HTTP engines (OpenAI-compatible upstreams, other SMMF workers).
///
/// Threading: every method is called from I/O threads; coroutine methods resume on the caller's
/// executor. Heavy work (inference) never runs on the caller's thread. Implementations are
/// thread-safe: concurrent calls are queued or batched by the engine.
/// Lifetime: owned by shared_ptr; calls in flight keep the engine alive.
#include <boost/asio/awaitable.hpp>

#include <map>
#include <memory>
#include <span>
#include <string>

#include "common/cancel_token.h"
#include "common/error.h"
#include "protocol/openai_types.h"
#include "protocol/stream_chunk_scan.h"
#include "protocol/trace_context.h"

namespace smmf::engines {

namespace asio = boost::asio;

/// Set by the caller when the client goes away or a deadline passes; engines poll it between
/// decode steps, and HTTP engines hand it to the client, which closes a pending upstream call.
using CancelToken = smmf::CancelToken;

/// Per-call context handed down from the gateway.
struct CallContext {
  std::shared_ptr<CancelToken> cancel = std::make_shared<CancelToken>();
  std::string request_id;
  /// The caller's current span; HTTP engines send it as `traceparent` (invalid = none).
  protocol::TraceContext trace;
};

/// Receives streamed deltas. `write` returns an error when the client is gone; the engine then
/// cancels the generation and returns that error.
class DeltaSink {
 public:
  virtual ~DeltaSink() = default;
  virtual asio::awaitable<Status> write(std::span<const protocol::Delta> deltas) = 0;

  /// Optional capability, for engines whose upstream streams OpenAI chunks (openai_compat):
  /// `chunks` are the upstream's chunks as scanned (views into its bytes, valid for the call),
  /// which a sink that says `relays_openai_chunks()` forwards as they are, with only the members
  /// a server owns (id, object, created, model, usage) written by itself. `deltas` are what the
  /// chunks carry, in native types, for traces and metrics, exactly as `write` would get them
  /// (possibly empty: a chunk with only a role, say). The default ignores the chunks.
  virtual bool relays_openai_chunks() const { return false; }
  virtual asio::awaitable<Status> write_openai_chunks(
      std::span<const protocol::Delta> deltas, std::span<const protocol::StreamChunkView> chunks) {
    (void)chunks;
    if (deltas.empty()) co_return Status{};
    co_return co_await write(deltas);
  }
};

/// What an engine says about its model.
struct EngineInfo {
  std::string engine;  ///< "llama.cpp", "openai_compat", ...
  protocol::ModelType type = protocol::ModelType::kLlm;
  int context_length = 0;
  int embedding_size = 0;
};

class Engine {
 public:
  virtual ~Engine() = default;

  virtual EngineInfo info() const = 0;
  /// Loads weights / connects; may take seconds (runs off the I/O threads).
  virtual asio::awaitable<Status> load() = 0;
  /// Stops accepting calls, cancels queued ones, waits for running ones to end, frees memory.
  virtual asio::awaitable<void> unload() = 0;
  /// Cheap, non-blocking: ok when the engine can take calls.
  virtual Status health() const = 0;
  /// Facts for status pages (e.g. a managed process's pid and log tail); published as the
  /// instance's registry labels. Cheap, thread-safe.
  virtual std::map<std::string, std::string> status_labels() const { return {}; }

  /// Chat. With `sink`, deltas are streamed to it and the result carries only usage; without,
  /// the result carries the full text of each choice.
  virtual asio::awaitable<Result<protocol::GenerationResult>> chat(const protocol::ChatRequest& req,
                                                                   DeltaSink* sink,
                                                                   const CallContext& ctx) = 0;
  /// Text completion; choice index = prompt index * n + choice.
  virtual asio::awaitable<Result<protocol::GenerationResult>> complete(
      const protocol::CompletionRequest& req, DeltaSink* sink, const CallContext& ctx) = 0;
  virtual asio::awaitable<Result<protocol::EmbeddingResult>> embed(
      const protocol::EmbeddingRequest& req, const CallContext& ctx) = 0;
  /// Scores each document against the query; results in document order (the gateway sorts).
  /// Engines without a reranker answer Unsupported.
  virtual asio::awaitable<Result<protocol::RerankResult>> rerank(const protocol::RerankRequest& req,
                                                                 const CallContext& ctx) {
    (void)req;
    (void)ctx;
    co_return Error::unsupported("this model does not rerank");
  }
};

}  // namespace smmf::engines
