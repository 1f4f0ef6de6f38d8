#include "common/config.h"
#include "common/duration.h"

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
                    BadConfig{"[server\n", "bad.toml:1"},
                    BadConfig{"[[models]]\nname = \"a\"\nload = \"lazy\"\n", "models[0].load"},
                    BadConfig{"[[models]]\nname = \"a\"\nidle_unload_after = \"10 min\"\n",
                              "bad.toml:3: 'models[0].idle_unload_after'"},
                    BadConfig{"[[models]]\nname = \"a\"\nidle_unload_after = 600\n",
                              "'models[0].idle_unload_after' must be a duration"},
                    BadConfig{"[worker]\nload_timeout = \"-1s\"\n", "'worker.load_timeout'"},
                    BadConfig{"[worker]\nmax_loaded_models = -1\n", "'worker.max_loaded_models'"}));

TEST(Config, OnDemandLoadingKeys) {
  auto cfg = parse_config(R"(
[worker]
max_loaded_models = 2
max_loaded_bytes = 1000000
load_timeout = "30s"
max_load_waiters = 8

[[models]]
name = "a"
load = "on_demand"
idle_unload_after = "10m"

[[models]]
name = "b"
)",
                          "t.toml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg->worker.max_loaded_models, 2);
  EXPECT_EQ(cfg->worker.max_loaded_bytes, 1000000u);
  EXPECT_EQ(cfg->worker.load_timeout, std::chrono::seconds(30));
  EXPECT_EQ(cfg->worker.max_load_waiters, 8);
  EXPECT_TRUE(cfg->models[0].on_demand);
  EXPECT_EQ(cfg->models[0].idle_unload_after, std::chrono::minutes(10));
  EXPECT_FALSE(cfg->models[1].on_demand);
  EXPECT_EQ(cfg->models[1].idle_unload_after.count(), 0);
}

TEST(Duration, Forms) {
  EXPECT_EQ(*parse_duration("250ms"), std::chrono::milliseconds(250));
  EXPECT_EQ(*parse_duration("30s"), std::chrono::seconds(30));
  EXPECT_EQ(*parse_duration("10m"), std::chrono::minutes(10));
  EXPECT_EQ(*parse_duration("2h"), std::chrono::hours(2));
  EXPECT_EQ(parse_duration("0")->count(), 0);
  for (auto bad : {"", "5", "s", "-1s", "1.5s", "10 m", "3d", "99999999999999h"})
    EXPECT_FALSE(parse_duration(bad)) << bad;
}

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
