// LLaMA-style decoder (llama.cpp LLM_ARCH_LLAMA, src/models/llama.cpp at the pinned commit):
// RMS norms, separate q/k/v with grouped KV heads, SwiGLU feed-forward, RoPE. The output
// projection is its own tensor unless --tie-embeddings: with random weights a tied projection
// scores the token just fed in highly, and greedy decoding then repeats it (measured: ~60% of
// steps repeat the previous token tied, 1-5% untied).
#include "arch.h"

namespace smmf::tools {

ModelLayout llama_layout(const ModelConfig& config) {
  const HParams& hp = config.hparams;
  const int64_t n_embd = hp.n_embd;
  const int64_t head_dim = hp.n_embd / hp.n_head;
  const int64_t n_embd_kv = head_dim * hp.n_head_kv;

  ModelLayout layout;
  layout.kv = {
      {arch_key(config, "vocab_size"), static_cast<uint32_t>(config.n_vocab)},
      {arch_key(config, "context_length"), hp.n_ctx},
      {arch_key(config, "embedding_length"), hp.n_embd},
      {arch_key(config, "block_count"), hp.n_layer},
      {arch_key(config, "feed_forward_length"), hp.n_ff},
      {arch_key(config, "attention.head_count"), hp.n_head},
      {arch_key(config, "attention.head_count_kv"), hp.n_head_kv},
      {arch_key(config, "attention.layer_norm_rms_epsilon"), 1e-5f},
      {arch_key(config, "rope.dimension_count"), static_cast<uint32_t>(head_dim)},
      {arch_key(config, "rope.freq_base"), 10000.0f},
  };

  auto& t = layout.tensors;
  // Rows of the output projection that are zero are never chosen by greedy decoding.
  TensorSpec embd = matrix("token_embd.weight", n_embd, config.n_vocab);
  embd.token_rows = config.tie_embeddings;
  t.push_back(std::move(embd));
  for (uint32_t i = 0; i < hp.n_layer; ++i) {
    t.push_back(ones(blk(i, "attn_norm.weight"), n_embd));
    t.push_back(matrix(blk(i, "attn_q.weight"), n_embd, n_embd));
    t.push_back(matrix(blk(i, "attn_k.weight"), n_embd, n_embd_kv));
    t.push_back(matrix(blk(i, "attn_v.weight"), n_embd, n_embd_kv));
    t.push_back(matrix(blk(i, "attn_output.weight"), n_embd, n_embd));
    t.push_back(ones(blk(i, "ffn_norm.weight"), n_embd));
    t.push_back(matrix(blk(i, "ffn_gate.weight"), n_embd, hp.n_ff));
    t.push_back(matrix(blk(i, "ffn_up.weight"), n_embd, hp.n_ff));
    t.push_back(matrix(blk(i, "ffn_down.weight"), hp.n_ff, n_embd));
  }
  t.push_back(ones("output_norm.weight", n_embd));
  if (!config.tie_embeddings) {
    TensorSpec output = matrix("output.weight", n_embd, config.n_vocab);
    output.token_rows = true;
    t.push_back(std::move(output));
  }
  return layout;
}

}  // namespace smmf::tools
