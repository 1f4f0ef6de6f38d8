#include "common/config.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace smmf {
namespace {

TEST(Config, ParsesTheDesignExample) {
  setenv("SMMF_TEST_KEY", "sk-123", 1);
  auto cfg = parse_config(R"(
[server]
host = "0.0.0.0"
port = 9000
max_body_bytes = 1024
idle_timeout = 5

[log]
level = "debug"

[[models]]
name = "qwen"
type = "llm"
engine = "llama.cpp"
path = "/models/q.gguf"
replicas = 2
params = { ctx_size = 4096, parallel = 4, flash_attn = "auto" }

[[models]]
name = "gpt"
engine = "openai_compat"
params = { api_key = "${SMMF_TEST_KEY}", base = "${SMMF_UNSET_VAR:-http://x}" }
)",
                          "test.toml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg->server.host, "0.0.0.0");
  EXPECT_EQ(cfg->server.port, 9000);
  EXPECT_EQ(cfg->server.max_body_bytes, 1024u);
  EXPECT_EQ(cfg->server.idle_timeout, std::chrono::seconds(5));
  EXPECT_EQ(cfg->log.level, "debug");
  ASSERT_EQ(cfg->models.size(), 2u);
  EXPECT_EQ(cfg->models[0].replicas, 2);
  EXPECT_EQ(cfg->models[0].params.at("ctx_size").as_int64(), 4096);
  EXPECT_EQ(cfg->models[0].params.at("flash_attn").as_string(), "auto");
  EXPECT_EQ(cfg->models[1].type, "llm");
  EXPECT_EQ(cfg->models[1].params.at("api_key").as_string(), "sk-123");
  EXPECT_EQ(cfg->models[1].params.at("base").as_string(), "http://x");
  EXPECT_EQ(cfg->models[1].origin, "test.toml: models[1]");
}

struct BadConfig {
  const char* text;
  const char* expect_in_message;
};

class ConfigErrors : public testing::TestWithParam<BadConfig> {};

TEST_P(ConfigErrors, FailWithFileLineAndKey) {
  auto cfg = parse_config(GetParam().text, "bad.toml");
  ASSERT_FALSE(cfg);
  EXPECT_NE(cfg.error().message.find(GetParam().expect_in_message), std::string::npos)
      << cfg.error().message;
  EXPECT_NE(cfg.error().message.find("bad.toml"), std::string::npos) << cfg.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    All, ConfigErrors,
    testing::Values(BadConfig{"[server]\nport = \"x\"\n", "'server.port'"},
                    BadConfig{"[server]\nport = 70000\n", "'server.port'"},
                    BadConfig{"[server]\nprot = 1\n", "'server.prot' is not a known setting"},
                    BadConfig{"unknown = 1\n", "'unknown'"},
                    BadConfig{"[[models]]\ntype = \"llm\"\n", "models[0].name"},
                    BadConfig{"[[models]]\nname = \"a\"\ntype = \"chat\"\n", "models[0].type"},
                    BadConfig{"[[models]]\nname = \"a\"\n[[models]]\nname = \"a\"\n", "duplicates"},
                    BadConfig{"[[models]]\nname = \"${SMMF_SURELY_UNSET}\"\n", "SMMF_SURELY_UNSET"},
                    BadConfig{"[server\n", "bad.toml:1"}));

TEST(InterpolateEnv, Forms) {
  setenv("SMMF_T1", "v", 1);
  EXPECT_EQ(*interpolate_env("a${SMMF_T1}b"), "avb");
  EXPECT_EQ(*interpolate_env("$${SMMF_T1}"), "${SMMF_T1}");
  EXPECT_EQ(*interpolate_env("${SMMF_NOPE:-d}"), "d");
  EXPECT_EQ(*interpolate_env("cost $5"), "cost $5");
  EXPECT_FALSE(interpolate_env("${SMMF_NOPE}"));
  EXPECT_FALSE(interpolate_env("${UNCLOSED"));
}

}  // namespace
}  // namespace smmf
