// Qwen decoders. Qwen 1 (llama.cpp LLM_ARCH_QWEN, src/models/qwen.cpp at the pinned commit): one
// fused q/k/v projection with a bias, SwiGLU whose feed_forward_length counts gate and up
// together (each is n_ff/2 wide), NeoX RoPE. Qwen 2 (LLM_ARCH_QWEN2, src/models/qwen2.cpp):
// separate q/k/v with biases and grouped KV heads, SwiGLU, NeoX RoPE; the output projection may be
// tied to token_embd (the small Qwen 2 models are).
#include "arch.h"

namespace smmf::tools {
namespace {

std::vector<KvSpec> qwen_keys(const ModelConfig& config) {
  const HParams& hp = config.hparams;
  return {
      {arch_key(config, "context_length"), hp.n_ctx},
      {arch_key(config, "embedding_length"), hp.n_embd},
      {arch_key(config, "block_count"), hp.n_layer},
      {arch_key(config, "feed_forward_length"), hp.n_ff},
      {arch_key(config, "attention.head_count"), hp.n_head},
      {arch_key(config, "attention.head_count_kv"), hp.n_head_kv},
      {arch_key(config, "attention.layer_norm_rms_epsilon"), 1e-6f},
      {arch_key(config, "rope.dimension_count"), hp.n_embd / hp.n_head},
      {arch_key(config, "rope.freq_base"), 10000.0f},
  };
}

void add_output(std::vector<TensorSpec>& t, const ModelConfig& config) {
  t.push_back(ones("output_norm.weight", config.hparams.n_embd));
  if (!config.tie_embeddings) {
    TensorSpec output = matrix("output.weight", config.hparams.n_embd, config.n_vocab);
    output.token_rows = true;
    t.push_back(std::move(output));
  }
}

TensorSpec token_embd(const ModelConfig& config) {
  TensorSpec embd = matrix("token_embd.weight", config.hparams.n_embd, config.n_vocab);
  embd.token_rows = config.tie_embeddings;
  return embd;
}

}  // namespace

ModelLayout qwen_layout(const ModelConfig& config) {
  const HParams& hp = config.hparams;
  const int64_t n_embd = hp.n_embd;
  ModelLayout layout;
  layout.kv = qwen_keys(config);
  auto& t = layout.tensors;
  t.push_back(token_embd(config));
  for (uint32_t i = 0; i < hp.n_layer; ++i) {
    t.push_back(ones(blk(i, "attn_norm.weight"), n_embd));
    t.push_back(matrix(blk(i, "attn_qkv.weight"), n_embd, 3 * n_embd));
    t.push_back(zeros(blk(i, "attn_qkv.bias"), 3 * n_embd));
    t.push_back(matrix(blk(i, "attn_output.weight"), n_embd, n_embd));
    t.push_back(ones(blk(i, "ffn_norm.weight"), n_embd));
    t.push_back(matrix(blk(i, "ffn_gate.weight"), n_embd, hp.n_ff / 2));
    t.push_back(matrix(blk(i, "ffn_up.weight"), n_embd, hp.n_ff / 2));
    t.push_back(matrix(blk(i, "ffn_down.weight"), hp.n_ff / 2, n_embd));
  }
  add_output(t, config);
  return layout;
}

ModelLayout qwen2_layout(const ModelConfig& config) {
  const HParams& hp = config.hparams;
  const int64_t n_embd = hp.n_embd;
  const int64_t n_embd_kv = hp.n_embd / hp.n_head * hp.n_head_kv;
  ModelLayout layout;
  layout.kv = qwen_keys(config);
  auto& t = layout.tensors;
  t.push_back(token_embd(config));
  for (uint32_t i = 0; i < hp.n_layer; ++i) {
    t.push_back(ones(blk(i, "attn_norm.weight"), n_embd));
    t.push_back(matrix(blk(i, "attn_q.weight"), n_embd, n_embd));
    t.push_back(zeros(blk(i, "attn_q.bias"), n_embd));
    t.push_back(matrix(blk(i, "attn_k.weight"), n_embd, n_embd_kv));
    t.push_back(zeros(blk(i, "attn_k.bias"), n_embd_kv));
    t.push_back(matrix(blk(i, "attn_v.weight"), n_embd, n_embd_kv));
    t.push_back(zeros(blk(i, "attn_v.bias"), n_embd_kv));
    t.push_back(matrix(blk(i, "attn_output.weight"), n_embd, n_embd));
    t.push_back(ones(blk(i, "ffn_norm.weight"), n_embd));
    t.push_back(matrix(blk(i, "ffn_gate.weight"), n_embd, hp.n_ff));
    t.push_back(matrix(blk(i, "ffn_up.weight"), n_embd, hp.n_ff));
    t.push_back(matrix(blk(i, "ffn_down.weight"), hp.n_ff, n_embd));
  }
  add_output(t, config);
  return layout;
}

}  // namespace smmf::tools
