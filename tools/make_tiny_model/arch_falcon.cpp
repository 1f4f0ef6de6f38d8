// Falcon decoder (llama.cpp LLM_ARCH_FALCON, src/models/falcon.cpp at the pinned commit):
// LayerNorms with biases, one fused q/k/v projection without bias, multi-query or grouped KV
// heads (Falcon-7B has one KV head), attention and the GELU feed-forward in parallel from the
// same normed input, NeoX RoPE. Falcon-40B's second input norm (attn_norm_2) is optional and
// left out.
#include "arch.h"

namespace smmf::tools {

ModelLayout falcon_layout(const ModelConfig& config) {
  const HParams& hp = config.hparams;
  const int64_t n_embd = hp.n_embd;
  const int64_t n_embd_kv = hp.n_embd / hp.n_head * hp.n_head_kv;

  ModelLayout layout;
  layout.kv = {
      {arch_key(config, "context_length"), hp.n_ctx},
      {arch_key(config, "embedding_length"), hp.n_embd},
      {arch_key(config, "block_count"), hp.n_layer},
      {arch_key(config, "feed_forward_length"), hp.n_ff},
      {arch_key(config, "attention.head_count"), hp.n_head},
      {arch_key(config, "attention.head_count_kv"), hp.n_head_kv},
      {arch_key(config, "attention.layer_norm_epsilon"), 1e-5f},
  };

  auto& t = layout.tensors;
  TensorSpec embd = matrix("token_embd.weight", n_embd, config.n_vocab);
  embd.token_rows = config.tie_embeddings;
  t.push_back(std::move(embd));
  for (uint32_t i = 0; i < hp.n_layer; ++i) {
    t.push_back(ones(blk(i, "attn_norm.weight"), n_embd));
    t.push_back(zeros(blk(i, "attn_norm.bias"), n_embd));
    t.push_back(matrix(blk(i, "attn_qkv.weight"), n_embd, n_embd + 2 * n_embd_kv));
    t.push_back(matrix(blk(i, "attn_output.weight"), n_embd, n_embd));
    t.push_back(matrix(blk(i, "ffn_up.weight"), n_embd, hp.n_ff));
    t.push_back(matrix(blk(i, "ffn_down.weight"), hp.n_ff, n_embd));
  }
  t.push_back(ones("output_norm.weight", n_embd));
  t.push_back(zeros("output_norm.bias", n_embd));
  if (!config.tie_embeddings) {
    TensorSpec output = matrix("output.weight", n_embd, config.n_vocab);
    output.token_rows = true;
    t.push_back(std::move(output));
  }
  return layout;
}

}  // namespace smmf::tools
