// How chat templates resolve (names, Jinja detection) and how SMMF's own formats render; no model.
#include "engines/llama_cpp/chat_format.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <vector>

namespace smmf::engines::llama_cpp {
namespace {

using protocol::ChatMessage;

std::string read_template(const std::string& name) {
  std::ifstream in(std::string(SMMF_TEST_FAMILIES_DIR) + "/" + name);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string render(std::string_view tmpl, const std::vector<ChatMessage>& messages) {
  auto format = resolve_chat_format(tmpl);
  if (!format) return "<unresolved>";
  return render_chat_format(*format, messages, ChatSpecials{}).value_or("<rejected>");
}

TEST(ChatFormatTest, ResolvesSmmfAndLlamaCppNames) {
  for (std::string_view name : smmf_chat_format_names()) {
    auto format = resolve_chat_format(name);
    ASSERT_TRUE(format) << name;
    EXPECT_TRUE(format->smmf.has_value()) << name;
    EXPECT_EQ(format->name, name);
  }
  for (std::string_view name : {"chatml", "llama2", "chatglm3", "zephyr", "openchat", "vicuna"}) {
    auto format = resolve_chat_format(name);
    ASSERT_TRUE(format) << name;
    EXPECT_FALSE(format->smmf.has_value()) << name;
    EXPECT_EQ(format->llama_template, name);
  }
}

TEST(ChatFormatTest, UnknownTemplatesDoNotResolve) {
  EXPECT_FALSE(resolve_chat_format("no-such-format"));
  EXPECT_FALSE(resolve_chat_format("{% for m in messages %}{{ m['content'] }}{% endfor %}"));
}

TEST(ChatFormatTest, OfficialJinjaOfSmmfFamiliesIsRecognised) {
  // llama.cpp alone takes these for llama2-sys-strip and glmedge.
  auto llama2 = resolve_chat_format(read_template("llama2-chat.jinja"));
  ASSERT_TRUE(llama2);
  EXPECT_EQ(llama2->name, "llama2-chat");
  auto zephyr = resolve_chat_format(read_template("zephyr-beta.jinja"));
  ASSERT_TRUE(zephyr);
  EXPECT_EQ(zephyr->name, "zephyr-beta");
  // Mistral's template has [INST] but no <<SYS>>: llama.cpp's llama2 renders it exactly.
  auto mistral = resolve_chat_format(read_template("mistral-instruct.jinja"));
  ASSERT_TRUE(mistral);
  EXPECT_EQ(mistral->name, "jinja");
}

TEST(ChatFormatTest, Llama2ChatPutsTheSystemPromptInTheFirstTurnOnly) {
  EXPECT_EQ(render("llama2-chat", {{"system", "S", {}}, {"user", "u1 \n", {}}}),
            "[INST] <<SYS>>\nS\n<</SYS>>\n\nu1 [/INST]");
  EXPECT_EQ(
      render("llama2-chat", {{"user", "u1", {}}, {"assistant", "a1", {}}, {"user", "u2", {}}}),
      "[INST] u1 [/INST] a1 </s><s>[INST] u2 [/INST]");
}

TEST(ChatFormatTest, DeveloperIsSystemAndToolIsUserInSmmfFormats) {
  EXPECT_EQ(render("falcon-chat", {{"developer", "d", {}}, {"tool", "t", {}}}),
            "System: d\nUser: t\nFalcon:");
}

TEST(ChatFormatTest, ChatGlm2FoldsTheSystemIntoTheFirstQuery) {
  EXPECT_EQ(render("chatglm2", {{"system", "S", {}}, {"user", "q", {}}}),
            "[gMASK]sop[Round 1]\n\n问：S\nq\n\n答：");
}

TEST(ChatFormatTest, SpecialsComeFromTheVocab) {
  auto format = resolve_chat_format("zephyr-beta");
  ASSERT_TRUE(format);
  const std::vector<ChatMessage> messages = {{"user", "u", {}}};
  EXPECT_EQ(render_chat_format(*format, messages, ChatSpecials{"<s>", "<|endoftext|>"}),
            "<|user|>\nu<|endoftext|>\n<|assistant|>\n");
}

}  // namespace
}  // namespace smmf::engines::llama_cpp
