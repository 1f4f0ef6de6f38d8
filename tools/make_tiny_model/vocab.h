#pragma once
/// A tokenizer taken from a vocab-only GGUF file (llama.cpp's models/ggml-vocab-*.gguf): its
/// `tokenizer.*` metadata is copied verbatim into the generated model, and llama.cpp itself
/// (a vocab-only load) says what each token detokenizes to. Immutable after load.
#include <llama.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gguf_writer.h"

namespace smmf::tools {

class Vocab {
 public:
  /// Reads `path`. Throws std::runtime_error if it is unreadable or llama.cpp rejects it.
  static Vocab load(const std::string& path);

  const gguf_context& metadata() const { return *metadata_; }
  const std::string& path() const { return path_; }
  const std::string& tokenizer_model() const { return model_; }  ///< llama, gpt2, bert, ...
  int64_t n_tokens() const { return n_tokens_; }
  /// `tokenizer.ggml.token_type_count` (BERT segment ids); 0 if absent.
  uint32_t n_token_types() const { return n_token_types_; }

  /// Per token: true if a random model must never generate it, because the text llama.cpp
  /// prints for it is empty, not valid UTF-8 on its own (byte fallback `<0x80>`, partial
  /// byte-level BPE pieces) or unprintable, or it is a control/unknown/unused token that does
  /// not end generation. End-of-generation tokens (EOS, EOT, <|im_end|>, ...) stay generatable.
  std::vector<bool> ungeneratable_tokens() const;

 private:
  struct ModelDeleter {
    void operator()(llama_model* model) const { llama_model_free(model); }
  };

  Vocab() = default;

  GgufPtr metadata_;
  std::unique_ptr<llama_model, ModelDeleter> tokenizer_;  ///< vocab-only llama.cpp model
  std::string path_;
  std::string model_;
  int64_t n_tokens_ = 0;
  uint32_t n_token_types_ = 0;
};

}  // namespace smmf::tools
