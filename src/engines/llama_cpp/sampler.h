#pragma once
/// The sampler of one choice: llama.cpp's sampler chain (logit_bias, penalties, then greedy when
/// temperature <= 0, else top_k, typical_p, top_p, min_p, temperature, dist(seed); samplers whose
/// setting is neutral are left out) plus an optional grammar kept beside the chain.
///
/// The grammar is applied as llama-server applies it: the chain samples first and the grammar
/// only checks the chosen token; only when it rejects it is the grammar applied to every
/// candidate and the chain run again. Checking one token is cheap, masking the whole vocabulary
/// is not (tens of milliseconds per token for a JSON grammar over 32k tokens).
///
/// Threading: belongs to the inference thread's slot that uses it. Movable, not copyable.
#include <llama.h>

#include <span>
#include <string>
#include <vector>

#include "engines/llama_cpp/generation.h"
#include "engines/llama_cpp/llama_handles.h"

namespace smmf::engines::llama_cpp {

class Sampler {
 public:
  Sampler() = default;  ///< empty: valid() is false
  /// Empty if `config.grammar` does not parse (grammar_for() checked it before).
  static Sampler make(const llama_vocab* vocab, const SamplingConfig& config);

  bool valid() const { return chain_ != nullptr; }
  bool has_grammar() const { return grammar_ != nullptr; }

  /// Samples from the logits of output row `row` and accepts the token (chain and grammar).
  llama_token sample(llama_context* ctx, int row);
  /// The same from explicit logits, one per vocabulary token.
  llama_token sample(std::span<const float> logits);

  /// Feeds prompt tokens to the penalties sampler only (the grammar constrains the output, not
  /// the prompt). No-op without penalties.
  void accept_prompt(std::span<const llama_token> tokens);

  /// The chain's sampler names in order ("logit-bias", "penalties", "top-k", ...).
  std::vector<std::string> names() const;

 private:
  llama_token_data_array fill(std::span<const float> logits);

  SamplerPtr chain_;
  SamplerPtr grammar_;
  std::vector<llama_token_data> candidates_;
};

}  // namespace smmf::engines::llama_cpp
