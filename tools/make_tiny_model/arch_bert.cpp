// BERT encoder (llama.cpp LLM_ARCH_BERT, src/models/bert.cpp at the pinned commit): learned
// position and segment embeddings, post-attention LayerNorms with biases, GELU feed-forward,
// non-causal attention, pooled sequence embeddings. With rank pooling it also gets the
// classification head (cls, cls.output) that llama.cpp's reranking graph applies.
#include "arch.h"

namespace smmf::tools {
namespace {

// llama.cpp adds these to f32 activations with a binary op that aborts on f16 inputs.
TensorSpec f32_table(std::string name, int64_t n_embd, int64_t n_rows) {
  TensorSpec spec = matrix(std::move(name), n_embd, n_rows);
  spec.keep_f32 = true;
  return spec;
}

void add_linear(std::vector<TensorSpec>& t, const std::string& prefix, int64_t n_in,
                int64_t n_out) {
  t.push_back(matrix(prefix + ".weight", n_in, n_out));
  t.push_back(zeros(prefix + ".bias", n_out));
}

void add_layer_norm(std::vector<TensorSpec>& t, const std::string& prefix, int64_t n) {
  t.push_back(ones(prefix + ".weight", n));
  t.push_back(zeros(prefix + ".bias", n));
}

}  // namespace

ModelLayout bert_layout(const ModelConfig& config) {
  const HParams& hp = config.hparams;
  const int64_t n_embd = hp.n_embd;

  ModelLayout layout;
  layout.kv = {
      {arch_key(config, "context_length"), hp.n_ctx},
      {arch_key(config, "embedding_length"), hp.n_embd},
      {arch_key(config, "block_count"), hp.n_layer},
      {arch_key(config, "feed_forward_length"), hp.n_ff},
      {arch_key(config, "attention.head_count"), hp.n_head},
      {arch_key(config, "attention.layer_norm_epsilon"), 1e-12f},
      {arch_key(config, "attention.causal"), false},
      {arch_key(config, "pooling_type"), static_cast<uint32_t>(config.pooling)},
      // Vocab files may lack it; llama.cpp refuses a BERT without segment types.
      {"tokenizer.ggml.token_type_count", config.n_token_types},
  };

  auto& t = layout.tensors;
  t.push_back(matrix("token_embd.weight", n_embd, config.n_vocab));
  t.push_back(f32_table("token_types.weight", n_embd, config.n_token_types));
  t.push_back(f32_table("position_embd.weight", n_embd, hp.n_ctx));
  add_layer_norm(t, "token_embd_norm", n_embd);
  for (uint32_t i = 0; i < hp.n_layer; ++i) {
    add_linear(t, blk(i, "attn_q"), n_embd, n_embd);
    add_linear(t, blk(i, "attn_k"), n_embd, n_embd);
    add_linear(t, blk(i, "attn_v"), n_embd, n_embd);
    add_linear(t, blk(i, "attn_output"), n_embd, n_embd);
    add_layer_norm(t, blk(i, "attn_output_norm"), n_embd);
    add_linear(t, blk(i, "ffn_up"), n_embd, hp.n_ff);
    add_linear(t, blk(i, "ffn_down"), hp.n_ff, n_embd);
    add_layer_norm(t, blk(i, "layer_output_norm"), n_embd);
  }
  if (config.pooling == Pooling::kRank) {
    add_linear(t, "cls", n_embd, n_embd);
    add_linear(t, "cls.output", n_embd, 1);  // one relevance score per sequence
  }
  return layout;
}

}  // namespace smmf::tools
