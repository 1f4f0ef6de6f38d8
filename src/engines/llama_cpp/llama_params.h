#pragma once
/// The `params` table of a llama.cpp model, validated into native values. Loads nothing, so the
/// factory can check a config cheaply (chat_template is checked with llama.cpp's pure template
/// functions).
/// Errors: Error::invalid naming `cfg.origin` and the offending key (param "params.<key>").
#include <cstdint>
#include <optional>
#include <string>

#include "common/config.h"
#include "common/error.h"
#include "protocol/openai_types.h"

namespace smmf::engines::llama_cpp {

enum class FlashAttn { kAuto, kOn, kOff };

/// Every key of `params` with its default. Optionals left empty take llama.cpp's own default.
struct LlamaParams {
  protocol::ModelType type = protocol::ModelType::kLlm;
  std::string path;

  /// Total context in tokens, split evenly over `parallel` sequences (like llama-server's -c).
  /// 0 = parallel * min(training context, 4096) for llm; the training context for embeddings.
  int ctx_size = 0;
  /// Concurrent sequences (slots); embeddings: sequences per batch. 0 = 4 (llm) or 16 (embedding).
  int parallel = 0;
  int threads = 0;        ///< 0 = hardware concurrency
  int threads_batch = 0;  ///< 0 = threads
  int batch_size = 0;   ///< logical batch (tokens per decode step); 0 = 2048 (llm), ctx (embedding)
  int ubatch_size = 0;  ///< physical batch; 0 = 512; embedding models always use batch_size
  std::optional<bool> mmap;
  std::optional<bool> mlock;
  int n_gpu_layers = -1;  ///< -1 = all
  FlashAttn flash_attn = FlashAttn::kAuto;
  std::string cache_type_k =
      "f16";  ///< f32 | f16 | bf16 | q8_0 | q4_0 | q4_1 | iq4_nl | q5_0 | q5_1
  std::string cache_type_v = "f16";
  bool kv_unified = false;  ///< one KV buffer shared by all sequences (llm)
  int max_queue = 256;      ///< queued sequences beyond the free slots; more -> kResourceExhausted
  std::optional<uint32_t> seed;   ///< default sampling seed; unset = random per request
  std::optional<int> max_tokens;  ///< default max_tokens; unset = until the context is full
  /// llm: overrides the GGUF's tokenizer.chat_template: an SMMF format name (llama2-chat,
  /// vicuna-v1.1, ...), a llama.cpp built-in name (chatml, llama2, chatglm3, ...) or a Jinja
  /// source llama.cpp recognises (chat_format.h). Empty = the GGUF's template.
  std::string chat_template;
};

/// Validates `cfg` (type, path exists, params keys and types).
Result<LlamaParams> parse_llama_params(const ModelConfig& cfg);

}  // namespace smmf::engines::llama_cpp
