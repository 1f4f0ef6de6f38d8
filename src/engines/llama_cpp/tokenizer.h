#pragma once
/// Text <-> tokens and chat rendering for one loaded model.
/// Threading: every method is const and thread-safe (llama.cpp's tokenizer API is), so I/O
/// threads tokenize requests while the inference thread detokenizes.
/// Lifetime: borrows the model, which must outlive the Tokenizer.
#include <llama.h>

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/openai_types.h"

namespace smmf::engines::llama_cpp {

class Tokenizer {
 public:
  /// With `chat`, reads the model's chat template (and warns once if there is none or llama.cpp
  /// does not recognise it: render_chat() then uses ChatML).
  Tokenizer(const llama_model* model, bool chat);

  std::vector<llama_token> tokenize(std::string_view text, bool add_special,
                                    bool parse_special) const;
  /// Appends the bytes of `token` (control tokens render as nothing). Bytes may be a partial
  /// UTF-8 sequence.
  void append_piece(llama_token token, std::string& out) const;
  bool is_eog(llama_token token) const { return llama_vocab_is_eog(vocab_, token); }

  /// The prompt for `messages` in the model's template, ending with the assistant turn opener.
  std::string render_chat(std::span<const protocol::ChatMessage> messages) const;
  bool uses_fallback_template() const { return template_.empty(); }

  const llama_vocab* vocab() const { return vocab_; }

 private:
  int apply_template(const char* tmpl, std::span<const protocol::ChatMessage> messages,
                     std::string& out) const;

  const llama_vocab* vocab_;
  std::string template_;  ///< the model's template; empty = ChatML
};

}  // namespace smmf::engines::llama_cpp
