#include "engines/llama_cpp/chat_format.h"

#include <llama.h>

#include <array>
#include <cctype>

namespace smmf::engines::llama_cpp {
namespace {

constexpr std::array<std::string_view, 6> kSmmfNames = {
    "llama2-chat", "vicuna-v1.1", "baichuan2", "chatglm2", "falcon-chat", "zephyr-beta"};

enum class Role { kSystem, kUser, kAssistant };

Role role_of(const std::string& role) {
  if (role == "system" || role == "developer") return Role::kSystem;
  if (role == "assistant") return Role::kAssistant;
  return Role::kUser;
}

std::string_view strip(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// The system messages, joined by newlines; SMMF's formats take them out of the turn order.
std::string system_text(std::span<const protocol::ChatMessage> messages) {
  std::string out;
  for (const auto& m : messages) {
    if (role_of(m.role) != Role::kSystem) continue;
    if (!out.empty()) out += "\n";
    out += m.content;
  }
  return out;
}

// Meta's chat_completion() (llama/generation.py): the system prompt is wrapped in <<SYS>> and
// joined to the first user message; every exchange is "<s>[INST] {user} [/INST] {answer} </s>",
// contents stripped. The first <s> is left to the tokenizer, which adds BOS.
std::string render_llama2_chat(std::span<const protocol::ChatMessage> messages,
                               const ChatSpecials& sp) {
  std::string system = system_text(messages);
  std::string out;
  bool first = true;
  for (const auto& m : messages) {
    const Role role = role_of(m.role);
    if (role == Role::kSystem) continue;
    if (role == Role::kAssistant) {
      out += " ";
      out += strip(m.content);
      out += " " + sp.eos;
      continue;
    }
    std::string content = m.content;
    if (!system.empty()) {
      content = "<<SYS>>\n" + system + "\n<</SYS>>\n\n" + content;
      system.clear();
    }
    if (!first) out += sp.bos;
    first = false;
    out += "[INST] ";
    out += strip(content);
    out += " [/INST]";
  }
  return out;
}

// FastChat's vicuna_v1.1 conversation (SeparatorStyle.ADD_COLON_TWO, sep " ", sep2 "</s>"):
// "{system} USER: {u} ASSISTANT: {a}</s>USER: {u} ASSISTANT:". Without a system message the
// prompt starts at "USER: " (FastChat would put its default system prompt there).
std::string render_vicuna(std::span<const protocol::ChatMessage> messages, const ChatSpecials& sp) {
  std::string out = system_text(messages);
  if (!out.empty()) out += " ";
  for (const auto& m : messages) {
    const Role role = role_of(m.role);
    if (role == Role::kUser) out += "USER: " + m.content + " ";
    if (role == Role::kAssistant) out += "ASSISTANT: " + m.content + sp.eos;
  }
  return out + "ASSISTANT:";
}

// Baichuan 2's build_chat_input() (generation_utils.py): the system text, then each message
// after its role token (user_token_id 195 = <reserved_106>, assistant_token_id 196 =
// <reserved_107>), then the assistant token. No separators, no end-of-turn tokens.
std::string render_baichuan2(std::span<const protocol::ChatMessage> messages) {
  std::string out = system_text(messages);
  for (const auto& m : messages) {
    const Role role = role_of(m.role);
    if (role == Role::kUser) out += "<reserved_106>" + m.content;
    if (role == Role::kAssistant) out += "<reserved_107>" + m.content;
  }
  return out + "<reserved_107>";
}

// ChatGLM2's build_prompt() (modeling_chatglm.py) after the tokenizer's [gMASK] sop prefix:
// "[Round N]\n\n问：{query}\n\n答：{response}\n\n". ChatGLM2 has no system role: system text
// opens the first query.
std::string render_chatglm2(std::span<const protocol::ChatMessage> messages) {
  std::string system = system_text(messages);
  std::string out = "[gMASK]sop";
  int round = 0;
  for (const auto& m : messages) {
    const Role role = role_of(m.role);
    if (role == Role::kUser) {
      out += "[Round " + std::to_string(++round) + "]\n\n问：";
      if (!system.empty()) {
        out += system + "\n";
        system.clear();
      }
      out += m.content + "\n\n答：";
    } else if (role == Role::kAssistant) {
      out += m.content + "\n\n";
    }
  }
  return out;
}

// Falcon-40B/180B chat (model cards): "System: ...\nUser: ...\nFalcon: ...\n...\nFalcon:".
std::string render_falcon(std::span<const protocol::ChatMessage> messages) {
  std::string out;
  for (const auto& m : messages) {
    const Role role = role_of(m.role);
    out += role == Role::kSystem ? "System: " : role == Role::kUser ? "User: " : "Falcon: ";
    out += m.content + "\n";
  }
  return out + "Falcon:";
}

// HuggingFaceH4/zephyr-7b-beta's template: "<|role|>\n{content}{eos}\n" per message, then
// "<|assistant|>\n".
std::string render_zephyr(std::span<const protocol::ChatMessage> messages, const ChatSpecials& sp) {
  std::string out;
  for (const auto& m : messages) {
    const Role role = role_of(m.role);
    out += role == Role::kSystem ? "<|system|>\n"
           : role == Role::kUser ? "<|user|>\n"
                                 : "<|assistant|>\n";
    out += m.content + sp.eos + "\n";
  }
  return out + "<|assistant|>\n";
}

// The official Jinja of the families SMMF renders itself, where llama.cpp's substring detection
// picks a different format (Llama 2: llama2-sys-strip, no spaces around answers; Zephyr beta:
// glmedge, no end-of-turn tokens).
std::optional<SmmfChatFormat> detect_smmf(std::string_view jinja) {
  if (contains(jinja, "<<SYS>>") && contains(jinja, "[INST]") &&
      contains(jinja, "content.strip() + ' ' + eos_token")) {
    return SmmfChatFormat::kLlama2Chat;
  }
  if (contains(jinja, "<|user|>") && contains(jinja, "<|assistant|>") &&
      contains(jinja, "message['content'] + eos_token") && !contains(jinja, "[gMASK]")) {
    return SmmfChatFormat::kZephyrBeta;
  }
  return std::nullopt;
}

bool is_llama_builtin(std::string_view name) {
  std::array<const char*, 128> names{};
  const int32_t n = llama_chat_builtin_templates(names.data(), names.size());
  for (int32_t i = 0; i < n && i < static_cast<int32_t>(names.size()); ++i) {
    if (name == names[static_cast<size_t>(i)]) return true;
  }
  return false;
}

std::optional<std::string> apply_llama(const std::string& tmpl,
                                       std::span<const protocol::ChatMessage> messages) {
  std::vector<llama_chat_message> msgs;
  msgs.reserve(messages.size());
  size_t chars = 0;
  for (const auto& m : messages) {
    // llama.cpp's built-ins know system/user/assistant (some also tool); developer is system.
    msgs.push_back({m.role == "developer" ? "system" : m.role.c_str(), m.content.c_str()});
    chars += m.content.size() + m.role.size();
  }
  std::string out(2 * chars + 256, '\0');
  int32_t n = llama_chat_apply_template(tmpl.c_str(), msgs.data(), msgs.size(), true, out.data(),
                                        static_cast<int32_t>(out.size()));
  if (n > static_cast<int32_t>(out.size())) {
    out.resize(static_cast<size_t>(n));
    n = llama_chat_apply_template(tmpl.c_str(), msgs.data(), msgs.size(), true, out.data(), n);
  }
  if (n < 0) return std::nullopt;
  out.resize(static_cast<size_t>(n));
  return out;
}

}  // namespace

std::span<const std::string_view> smmf_chat_format_names() {
  return kSmmfNames;
}

std::optional<ChatFormat> resolve_chat_format(std::string_view tmpl) {
  for (size_t i = 0; i < kSmmfNames.size(); ++i) {
    if (tmpl == kSmmfNames[i]) {
      return ChatFormat{std::string(tmpl), static_cast<SmmfChatFormat>(i), {}};
    }
  }
  if (is_llama_builtin(tmpl)) return ChatFormat{std::string(tmpl), std::nullopt, std::string(tmpl)};
  if (auto smmf = detect_smmf(tmpl)) {
    return ChatFormat{std::string(kSmmfNames[static_cast<size_t>(*smmf)]), smmf, {}};
  }
  // Probe: llama.cpp returns < 0 for a template it does not recognise.
  const std::array<protocol::ChatMessage, 2> probe = {protocol::ChatMessage{"system", "s", {}},
                                                      protocol::ChatMessage{"user", "u", {}}};
  ChatFormat format{"jinja", std::nullopt, std::string(tmpl)};
  if (!apply_llama(format.llama_template, probe)) return std::nullopt;
  return format;
}

std::optional<std::string> render_chat_format(const ChatFormat& format,
                                              std::span<const protocol::ChatMessage> messages,
                                              const ChatSpecials& specials) {
  if (!format.smmf) return apply_llama(format.llama_template, messages);
  switch (*format.smmf) {
    case SmmfChatFormat::kLlama2Chat:
      return render_llama2_chat(messages, specials);
    case SmmfChatFormat::kVicunaV11:
      return render_vicuna(messages, specials);
    case SmmfChatFormat::kBaichuan2:
      return render_baichuan2(messages);
    case SmmfChatFormat::kChatGlm2:
      return render_chatglm2(messages);
    case SmmfChatFormat::kFalconChat:
      return render_falcon(messages);
    case SmmfChatFormat::kZephyrBeta:
      return render_zephyr(messages, specials);
  }
  return std::nullopt;
}

}  // namespace smmf::engines::llama_cpp
