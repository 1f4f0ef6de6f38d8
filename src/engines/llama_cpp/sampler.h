#pragma once
/// Builds the llama.cpp sampler chain of one choice: logit_bias, penalties, then greedy
/// (temperature <= 0) or top_k, typical_p, top_p, min_p, temperature, dist(seed).
/// The chain belongs to the inference thread's slot that uses it.
#include "engines/llama_cpp/generation.h"
#include "engines/llama_cpp/llama_handles.h"

namespace smmf::engines::llama_cpp {

SamplerPtr make_sampler(const llama_vocab* vocab, const SamplingConfig& config);

}  // namespace smmf::engines::llama_cpp
