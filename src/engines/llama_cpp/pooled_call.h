#pragma once
/// One call on the embedding loop, shared by embeddings and reranking: submits every input,
/// waits for the pooled outputs and returns them in input order (raw: embedding vectors, or the
/// classification head's outputs under rank pooling).
/// Threading: a coroutine on the caller's executor; never blocks it.
/// Lifetime: `loop` must outlive the coroutine (the caller holds the ModelRuntime); if the
/// coroutine ends early its remaining inputs are dropped within one step.
#include <vector>

#include "engines/engine.h"
#include "engines/llama_cpp/embedding_loop.h"

namespace smmf::engines::llama_cpp {

/// Errors: the loop's (kResourceExhausted with retry_after_s, kUnavailable), kCancelled,
/// kInternal for a failed decode.
asio::awaitable<Result<std::vector<std::vector<float>>>> run_pooled(
    EmbeddingLoop& loop, std::vector<std::vector<llama_token>> inputs, int priority,
    const CallContext& ctx);

}  // namespace smmf::engines::llama_cpp
