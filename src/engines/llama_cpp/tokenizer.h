#pragma once
/// Text <-> tokens and chat rendering for one loaded model.
/// Threading: every method is const and thread-safe (llama.cpp's tokenizer API is), so I/O
/// threads tokenize requests while the inference thread detokenizes.
/// Lifetime: borrows the model, which must outlive the Tokenizer.
#include <llama.h>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engines/llama_cpp/chat_format.h"
#include "protocol/openai_types.h"

namespace smmf::engines::llama_cpp {

class Tokenizer {
 public:
  /// With `chat`, resolves `chat_template` (the model's `chat_template` param: an SMMF or
  /// llama.cpp name or Jinja, see chat_format.h), else the GGUF's tokenizer.chat_template; warns
  /// once if there is none or nothing recognises it (render_chat() then uses ChatML).
  Tokenizer(const llama_model* model, bool chat, const std::string& chat_template = {});

  std::vector<llama_token> tokenize(std::string_view text, bool add_special,
                                    bool parse_special) const;
  /// Appends the bytes of `token` (control tokens render as nothing). Bytes may be a partial
  /// UTF-8 sequence.
  void append_piece(llama_token token, std::string& out) const;
  bool is_eog(llama_token token) const { return llama_vocab_is_eog(vocab_, token); }

  /// The prompt for `messages` in the model's template, ending with the assistant turn opener.
  std::string render_chat(std::span<const protocol::ChatMessage> messages) const;
  bool uses_fallback_template() const { return !format_; }
  /// The resolved format's name (an SMMF or llama.cpp name, or "jinja"); "chatml" on fallback.
  std::string chat_format_name() const { return format_ ? format_->name : "chatml"; }

  const llama_vocab* vocab() const { return vocab_; }

 private:
  const llama_vocab* vocab_;
  std::optional<ChatFormat> format_;  ///< unset = ChatML
  ChatSpecials specials_;             ///< the vocab's BOS and EOS texts
};

}  // namespace smmf::engines::llama_cpp
