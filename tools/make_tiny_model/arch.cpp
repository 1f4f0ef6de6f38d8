#include "arch.h"

#include <array>

namespace smmf::tools {
namespace {

// ChatML; llama.cpp's llama_chat_apply_template() recognises it by "<|im_start|>".
constexpr std::string_view kChatMl =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\\n' }}{% endif %}";

// The decoders below default to a 64-wide, 2-layer model; the token tables dominate the size
// (n_vocab x n_embd each), so big vocabularies want --type f16, --tie-embeddings or a smaller
// --n-embd to stay small.
constexpr HParams kSmallDecoder = {
    .n_embd = 64, .n_layer = 2, .n_head = 4, .n_head_kv = 2, .n_ff = 128, .n_ctx = 2048};

const std::array kArchTable = {
    // ~4.2M parameters, nearly all in the 32000x64 token_embd and output; GQA 4/2 heads.
    ArchSpec{.name = "llama",
             .default_vocab = "ggml-vocab-llama-spm.gguf",
             .default_chat_template = kChatMl,
             .defaults = kSmallDecoder,
             .generative = true,
             .tieable = true,
             .grouped_kv = true,
             .head_dim_multiple = 2,
             .layout = llama_layout},
    ArchSpec{
        .name = "bert",
        .default_vocab = "ggml-vocab-bert-bge.gguf",
        .default_chat_template = "",
        .defaults =
            {.n_embd = 64, .n_layer = 2, .n_head = 4, .n_head_kv = 4, .n_ff = 128, .n_ctx = 512},
        .default_pooling = Pooling::kMean,
        .layout = bert_layout},
    // Baichuan's tensors are LLaMA's. llama.cpp picks RoPE (7B, 32 blocks), ALiBi (13B, 40 blocks)
    // or, for any other depth, no position encoding at all: a 2-block model is position-blind.
    ArchSpec{.name = "baichuan",
             .default_vocab = "ggml-vocab-baichuan.gguf",
             .default_chat_template = "",
             .defaults = kSmallDecoder,
             .generative = true,
             .grouped_kv = true,
             .head_dim_multiple = 2,
             .layout = llama_layout},
    // InternLM2's tensors are LLaMA's (its fused wqkv is split by llama.cpp's converter). No
    // InternLM2 vocab ships with llama.cpp; llama-spm is the nearest (SentencePiece, no
    // <|im_start|> special token, so ChatML markers are tokenized as text).
    ArchSpec{.name = "internlm2",
             .default_vocab = "ggml-vocab-llama-spm.gguf",
             .default_chat_template = kChatMl,
             .defaults = kSmallDecoder,
             .generative = true,
             .grouped_kv = true,
             .head_dim_multiple = 2,
             .layout = llama_layout},
    // Qwen 1 used a tiktoken vocabulary that llama.cpp converts like Qwen 2's BPE: qwen2 is the
    // nearest vocab file.
    ArchSpec{
        .name = "qwen",
        .default_vocab = "ggml-vocab-qwen2.gguf",
        .default_chat_template = kChatMl,
        .defaults =
            {.n_embd = 64, .n_layer = 2, .n_head = 4, .n_head_kv = 4, .n_ff = 256, .n_ctx = 2048},
        .generative = true,
        .head_dim_multiple = 2,
        .layout = qwen_layout},
    ArchSpec{.name = "qwen2",
             .default_vocab = "ggml-vocab-qwen2.gguf",
             .default_chat_template = kChatMl,
             .defaults = kSmallDecoder,
             .generative = true,
             .tieable = true,
             .grouped_kv = true,
             .head_dim_multiple = 2,
             .layout = qwen2_layout},
    // Falcon-7B is multi-query: one KV head.
    ArchSpec{
        .name = "falcon",
        .default_vocab = "ggml-vocab-falcon.gguf",
        .default_chat_template = "",
        .defaults =
            {.n_embd = 64, .n_layer = 2, .n_head = 4, .n_head_kv = 1, .n_ff = 256, .n_ctx = 2048},
        .generative = true,
        .tieable = true,
        .grouped_kv = true,
        .head_dim_multiple = 2,
        .layout = falcon_layout},
    // No ChatGLM vocab ships with llama.cpp; llama-spm is the nearest (ChatGLM 2/3 use a
    // SentencePiece vocabulary of 65024 tokens whose [gMASK], sop, <|user|> are special).
    ArchSpec{.name = "chatglm",
             .default_vocab = "ggml-vocab-llama-spm.gguf",
             .default_chat_template = "chatglm3",
             .defaults = kSmallDecoder,
             .generative = true,
             .tieable = true,
             .grouped_kv = true,
             .head_dim_multiple = 4,
             .layout = chatglm_layout},
};

}  // namespace

std::string_view to_string(Pooling pooling) {
  switch (pooling) {
    case Pooling::kNone:
      return "none";
    case Pooling::kMean:
      return "mean";
    case Pooling::kCls:
      return "cls";
    case Pooling::kLast:
      return "last";
    case Pooling::kRank:
      return "rank";
  }
  return "unknown";
}

std::span<const ArchSpec> arch_table() {
  return kArchTable;
}

const ArchSpec* find_arch(std::string_view name) {
  for (const ArchSpec& spec : kArchTable) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

std::string arch_key(const ModelConfig& config, std::string_view suffix) {
  return config.arch + "." + std::string(suffix);
}

std::string blk(uint32_t layer, std::string_view suffix) {
  return "blk." + std::to_string(layer) + "." + std::string(suffix);
}

TensorSpec matrix(std::string name, int64_t n_in, int64_t n_out) {
  return TensorSpec{.name = std::move(name), .ne = {n_in, n_out}};
}

TensorSpec ones(std::string name, int64_t n) {
  return TensorSpec{.name = std::move(name), .ne = {n}, .init = Init::kOnes};
}

TensorSpec zeros(std::string name, int64_t n) {
  return TensorSpec{.name = std::move(name), .ne = {n}, .init = Init::kZeros};
}

}  // namespace smmf::tools
