#include "engines/llama_cpp/sampler.h"

namespace smmf::engines::llama_cpp {

SamplerPtr make_sampler(const llama_vocab* vocab, const SamplingConfig& c) {
  auto params = llama_sampler_chain_default_params();
  params.no_perf = true;
  SamplerPtr chain(llama_sampler_chain_init(params));
  llama_sampler* s = chain.get();
  const int32_t n_vocab = llama_vocab_n_tokens(vocab);
  if (!c.logit_bias.empty()) {
    llama_sampler_chain_add(
        s, llama_sampler_init_logit_bias(n_vocab, static_cast<int32_t>(c.logit_bias.size()),
                                         c.logit_bias.data()));
  }
  if (c.has_penalties()) {
    llama_sampler_chain_add(
        s, llama_sampler_init_penalties(n_vocab, c.penalty_last_n, c.repeat_penalty,
                                        c.frequency_penalty, c.presence_penalty));
  }
  if (c.temperature <= 0.0f) {
    llama_sampler_chain_add(s, llama_sampler_init_greedy());
    return chain;
  }
  // The truncating samplers run first so that the later ones work on few candidates.
  if (c.top_k > 0) llama_sampler_chain_add(s, llama_sampler_init_top_k(c.top_k));
  if (c.typical_p < 1.0f) llama_sampler_chain_add(s, llama_sampler_init_typical(c.typical_p, 1));
  if (c.top_p < 1.0f) llama_sampler_chain_add(s, llama_sampler_init_top_p(c.top_p, 1));
  if (c.min_p > 0.0f) llama_sampler_chain_add(s, llama_sampler_init_min_p(c.min_p, 1));
  llama_sampler_chain_add(s, llama_sampler_init_temp(c.temperature));
  llama_sampler_chain_add(s, llama_sampler_init_dist(c.seed));
  return chain;
}

}  // namespace smmf::engines::llama_cpp
