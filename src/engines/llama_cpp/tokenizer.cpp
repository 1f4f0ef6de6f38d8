#include "engines/llama_cpp/tokenizer.h"

#include <spdlog/spdlog.h>

#include <array>
#include <limits>

namespace smmf::engines::llama_cpp {
namespace {

std::string token_text(const llama_vocab* vocab, llama_token token, const char* fallback) {
  if (token == LLAMA_TOKEN_NULL) return fallback;
  const char* text = llama_vocab_get_text(vocab, token);
  return text != nullptr ? text : fallback;
}

}  // namespace

Tokenizer::Tokenizer(const llama_model* model, bool chat, const std::string& chat_template)
    : vocab_(llama_model_get_vocab(model)) {
  if (!chat) return;
  specials_.bos = token_text(vocab_, llama_vocab_bos(vocab_), "<s>");
  specials_.eos = token_text(vocab_, llama_vocab_eos(vocab_), "</s>");
  if (!chat_template.empty()) {
    // parse_llama_params() checked that it resolves.
    format_ = resolve_chat_format(chat_template);
    return;
  }
  const char* tmpl = llama_model_chat_template(model, nullptr);
  if (tmpl == nullptr) {
    spdlog::warn("llama.cpp: the model has no chat template; chat uses ChatML");
    return;
  }
  format_ = resolve_chat_format(tmpl);
  if (!format_) {
    spdlog::warn(
        "llama.cpp: the model's chat template is not one SMMF or llama.cpp recognises; chat uses "
        "ChatML (set params.chat_template to a format name)");
  }
}

std::vector<llama_token> Tokenizer::tokenize(std::string_view text, bool add_special,
                                             bool parse_special) const {
  if (text.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max() / 2)) return {};
  const auto len = static_cast<int32_t>(text.size());
  std::vector<llama_token> tokens(text.size() + 2);
  int32_t n = llama_tokenize(vocab_, text.data(), len, tokens.data(),
                             static_cast<int32_t>(tokens.size()), add_special, parse_special);
  if (n < 0 && n != std::numeric_limits<int32_t>::min()) {
    tokens.resize(static_cast<size_t>(-n));
    n = llama_tokenize(vocab_, text.data(), len, tokens.data(), -n, add_special, parse_special);
  }
  tokens.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return tokens;
}

void Tokenizer::append_piece(llama_token token, std::string& out) const {
  char buf[64];
  int32_t n = llama_token_to_piece(vocab_, token, buf, sizeof buf, 0, false);
  if (n >= 0) {
    out.append(buf, static_cast<size_t>(n));
    return;
  }
  const size_t old = out.size();
  out.resize(old + static_cast<size_t>(-n));
  n = llama_token_to_piece(vocab_, token, out.data() + old, -n, 0, false);
  out.resize(old + static_cast<size_t>(n > 0 ? n : 0));
}

std::string Tokenizer::render_chat(std::span<const protocol::ChatMessage> messages) const {
  if (format_) {
    if (auto out = render_chat_format(*format_, messages, specials_)) return std::move(*out);
  }
  // Some templates reject a conversation (e.g. a role they lack): ChatML always renders.
  static const ChatFormat kChatMl{"chatml", std::nullopt, "chatml"};
  return render_chat_format(kChatMl, messages, specials_).value_or(std::string{});
}

}  // namespace smmf::engines::llama_cpp
