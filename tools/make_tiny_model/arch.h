#pragma once
/// The architectures make_tiny_model can write, as a table: each entry names its defaults and a
/// layout function listing the metadata keys and tensors llama.cpp reads for it. To add an
/// architecture, write an arch_<name>.cpp with a layout function and add a row in arch.cpp.
/// Pure data and pure functions; no state.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gguf_writer.h"

namespace smmf::tools {

struct HParams {
  uint32_t n_embd = 0;
  uint32_t n_layer = 0;
  uint32_t n_head = 0;
  uint32_t n_head_kv = 0;
  uint32_t n_ff = 0;
  uint32_t n_ctx = 0;  ///< training context length (and BERT's position table size)
};

/// llama.cpp's llama_pooling_type values, as written to `<arch>.pooling_type`.
enum class Pooling : uint32_t { kNone = 0, kMean = 1, kCls = 2, kLast = 3, kRank = 4 };

std::string_view to_string(Pooling pooling);  ///< none, mean, cls, last, rank

/// What a layout depends on: the final hyperparameters and the tokenizer's sizes.
struct ModelConfig {
  std::string arch;  ///< key prefix, e.g. "llama" in llama.context_length
  HParams hparams;
  int64_t n_vocab = 0;
  uint32_t n_token_types = 0;  ///< BERT segment embeddings
  Pooling pooling = Pooling::kNone;
  bool tie_embeddings = false;  ///< generative archs: token_embd doubles as the output projection
};

enum class Init { kNormal, kOnes, kZeros };

/// One tensor. `ne` is in ggml order: ne[0] is the input dimension of a weight matrix (its fan-in)
/// and the row length of an embedding table. Normal weights get std 1/sqrt(ne[0]).
struct TensorSpec {
  std::string name;
  std::vector<int64_t> ne;
  Init init = Init::kNormal;
  bool keep_f32 = false;    ///< stays f32 under --type f16 (1-D tensors always do)
  bool token_rows = false;  ///< row i is token i: rows of ungeneratable tokens are zeroed
};

struct KvSpec {
  std::string key;
  KvValue value;
};

struct ModelLayout {
  std::vector<KvSpec> kv;  ///< architecture keys; general.* and tokenizer.* are added by the caller
  std::vector<TensorSpec> tensors;
};

struct ArchSpec {
  std::string_view name;                   ///< general.architecture
  std::string_view default_vocab;          ///< file in the vocab directory
  std::string_view default_chat_template;  ///< empty: keep the vocab file's, if any
  HParams defaults;
  Pooling default_pooling = Pooling::kNone;  ///< kNone: --pooling does not apply
  bool generative = false;                   ///< zero output rows of ungeneratable tokens
  bool tieable = false;     ///< llama.cpp falls back to token_embd when output.weight is absent
  bool grouped_kv = false;  ///< --n-head-kv may differ from --n-head
  uint32_t head_dim_multiple = 1;  ///< RoPE: 2 (pairs of head values); ChatGLM: 4 (half a head)
  ModelLayout (*layout)(const ModelConfig&) = nullptr;
};

std::span<const ArchSpec> arch_table();
const ArchSpec* find_arch(std::string_view name);  ///< nullptr if unknown

// Layout functions, one per arch_<name>.cpp.
ModelLayout llama_layout(const ModelConfig& config);  ///< also baichuan and internlm2
ModelLayout bert_layout(const ModelConfig& config);
ModelLayout qwen_layout(const ModelConfig& config);
ModelLayout qwen2_layout(const ModelConfig& config);
ModelLayout falcon_layout(const ModelConfig& config);
ModelLayout chatglm_layout(const ModelConfig& config);

// Helpers for layout functions.
std::string arch_key(const ModelConfig& config, std::string_view suffix);  ///< "<arch>.<suffix>"
std::string blk(uint32_t layer, std::string_view suffix);                  ///< "blk.<N>.<suffix>"
TensorSpec matrix(std::string name, int64_t n_in, int64_t n_out);
TensorSpec ones(std::string name, int64_t n);
TensorSpec zeros(std::string name, int64_t n);

}  // namespace smmf::tools
