#include "engines/llama_cpp/tokenizer.h"

#include <spdlog/spdlog.h>

#include <array>
#include <limits>

namespace smmf::engines::llama_cpp {
namespace {

constexpr const char* kChatMl = "chatml";

// Roles llama.cpp's built-in templates know; OpenAI's "developer" is a system message.
const char* template_role(const std::string& role) {
  if (role == "developer") return "system";
  return role.c_str();
}

}  // namespace

Tokenizer::Tokenizer(const llama_model* model, bool chat) : vocab_(llama_model_get_vocab(model)) {
  if (!chat) return;
  const char* tmpl = llama_model_chat_template(model, nullptr);
  if (tmpl == nullptr) {
    spdlog::warn("llama.cpp: the model has no chat template; chat uses ChatML");
    return;
  }
  // Probe with a tiny conversation: < 0 means llama.cpp does not recognise the template.
  const std::array<protocol::ChatMessage, 2> probe = {protocol::ChatMessage{"system", "s", {}},
                                                      protocol::ChatMessage{"user", "u", {}}};
  std::string out;
  if (apply_template(tmpl, probe, out) < 0) {
    spdlog::warn(
        "llama.cpp: the model's chat template is not one llama.cpp recognises; chat "
        "uses ChatML");
    return;
  }
  template_ = tmpl;
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

int Tokenizer::apply_template(const char* tmpl, std::span<const protocol::ChatMessage> messages,
                              std::string& out) const {
  std::vector<llama_chat_message> msgs;
  msgs.reserve(messages.size());
  size_t chars = 0;
  for (const auto& m : messages) {
    msgs.push_back({template_role(m.role), m.content.c_str()});
    chars += m.content.size() + m.role.size();
  }
  out.resize(2 * chars + 256);
  int32_t n = llama_chat_apply_template(tmpl, msgs.data(), msgs.size(), true, out.data(),
                                        static_cast<int32_t>(out.size()));
  if (n > static_cast<int32_t>(out.size())) {
    out.resize(static_cast<size_t>(n));
    n = llama_chat_apply_template(tmpl, msgs.data(), msgs.size(), true, out.data(), n);
  }
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return n;
}

std::string Tokenizer::render_chat(std::span<const protocol::ChatMessage> messages) const {
  std::string out;
  if (!template_.empty() && apply_template(template_.c_str(), messages, out) >= 0) return out;
  // Some templates reject a conversation (e.g. a role they lack): ChatML always renders.
  apply_template(kChatMl, messages, out);
  return out;
}

}  // namespace smmf::engines::llama_cpp
