// The openai_compat preset table and factory: URL and auth of every preset, Azure's URL forms,
// quirk overrides, secrets from files, and config errors that never echo a secret.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cstdio>
#include <fstream>
#include <set>

#include "engines/engine_factory.h"
#include "engines/openai_compat/openai_engine.h"
#include "engines/openai_compat/presets.h"
#include "protocol/openai_client_json.h"

namespace smmf::engines::openai_compat {
namespace {
namespace json = boost::json;

class PresetFactory : public testing::Test {
 protected:
  void SetUp() override {
    http_ = std::make_shared<net::HttpClient>(ioc_.get_executor());
    register_builtin_engines(registry_, http_);
  }
  Result<std::shared_ptr<Engine>> make(std::string_view params_json) {
    ModelConfig cfg;
    cfg.name = "m";
    cfg.engine = "openai_compat";
    cfg.origin = "test.toml: models[0]";
    cfg.params = json::parse(params_json).as_object();
    return registry_.create(cfg);
  }
  const OpenAiEngineOptions& opts(const std::shared_ptr<Engine>& e) {
    return std::dynamic_pointer_cast<OpenAiEngine>(e)->options();
  }
  boost::asio::io_context ioc_;
  std::shared_ptr<net::HttpClient> http_;
  EngineRegistry registry_;
};

TEST(Presets, TableIsCompleteAndWellFormed) {
  std::set<std::string_view> names;
  for (const auto& p : presets()) {
    EXPECT_TRUE(names.insert(p.name).second) << "duplicate preset " << p.name;
    if (p.name == "azure") continue;
    auto url = net::parse_url(p.base_url);
    ASSERT_TRUE(url) << p.name;
    // Cloud APIs over https with a key; local servers over http on localhost without one.
    EXPECT_EQ(url->tls, p.needs_key) << p.name;
    if (!p.needs_key) {
      EXPECT_EQ(url->host, "localhost") << p.name;
    }
  }
  for (std::string_view n :
       {"openai",     "azure",  "deepseek", "moonshot",    "tongyi",       "zhipu",   "baichuan",
        "spark",      "wenxin", "yi",       "siliconflow", "mistral",      "groq",    "together",
        "openrouter", "ollama", "vllm",     "sglang",      "llama-server", "lmstudio"})
    EXPECT_TRUE(names.count(n)) << n;
  EXPECT_EQ(find_preset("zhipu")->base_url, "https://open.bigmodel.cn/api/paas/v4");
  EXPECT_EQ(find_preset("tongyi")->base_url, "https://dashscope.aliyuncs.com/compatible-mode/v1");
  EXPECT_EQ(find_preset("wenxin")->base_url, "https://qianfan.baidubce.com/v2");
  EXPECT_EQ(find_preset("spark")->base_url, "https://spark-api-open.xf-yun.com/v1");
  EXPECT_EQ(find_preset("ollama")->base_url, "http://localhost:11434/v1");
  EXPECT_EQ(find_preset("nope"), nullptr);
}

boost::json::object request_of(const protocol::ChatRequest& r, std::string_view model, bool stream,
                               const protocol::UpstreamDialect& d) {
  return boost::json::parse(protocol::chat_request_text(r, model, stream, d)).as_object();
}

TEST(Presets, DialectShapesTheRequest) {
  protocol::ChatRequest r;
  r.messages.push_back({"user", "hi", ""});
  r.gen.max_tokens = 7;
  r.gen.sampling.top_k = 5;
  r.gen.sampling.seed = 42;
  r.gen.user = "u1";
  auto openai = request_of(r, "gpt", true, find_preset("openai")->dialect);
  EXPECT_EQ(openai.at("max_completion_tokens").as_int64(), 7);
  EXPECT_FALSE(openai.contains("max_tokens"));
  EXPECT_FALSE(openai.contains("top_k"));
  EXPECT_TRUE(openai.contains("stream_options"));
  auto mistral = request_of(r, "m", true, find_preset("mistral")->dialect);
  EXPECT_EQ(mistral.at("max_tokens").as_int64(), 7);
  EXPECT_EQ(mistral.at("random_seed").to_number<int64_t>(), 42);
  EXPECT_FALSE(mistral.contains("seed"));
  EXPECT_FALSE(mistral.contains("user"));
  EXPECT_FALSE(mistral.contains("stream_options"));
  r.gen.sampling.temperature = 1.5f;
  auto glm = request_of(r, "glm", true, find_preset("zhipu")->dialect);
  EXPECT_DOUBLE_EQ(glm.at("temperature").to_number<double>(), 1.0);  // clamped to GLM's range
  EXPECT_FALSE(glm.contains("stream_options"));
  auto vllm = request_of(r, "m", false, find_preset("vllm")->dialect);
  EXPECT_DOUBLE_EQ(vllm.at("temperature").to_number<double>(), 1.5);
  EXPECT_EQ(vllm.at("top_k").as_int64(), 5);
  EXPECT_FALSE(vllm.contains("stream"));
}

TEST_F(PresetFactory, EveryPresetMapsUrlAndAuth) {
  for (const auto& p : presets()) {
    if (p.name == "azure") continue;
    auto e = make(fmt::format(R"({{"preset":"{}","api_key":"k-123"}})", p.name));
    ASSERT_TRUE(e) << p.name << ": " << e.error().message;
    const auto& o = opts(*e);
    auto want = *net::parse_url(p.base_url);
    EXPECT_EQ(o.base.origin(), want.origin()) << p.name;
    EXPECT_EQ(o.base.path, want.path) << p.name;
    EXPECT_EQ(o.dialect.max_tokens_field, p.dialect.max_tokens_field) << p.name;
    EXPECT_EQ(o.auth_header, p.auth_header);
    EXPECT_EQ(o.auth_prefix, p.auth_prefix);
    EXPECT_EQ(o.api_key, "k-123");
  }
  // base_url overrides a preset; its quirks stay.
  auto e = make(R"({"preset":"mistral","api_key":"k","base_url":"http://127.0.0.1:9/v1"})");
  ASSERT_TRUE(e);
  EXPECT_EQ(opts(*e).base.path, "/v1");
  EXPECT_EQ(opts(*e).dialect.seed_field, "random_seed");
  auto over = make(R"({"base_url":"http://h/v1","max_tokens_field":"max_completion_tokens",
                       "stream_usage":false})");
  ASSERT_TRUE(over);
  EXPECT_EQ(opts(*over).dialect.max_tokens_field, "max_completion_tokens");
  EXPECT_FALSE(opts(*over).dialect.stream_usage);
}

TEST_F(PresetFactory, AzureUrlForms) {
  auto dep = make(R"({"preset":"azure","api_key":"k","endpoint":"https://r.openai.azure.com/",
                      "deployment":"gpt 4o"})");
  ASSERT_TRUE(dep) << dep.error().message;
  EXPECT_EQ(opts(*dep).base.host, "r.openai.azure.com");
  EXPECT_EQ(opts(*dep).base.path, "/openai/deployments/gpt%204o");
  EXPECT_EQ(opts(*dep).query, "?api-version=2024-10-21");
  EXPECT_EQ(opts(*dep).auth_header, "api-key");
  EXPECT_EQ(opts(*dep).auth_prefix, "");
  auto ver = make(R"({"preset":"azure","api_key":"k","endpoint":"https://r.openai.azure.com",
                      "deployment":"d","api_version":"2025-04-01-preview"})");
  ASSERT_TRUE(ver);
  EXPECT_EQ(opts(*ver).query, "?api-version=2025-04-01-preview");
  auto v1 = make(R"({"preset":"azure","api_key":"k","endpoint":"https://r.openai.azure.com"})");
  ASSERT_TRUE(v1);
  EXPECT_EQ(opts(*v1).base.path, "/openai/v1");
  EXPECT_EQ(opts(*v1).query, "");
  auto missing = make(R"({"preset":"azure","api_key":"k"})");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().param, "params.endpoint");
  auto stray = make(R"({"base_url":"http://h/v1","deployment":"d"})");
  ASSERT_FALSE(stray);
  EXPECT_EQ(stray.error().param, "params.deployment");
}

TEST_F(PresetFactory, ConfigErrors) {
  auto unknown = make(R"({"preset":"nope"})");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("deepseek"), std::string::npos);
  auto nokey = make(R"({"preset":"openai"})");
  ASSERT_FALSE(nokey);
  EXPECT_EQ(nokey.error().param, "params.api_key");
  EXPECT_TRUE(make(R"({"preset":"ollama"})"));  // local servers need no key
  auto nourl = make(R"({})");
  ASSERT_FALSE(nourl);
  EXPECT_EQ(nourl.error().param, "params.base_url");
  auto badms = make(R"({"base_url":"http://h/v1","connect_timeout_ms":0})");
  ASSERT_FALSE(badms);
  EXPECT_EQ(badms.error().param, "params.connect_timeout_ms");
  auto badproxy = make(R"({"base_url":"http://h/v1","proxy":"socks5://secret-pw@p:1"})");
  ASSERT_FALSE(badproxy);
  EXPECT_EQ(badproxy.error().message.find("secret-pw"), std::string::npos);
  auto cafile = make(R"({"base_url":"https://h/v1","ca_file":"/nonexistent/ca.pem"})");
  ASSERT_FALSE(cafile);
  EXPECT_EQ(cafile.error().param, "params.ca_file");
  auto badkey = make(R"({"base_url":"http://h/v1","api_key":7})");
  ASSERT_FALSE(badkey);
}

TEST_F(PresetFactory, ApiKeyFileAndNetworkParams) {
  std::string path = testing::TempDir() + "/smmf_key_test.txt";
  {
    std::ofstream f(path);
    f << "  sk-from-file\n";
  }
  auto e = make(fmt::format(R"({{"base_url":"http://h/v1","api_key_file":"{}",
                                 "proxy":"http://127.0.0.1:3128","no_proxy":"x.y",
                                 "idle_timeout_ms":1234,"tls_verify":false}})",
                            path));
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(opts(*e).api_key, "sk-from-file");
  auto both =
      make(fmt::format(R"({{"base_url":"http://h/v1","api_key":"a","api_key_file":"{}"}})", path));
  ASSERT_FALSE(both);
  std::remove(path.c_str());
  auto gone = make(fmt::format(R"({{"base_url":"http://h/v1","api_key_file":"{}"}})", path));
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().param, "params.api_key_file");
}

}  // namespace
}  // namespace smmf::engines::openai_compat
