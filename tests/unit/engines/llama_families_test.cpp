// The model families of docs/models.md: for each, a tiny random-weight model of its llama.cpp
// architecture with its chat template (built by tests/unit/engines/CMakeLists.txt into
// SMMF_TEST_FAMILY_MODEL_DIR) renders a two-turn conversation exactly as the family's documented
// prompt format says, loads in the engine and generates greedily.
//
// The expected prompts are written from each family's own documentation (model cards, reference
// code, tokenizer_config.json), not from SMMF's output. A leading BOS (<s>) that the documented
// format starts with is not in the text: the tokenizer adds it, and the test checks that.
#include <gtest/gtest.h>
#include <llama.h>

#include <memory>
#include <string>
#include <vector>

#include "engine_test_util.h"
#include "engines/llama_cpp/llama_handles.h"
#include "engines/llama_cpp/tokenizer.h"

namespace smmf::engines::test {
namespace {

using protocol::ChatMessage;

struct Family {
  const char* name;  ///< model file <name>.gguf
  bool system;       ///< the conversation opens with a system message
  bool bos_first;    ///< the documented prompt starts with BOS, which the tokenizer adds
  const char* expected;
};

// system "You are terse.", user "Hi there", assistant "Hello! How can I help?",
// user "Tell me a joke.", then the generation prompt.
const Family kFamilies[] = {
    // FastChat vicuna_v1.1: "{system} USER: {u} ASSISTANT: {a}</s>USER: {u} ASSISTANT:".
    {"vicuna", true, true,
     "You are terse. USER: Hi there ASSISTANT: Hello! How can I help?</s>USER: Tell me a joke. "
     "ASSISTANT:"},
    // WizardLM 1.2+ is trained on the Vicuna v1.1 format.
    {"wizardlm", true, true,
     "You are terse. USER: Hi there ASSISTANT: Hello! How can I help?</s>USER: Tell me a joke. "
     "ASSISTANT:"},
    // Meta, "How to prompt Llama 2": <s>[INST] <<SYS>>\n{s}\n<</SYS>>\n\n{u} [/INST] {a} </s>...
    {"llama2", true, true,
     "[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nHi there [/INST] Hello! How can I help? "
     "</s><s>[INST] Tell me a joke. [/INST]"},
    // Baichuan 2 build_chat_input: system, then <reserved_106>{user} <reserved_107>{assistant}.
    {"baichuan2", true, false,
     "You are terse.<reserved_106>Hi there<reserved_107>Hello! How can I help?<reserved_106>Tell "
     "me a joke.<reserved_107>"},
    // ChatGLM2 build_prompt after the [gMASK] sop prefix; no system role.
    {"chatglm2", false, false,
     "[gMASK]sop[Round 1]\n\n问：Hi there\n\n答：Hello! How can I help?\n\n[Round 2]\n\n问：Tell "
     "me a joke.\n\n答："},
    // ChatGLM3: [gMASK]sop<|role|>\n {content} ... <|assistant|>.
    {"chatglm3", true, false,
     "[gMASK]sop<|system|>\n You are terse.<|user|>\n Hi there<|assistant|>\n Hello! How can I "
     "help?<|user|>\n Tell me a joke.<|assistant|>"},
    // Falcon-40B/180B chat model cards: "System: ...\nUser: ...\nFalcon: ...".
    {"falcon", true, false,
     "System: You are terse.\nUser: Hi there\nFalcon: Hello! How can I help?\nUser: Tell me a "
     "joke.\nFalcon:"},
    // InternLM2 chat: <s> then ChatML.
    {"internlm2", true, true,
     "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n"
     "<|im_start|>assistant\nHello! How can I help?<|im_end|>\n<|im_start|>user\nTell me a "
     "joke.<|im_end|>\n<|im_start|>assistant\n"},
    // Qwen (make_context), Qwen 2, Orca 2 and Yi chat: ChatML.
    {"qwen", true, false,
     "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n"
     "<|im_start|>assistant\nHello! How can I help?<|im_end|>\n<|im_start|>user\nTell me a "
     "joke.<|im_end|>\n<|im_start|>assistant\n"},
    {"qwen2", true, false,
     "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n"
     "<|im_start|>assistant\nHello! How can I help?<|im_end|>\n<|im_start|>user\nTell me a "
     "joke.<|im_end|>\n<|im_start|>assistant\n"},
    {"orca2", true, true,
     "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n"
     "<|im_start|>assistant\nHello! How can I help?<|im_end|>\n<|im_start|>user\nTell me a "
     "joke.<|im_end|>\n<|im_start|>assistant\n"},
    {"yi", true, false,
     "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n"
     "<|im_start|>assistant\nHello! How can I help?<|im_end|>\n<|im_start|>user\nTell me a "
     "joke.<|im_end|>\n<|im_start|>assistant\n"},
    // OpenChat 3.5: "GPT4 Correct User: {u}<|end_of_turn|>GPT4 Correct Assistant: {a}...";
    // it has no system role.
    {"openchat", false, true,
     "GPT4 Correct User: Hi there<|end_of_turn|>GPT4 Correct Assistant: Hello! How can I "
     "help?<|end_of_turn|>GPT4 Correct User: Tell me a joke.<|end_of_turn|>GPT4 Correct "
     "Assistant:"},
    // Zephyr beta: "<|role|>\n{content}</s>\n" per message, then "<|assistant|>\n".
    {"zephyr", true, false,
     "<|system|>\nYou are terse.</s>\n<|user|>\nHi there</s>\n<|assistant|>\nHello! How can I "
     "help?</s>\n<|user|>\nTell me a joke.</s>\n<|assistant|>\n"},
    // Mistral Instruct v0.1/v0.2: <s>[INST] {u} [/INST]{a}</s>[INST] {u} [/INST]; no system role.
    {"mistral", false, true,
     "[INST] Hi there [/INST]Hello! How can I help?</s>[INST] Tell me a joke. [/INST]"},
};

std::vector<ChatMessage> conversation(bool system) {
  std::vector<ChatMessage> m;
  if (system) m.push_back({"system", "You are terse.", {}});
  m.push_back({"user", "Hi there", {}});
  m.push_back({"assistant", "Hello! How can I help?", {}});
  m.push_back({"user", "Tell me a joke.", {}});
  return m;
}

std::string model_path(const Family& f) {
  return std::string(SMMF_TEST_FAMILY_MODEL_DIR) + "/" + f.name + ".gguf";
}

struct ModelDeleter {
  void operator()(llama_model* m) const { llama_model_free(m); }
};

class LlamaFamilyTest : public ::testing::TestWithParam<Family> {};

TEST_P(LlamaFamilyTest, RendersTheDocumentedPromptFormat) {
  const Family& f = GetParam();
  llama_cpp::init_llama_backend();
  auto params = llama_model_default_params();
  params.vocab_only = true;
  std::unique_ptr<llama_model, ModelDeleter> model(
      llama_model_load_from_file(model_path(f).c_str(), params));
  ASSERT_TRUE(model) << model_path(f);
  llama_cpp::Tokenizer tokenizer(model.get(), true);
  EXPECT_FALSE(tokenizer.uses_fallback_template()) << f.name;
  const auto messages = conversation(f.system);
  const std::string prompt = tokenizer.render_chat(messages);
  EXPECT_EQ(prompt, f.expected) << f.name << " rendered with " << tokenizer.chat_format_name();

  // As the engine tokenizes it: BOS once at the start where the format starts with one.
  const auto tokens = tokenizer.tokenize(prompt, true, true);
  ASSERT_GE(tokens.size(), 2u);
  const llama_token bos = llama_vocab_bos(tokenizer.vocab());
  if (f.bos_first) {
    EXPECT_EQ(tokens[0], bos) << f.name;
    EXPECT_NE(tokens[1], bos) << f.name;
  }
}

TEST_P(LlamaFamilyTest, LoadsAndGeneratesGreedily) {
  const Family& f = GetParam();
  auto engine =
      load_engine(model_path(f), "llm", {{"parallel", 1}, {"ctx_size", 256}, {"threads", 1}});
  ASSERT_TRUE(engine);
  protocol::ChatRequest req;
  req.messages = conversation(f.system);
  req.gen.max_tokens = 6;
  req.gen.sampling.temperature = 0.0f;
  CallContext ctx;
  auto first = run(engine->chat(req, nullptr, ctx));
  ASSERT_TRUE(first) << f.name << ": " << first.error().message;
  ASSERT_EQ(first->choices.size(), 1u);
  EXPECT_GT(first->usage.prompt_tokens, 10) << f.name;
  EXPECT_GT(first->usage.completion_tokens, 0) << f.name;
  // Greedy decoding is deterministic.
  auto second = run(engine->chat(req, nullptr, ctx));
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->choices[0].text, first->choices[0].text) << f.name;
  run(engine->unload());
}

// params.chat_template overrides the GGUF's template, in the tokenizer and through the engine.
TEST(LlamaChatTemplateParamTest, OverridesTheGgufTemplate) {
  const Family& vicuna = kFamilies[0];
  const Family& chatml = kFamilies[10];  // orca2: the same conversation in ChatML
  ASSERT_STREQ(vicuna.name, "vicuna");
  ASSERT_STREQ(chatml.name, "orca2");
  llama_cpp::init_llama_backend();
  auto params = llama_model_default_params();
  params.vocab_only = true;
  std::unique_ptr<llama_model, ModelDeleter> model(
      llama_model_load_from_file(model_path(vicuna).c_str(), params));
  ASSERT_TRUE(model);
  llama_cpp::Tokenizer tokenizer(model.get(), true, "chatml");
  const auto messages = conversation(true);
  const std::string prompt = tokenizer.render_chat(messages);
  EXPECT_EQ(prompt, chatml.expected);
  const auto chatml_tokens = tokenizer.tokenize(prompt, true, true).size();
  const auto vicuna_tokens = tokenizer.tokenize(vicuna.expected, true, true).size();
  ASSERT_NE(chatml_tokens, vicuna_tokens);

  auto engine = load_engine(
      model_path(vicuna), "llm",
      {{"parallel", 1}, {"ctx_size", 256}, {"threads", 1}, {"chat_template", "chatml"}});
  ASSERT_TRUE(engine);
  protocol::ChatRequest req;
  req.messages = messages;
  req.gen.max_tokens = 1;
  req.gen.sampling.temperature = 0.0f;
  CallContext ctx;
  auto result = run(engine->chat(req, nullptr, ctx));
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->usage.prompt_tokens, static_cast<int>(chatml_tokens));
  run(engine->unload());
}

INSTANTIATE_TEST_SUITE_P(Families, LlamaFamilyTest, ::testing::ValuesIn(kFamilies),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace smmf::engines::test
