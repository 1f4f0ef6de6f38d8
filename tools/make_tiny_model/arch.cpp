#include "arch.h"

#include <array>

namespace smmf::tools {
namespace {

// ChatML; llama.cpp's llama_chat_apply_template() recognises it by "<|im_start|>".
constexpr std::string_view kChatMl =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\\n' }}{% endif %}";

const std::array kArchTable = {
    // ~4.2M parameters, nearly all in the 32000x64 token_embd and output; GQA 4/2 heads.
    ArchSpec{
        .name = "llama",
        .default_vocab = "ggml-vocab-llama-spm.gguf",
        .default_chat_template = kChatMl,
        .defaults =
            {.n_embd = 64, .n_layer = 2, .n_head = 4, .n_head_kv = 2, .n_ff = 128, .n_ctx = 2048},
        .generative = true,
        .grouped_kv = true,
        .needs_even_head = true,
        .layout = llama_layout},
    ArchSpec{
        .name = "bert",
        .default_vocab = "ggml-vocab-bert-bge.gguf",
        .default_chat_template = "",
        .defaults =
            {.n_embd = 64, .n_layer = 2, .n_head = 4, .n_head_kv = 4, .n_ff = 128, .n_ctx = 512},
        .default_pooling = Pooling::kMean,
        .layout = bert_layout},
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
