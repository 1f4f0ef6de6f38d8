#include "vocab.h"

#include <algorithm>
#include <stdexcept>

#include "token_text.h"

namespace smmf::tools {
namespace {

constexpr int32_t kNotGeneratable =
    LLAMA_TOKEN_ATTR_CONTROL | LLAMA_TOKEN_ATTR_UNKNOWN | LLAMA_TOKEN_ATTR_UNUSED;

std::string piece_of(const llama_vocab* vocab, llama_token id) {
  std::string piece(16, '\0');
  int32_t n = llama_token_to_piece(vocab, id, piece.data(), static_cast<int32_t>(piece.size()),
                                   /*lstrip=*/0, /*special=*/false);
  if (n < 0) {
    piece.resize(static_cast<size_t>(-n));
    n = llama_token_to_piece(vocab, id, piece.data(), static_cast<int32_t>(piece.size()), 0, false);
  }
  piece.resize(static_cast<size_t>(std::max(n, 0)));
  return piece;
}

}  // namespace

Vocab Vocab::load(const std::string& path) {
  Vocab vocab;
  vocab.path_ = path;
  vocab.metadata_ = read_gguf_metadata(path);
  const gguf_context& ctx = *vocab.metadata_;

  const int64_t model_id = gguf_find_key(&ctx, "tokenizer.ggml.model");
  if (model_id < 0 || gguf_get_kv_type(&ctx, model_id) != GGUF_TYPE_STRING) {
    throw std::runtime_error(path + " has no tokenizer.ggml.model");
  }
  vocab.model_ = gguf_get_val_str(&ctx, model_id);
  const int64_t types_id = gguf_find_key(&ctx, "tokenizer.ggml.token_type_count");
  if (types_id >= 0 && gguf_get_kv_type(&ctx, types_id) == GGUF_TYPE_UINT32) {
    vocab.n_token_types_ = gguf_get_val_u32(&ctx, types_id);
  }

  llama_model_params params = llama_model_default_params();
  params.vocab_only = true;
  vocab.tokenizer_.reset(llama_model_load_from_file(path.c_str(), params));
  if (!vocab.tokenizer_) throw std::runtime_error("llama.cpp cannot load the vocab " + path);
  vocab.n_tokens_ = llama_vocab_n_tokens(llama_model_get_vocab(vocab.tokenizer_.get()));
  return vocab;
}

std::vector<bool> Vocab::ungeneratable_tokens() const {
  const llama_vocab* vocab = llama_model_get_vocab(tokenizer_.get());
  std::vector<bool> out(static_cast<size_t>(n_tokens_), false);
  for (llama_token id = 0; id < n_tokens_; ++id) {
    if (llama_vocab_is_eog(vocab, id)) continue;  // lets generation end, rarely
    if (llama_vocab_get_attr(vocab, id) & kNotGeneratable) {
      out[static_cast<size_t>(id)] = true;
      continue;
    }
    const std::string piece = piece_of(vocab, id);
    out[static_cast<size_t>(id)] =
        piece.empty() || !is_valid_utf8(piece) || has_unprintable_ascii(piece);
  }
  return out;
}

}  // namespace smmf::tools
