#pragma once
/// How a chat conversation becomes a model's prompt text.
///
/// A template is one of:
///  - a format SMMF renders itself (smmf_chat_format_names()): documented prompt formats that
///    llama.cpp's built-ins lack or render differently (Llama 2 chat, Vicuna v1.1, Baichuan 2,
///    ChatGLM 2, Falcon chat, Zephyr beta);
///  - a llama.cpp built-in name (llama_chat_builtin_templates(): chatml, llama2, chatglm3, ...);
///  - a Jinja source: SMMF first recognises the official Jinja of the families it renders itself
///    (Meta's Llama 2 chat, HuggingFaceH4's Zephyr beta), else llama.cpp's
///    llama_chat_apply_template() picks a built-in by substrings of the source. llama.cpp does not
///    run Jinja, so a template neither recognises is not supported.
/// Pure functions of their arguments (llama.cpp's template functions need no model); thread-safe.
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/openai_types.h"

namespace smmf::engines::llama_cpp {

/// SMMF's own formats.
enum class SmmfChatFormat {
  kLlama2Chat,
  kVicunaV11,
  kBaichuan2,
  kChatGlm2,
  kFalconChat,
  kZephyrBeta
};

struct ChatFormat {
  std::string name;  ///< what logs and docs call it: an SMMF or llama.cpp name, or "jinja"
  /// Set: SMMF renders. Unset: llama.cpp renders `llama_template` (a built-in name or Jinja).
  std::optional<SmmfChatFormat> smmf;
  std::string llama_template;
};

/// Special-token texts an SMMF format writes between turns (the vocab's BOS and EOS).
struct ChatSpecials {
  std::string bos = "<s>";
  std::string eos = "</s>";
};

/// The names of SMMF's own formats, in enum order.
std::span<const std::string_view> smmf_chat_format_names();

/// Resolves a template (a name or a Jinja source, see above); nullopt if nothing recognises it.
std::optional<ChatFormat> resolve_chat_format(std::string_view tmpl);

/// Renders `messages` ending with the assistant's turn opener. Developer messages are system
/// messages; SMMF's formats render any role other than system and assistant as user. Returns
/// nullopt if llama.cpp rejects the conversation (SMMF's formats render any conversation).
std::optional<std::string> render_chat_format(const ChatFormat& format,
                                              std::span<const protocol::ChatMessage> messages,
                                              const ChatSpecials& specials);

}  // namespace smmf::engines::llama_cpp
