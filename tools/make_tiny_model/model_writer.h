#pragma once
/// Turns an architecture layout, a tokenizer and the options into one GGUF file: general.*
/// keys, the architecture's keys, every tokenizer.* key of the vocab file, the chat template,
/// and seeded random tensors. Deterministic: the same inputs give a byte-identical file.
/// Throws std::runtime_error on invalid hyperparameters or I/O failure.
#include <ggml.h>

#include <cstdint>
#include <optional>
#include <string>

#include "arch.h"
#include "vocab.h"

namespace smmf::tools {

struct WriteOptions {
  std::string out_path;
  uint64_t seed = 0;
  ggml_type type = GGML_TYPE_F32;  ///< F32 or F16 for matrices; 1-D tensors are always F32
  std::string name;                ///< general.name
  std::optional<std::string> chat_template;  ///< overrides the arch default and the vocab's
};

struct WriteStats {
  int64_t n_params = 0;
  size_t n_tensors = 0;
  size_t n_zeroed_rows = 0;  ///< output-projection rows of tokens never to generate
  uintmax_t file_bytes = 0;
};

/// Checks `config.hparams` against `arch`'s constraints; throws with the reason.
void validate_hparams(const ArchSpec& arch, const HParams& hp);

WriteStats write_model(const ArchSpec& arch, const ModelConfig& config, const Vocab& vocab,
                       const WriteOptions& options);

}  // namespace smmf::tools
