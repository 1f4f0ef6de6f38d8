#pragma once
/// One chat or completion call on a loaded model: validates the tokenized prompts against the
/// context, queues one job per choice on the inference loop, then streams the deltas to the
/// sink (coalescing everything that arrived per wake-up) or accumulates the choices.
/// Threading: a coroutine on the caller's executor; never blocks it.
/// Lifetime: the caller keeps `runtime` alive until the coroutine completes; if the coroutine
/// ends early (error, sink gone, destroyed) its remaining jobs are cancelled.
#include <memory>
#include <string>
#include <vector>

#include "engines/engine.h"
#include "engines/llama_cpp/generation.h"
#include "engines/llama_cpp/llama_params.h"
#include "engines/llama_cpp/model_runtime.h"

namespace smmf::engines::llama_cpp {

struct GenerationPlan {
  std::vector<std::vector<llama_token>> prompts;
  std::vector<std::string> echo;  ///< text prepended to each prompt's choices; empty = none
  std::string param;              ///< the request field the prompts came from, for errors
};

asio::awaitable<Result<protocol::GenerationResult>> run_generation(
    ModelRuntime& runtime, const LlamaParams& params, GenerationPlan plan,
    const protocol::GenerationParams& gen, DeltaSink* sink, const CallContext& ctx);

/// Request sampling fields over llama-server's defaults; seed + choice for n > 1.
/// Errors: a logit_bias token outside the vocabulary (param "logit_bias").
Result<SamplingConfig> resolve_sampling(const protocol::SamplingParams& s,
                                        std::optional<uint32_t> default_seed, int choice,
                                        int vocab_size);

}  // namespace smmf::engines::llama_cpp
