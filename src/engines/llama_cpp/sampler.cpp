#include "engines/llama_cpp/sampler.h"

#include <cmath>
#include <stdexcept>
#include <string_view>

namespace smmf::engines::llama_cpp {

Sampler Sampler::make(const llama_vocab* vocab, const SamplingConfig& c) {
  Sampler out;
  if (!c.grammar.empty()) {
    out.grammar_.reset(llama_sampler_init_grammar(vocab, c.grammar.c_str(), "root"));
    if (!out.grammar_) return Sampler{};
  }
  auto params = llama_sampler_chain_default_params();
  params.no_perf = true;
  out.chain_.reset(llama_sampler_chain_init(params));
  llama_sampler* s = out.chain_.get();
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
    return out;
  }
  // The truncating samplers run first so that the later ones work on few candidates.
  if (c.top_k > 0) llama_sampler_chain_add(s, llama_sampler_init_top_k(c.top_k));
  if (c.typical_p < 1.0f) llama_sampler_chain_add(s, llama_sampler_init_typical(c.typical_p, 1));
  if (c.top_p < 1.0f) llama_sampler_chain_add(s, llama_sampler_init_top_p(c.top_p, 1));
  if (c.min_p > 0.0f) llama_sampler_chain_add(s, llama_sampler_init_min_p(c.min_p, 1));
  llama_sampler_chain_add(s, llama_sampler_init_temp(c.temperature));
  llama_sampler_chain_add(s, llama_sampler_init_dist(c.seed));
  return out;
}

llama_token_data_array Sampler::fill(std::span<const float> logits) {
  candidates_.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) {
    candidates_[i] = llama_token_data{static_cast<llama_token>(i), logits[i], 0.0f};
  }
  return llama_token_data_array{candidates_.data(), candidates_.size(), -1, false};
}

llama_token Sampler::sample(llama_context* ctx, int row) {
  const float* logits = llama_get_logits_ith(ctx, row);
  if (logits == nullptr) throw std::runtime_error("no logits for the sampled row");
  const auto n_vocab =
      static_cast<size_t>(llama_vocab_n_tokens(llama_model_get_vocab(llama_get_model(ctx))));
  return sample(std::span<const float>(logits, n_vocab));
}

llama_token Sampler::sample(std::span<const float> logits) {
  auto cur = fill(logits);
  llama_sampler_apply(chain_.get(), &cur);
  if (cur.selected < 0 || cur.selected >= static_cast<int64_t>(cur.size)) {
    throw std::runtime_error("the sampler chain selected no token");
  }
  llama_token token = cur.data[cur.selected].id;
  if (grammar_) {
    llama_token_data one{token, 1.0f, 0.0f};
    llama_token_data_array single{&one, 1, -1, false};
    llama_sampler_apply(grammar_.get(), &single);
    if (std::isinf(one.logit) && one.logit < 0) {
      // Rejected: mask every candidate by the grammar, then sample again.
      cur = fill(logits);
      llama_sampler_apply(grammar_.get(), &cur);
      llama_sampler_apply(chain_.get(), &cur);
      if (cur.selected < 0 || cur.selected >= static_cast<int64_t>(cur.size)) {
        throw std::runtime_error("the grammar allows no token");
      }
      token = cur.data[cur.selected].id;
    }
    llama_sampler_accept(grammar_.get(), token);
  }
  llama_sampler_accept(chain_.get(), token);
  return token;
}

void Sampler::accept_prompt(std::span<const llama_token> tokens) {
  const int n = llama_sampler_chain_n(chain_.get());
  for (int i = 0; i < n; ++i) {
    llama_sampler* s = llama_sampler_chain_get(chain_.get(), i);
    if (std::string_view(llama_sampler_name(s)) != "penalties") continue;
    for (llama_token t : tokens) llama_sampler_accept(s, t);
  }
}

std::vector<std::string> Sampler::names() const {
  std::vector<std::string> names;
  const int n = llama_sampler_chain_n(chain_.get());
  for (int i = 0; i < n; ++i) {
    names.emplace_back(llama_sampler_name(llama_sampler_chain_get(chain_.get(), i)));
  }
  return names;
}

}  // namespace smmf::engines::llama_cpp
