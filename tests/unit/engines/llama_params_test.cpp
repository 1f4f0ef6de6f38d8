#include "engines/llama_cpp/llama_params.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "engines/engine_factory.h"
#include "engines/llama_cpp/llama_engine.h"

namespace smmf::engines::llama_cpp {
namespace {

class LlamaParamsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("smmf_llama_params_test_" + std::to_string(::getpid()) + ".gguf");
    std::ofstream(path_) << "not really a model";
  }
  void TearDown() override { std::filesystem::remove(path_); }

  ModelConfig config(boost::json::object params = {}) const {
    ModelConfig cfg;
    cfg.name = "m";
    cfg.path = path_.string();
    cfg.origin = "smmf.toml: models[0]";
    cfg.params = std::move(params);
    return cfg;
  }

  std::filesystem::path path_;
};

TEST_F(LlamaParamsTest, Defaults) {
  auto p = parse_llama_params(config());
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->type, protocol::ModelType::kLlm);
  EXPECT_EQ(p->max_queue, 256);
  EXPECT_EQ(p->ctx_size, 0);
  EXPECT_EQ(p->flash_attn, FlashAttn::kAuto);
  EXPECT_FALSE(p->seed);
  EXPECT_FALSE(p->max_tokens);
}

TEST_F(LlamaParamsTest, AllKeys) {
  auto p = parse_llama_params(config({{"ctx_size", 8192},
                                      {"parallel", 8},
                                      {"threads", 2},
                                      {"threads_batch", 2},
                                      {"batch_size", 1024},
                                      {"ubatch_size", 256},
                                      {"mmap", false},
                                      {"mlock", true},
                                      {"n_gpu_layers", 0},
                                      {"flash_attn", "on"},
                                      {"cache_type_k", "q8_0"},
                                      {"cache_type_v", "q8_0"},
                                      {"kv_unified", true},
                                      {"max_queue", 10},
                                      {"seed", 42},
                                      {"max_tokens", 100}}));
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->ctx_size, 8192);
  EXPECT_EQ(p->parallel, 8);
  EXPECT_EQ(p->batch_size, 1024);
  EXPECT_EQ(p->ubatch_size, 256);
  EXPECT_EQ(p->mmap, false);
  EXPECT_EQ(p->mlock, true);
  EXPECT_EQ(p->n_gpu_layers, 0);
  EXPECT_EQ(p->flash_attn, FlashAttn::kOn);
  EXPECT_EQ(p->cache_type_k, "q8_0");
  EXPECT_TRUE(p->kv_unified);
  EXPECT_EQ(p->max_queue, 10);
  EXPECT_EQ(p->seed, 42u);
  EXPECT_EQ(p->max_tokens, 100);
}

TEST_F(LlamaParamsTest, ChatTemplate) {
  for (const char* tmpl : {"llama2-chat", "vicuna-v1.1", "chatml", "chatglm3",
                           "{% for m in messages %}<|im_start|>{{ m['role'] }}{% endfor %}"}) {
    auto p = parse_llama_params(config({{"chat_template", tmpl}}));
    ASSERT_TRUE(p) << tmpl << ": " << p.error().message;
    EXPECT_EQ(p->chat_template, tmpl);
  }
  for (const boost::json::value& bad :
       {boost::json::value("no-such-template"), boost::json::value(""), boost::json::value(3)}) {
    auto p = parse_llama_params(config({{"chat_template", bad}}));
    ASSERT_FALSE(p) << bad;
    EXPECT_EQ(p.error().param, "params.chat_template");
  }
  auto unknown = parse_llama_params(config({{"chat_template", "{{ messages }}"}}));
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("llama2-chat"), std::string::npos)
      << unknown.error().message;
}

TEST_F(LlamaParamsTest, FlashAttnAsBool) {
  auto p = parse_llama_params(config({{"flash_attn", false}}));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->flash_attn, FlashAttn::kOff);
}

TEST_F(LlamaParamsTest, UnknownKeyNamesOriginAndKey) {
  auto p = parse_llama_params(config({{"ctx_sise", 10}}));
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(p.error().message.find("smmf.toml: models[0]"), std::string::npos);
  EXPECT_NE(p.error().message.find("ctx_sise"), std::string::npos);
  EXPECT_EQ(p.error().param, "params.ctx_sise");
}

TEST_F(LlamaParamsTest, IllTypedValues) {
  for (auto [key, value] :
       std::vector<std::pair<std::string, boost::json::value>>{{"ctx_size", "big"},
                                                               {"parallel", 0},
                                                               {"parallel", 1.5},
                                                               {"mmap", 1},
                                                               {"flash_attn", "maybe"},
                                                               {"cache_type_k", "q3"},
                                                               {"seed", -1},
                                                               {"max_tokens", 0},
                                                               {"max_queue", -5}}) {
    auto p = parse_llama_params(config({{key, value}}));
    ASSERT_FALSE(p) << key;
    EXPECT_EQ(p.error().code, ErrorCode::kInvalidArgument) << key;
    EXPECT_EQ(p.error().param, "params." + key);
    EXPECT_NE(p.error().message.find("models[0]"), std::string::npos) << p.error().message;
  }
}

TEST_F(LlamaParamsTest, TypeAndPath) {
  auto cfg = config();
  cfg.type = "vision";
  auto p = parse_llama_params(cfg);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().param, "type");

  cfg = config();
  cfg.path = "/nonexistent/model.gguf";
  p = parse_llama_params(cfg);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().param, "path");

  cfg = config();
  cfg.type = "embedding";
  p = parse_llama_params(cfg);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->type, protocol::ModelType::kEmbedding);
}

TEST_F(LlamaParamsTest, RegisteredFactoryValidates) {
  EngineRegistry registry;
  register_llama_cpp(registry);
  ASSERT_EQ(registry.names(), std::vector<std::string>{"llama.cpp"});
  auto bad = config({{"nope", 1}});
  EXPECT_FALSE(registry.create(bad));
  auto engine = registry.create(config());
  ASSERT_TRUE(engine);
  EXPECT_EQ((*engine)->info().engine, "llama.cpp");
  EXPECT_FALSE((*engine)->health());
}

}  // namespace
}  // namespace smmf::engines::llama_cpp
