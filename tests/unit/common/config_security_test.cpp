// The security settings of the config file: [[keys]], [cluster], TLS and CORS in [server].
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "common/config.h"

namespace smmf {
namespace {

const std::string kHash = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const std::string kHash2 =
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

TEST(ConfigSecurity, KeysClusterTlsCors) {
  setenv("SMMF_TEST_CLUSTER_TOKEN", "tok-123", 1);
  auto cfg = parse_config(R"(
[server]
tls_cert = "/etc/smmf/cert.pem"
tls_key = "/etc/smmf/key.pem"
cors_origins = ["https://app.example", "http://localhost:3000"]
request_timeout = 120

[cluster]
token = "${SMMF_TEST_CLUSTER_TOKEN}"
ca_file = "/etc/smmf/ca.pem"

[[keys]]
name = "alice"
hash = ")" + kHash + R"("
models = ["tiny-chat"]
requests_per_minute = 60
tokens_per_minute = 100000
max_concurrent = 4

[[keys]]
name = "ops"
hash = ")" + kHash2 + R"("
scopes = ["admin", "inference"]
)",
                          "sec.toml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg->server.tls_cert, "/etc/smmf/cert.pem");
  EXPECT_EQ(cfg->server.tls_key, "/etc/smmf/key.pem");
  EXPECT_EQ(cfg->server.cors_origins.size(), 2u);
  EXPECT_EQ(cfg->server.request_timeout, std::chrono::seconds(120));
  EXPECT_EQ(cfg->cluster.token, "tok-123");
  EXPECT_EQ(cfg->cluster.ca_file, "/etc/smmf/ca.pem");
  ASSERT_EQ(cfg->keys.size(), 2u);
  EXPECT_EQ(cfg->keys[0].name, "alice");
  EXPECT_EQ(cfg->keys[0].scopes, std::vector<std::string>{"inference"});  // the default
  EXPECT_EQ(cfg->keys[0].models, std::vector<std::string>{"tiny-chat"});
  EXPECT_EQ(cfg->keys[0].requests_per_minute, 60u);
  EXPECT_EQ(cfg->keys[0].tokens_per_minute, 100000u);
  EXPECT_EQ(cfg->keys[0].max_concurrent, 4u);
  EXPECT_EQ(cfg->keys[1].scopes, (std::vector<std::string>{"admin", "inference"}));
  EXPECT_EQ(cfg->keys[1].requests_per_minute, 0u);
}

TEST(ConfigSecurity, Defaults) {
  auto cfg = parse_config("", "empty.toml");
  ASSERT_TRUE(cfg);
  EXPECT_TRUE(cfg->keys.empty());
  EXPECT_TRUE(cfg->cluster.token.empty());
  EXPECT_TRUE(cfg->server.tls_cert.empty());
  EXPECT_TRUE(cfg->server.cors_origins.empty());
  EXPECT_EQ(cfg->server.request_timeout, std::chrono::seconds(600));
}

struct Bad {
  std::string text;
  std::string expect;
};

class ConfigSecurityErrors : public testing::TestWithParam<Bad> {};

TEST_P(ConfigSecurityErrors, FailWithKeyAndReason) {
  auto cfg = parse_config(GetParam().text, "bad.toml");
  ASSERT_FALSE(cfg);
  EXPECT_NE(cfg.error().message.find(GetParam().expect), std::string::npos) << cfg.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    All, ConfigSecurityErrors,
    testing::Values(
        Bad{"[[keys]]\nhash = \"" + kHash + "\"\n", "'keys[0].name' is required"},
        Bad{"[[keys]]\nname = \"a\"\nhash = \"plain-key\"\n", "'keys[0].hash' must be"},
        Bad{"[[keys]]\nname = \"a\"\nhash = \"sha256:ABC\"\n", "'keys[0].hash' must be"},
        Bad{"[[keys]]\nname = \"a\"\nhash = \"" + kHash + "\"\nscopes = [\"root\"]\n",
            "unknown scope 'root'"},
        Bad{"[[keys]]\nname = \"a\"\nhash = \"" + kHash + "\"\nscopes = []\n",
            "at least one scope"},
        Bad{"[[keys]]\nname = \"a\"\nhash = \"" + kHash + "\"\n[[keys]]\nname = \"a\"\nhash = \"" +
                kHash2 + "\"\n",
            "duplicates key 'a'"},
        Bad{"[[keys]]\nname = \"a\"\nhash = \"" + kHash + "\"\n[[keys]]\nname = \"b\"\nhash = \"" +
                kHash + "\"\n",
            "also the hash of key 'a'"},
        Bad{"[[keys]]\nname = \"a\"\nhash = \"" + kHash + "\"\nrpm = 3\n",
            "'keys[0].rpm' is not a known setting"},
        Bad{"[[keys]]\nname = \"a\"\nhash = \"" + kHash + "\"\nrequests_per_minute = -1\n",
            "keys[0].requests_per_minute"},
        Bad{"keys = 3\n", "'keys' must be an array of tables"},
        Bad{"[cluster]\ntokn = \"x\"\n", "'cluster.tokn' is not a known setting"},
        Bad{"[server]\ntls_cert = \"c.pem\"\n", "must be set together"},
        Bad{"[server]\ncors_origins = \"*\"\n", "must be an array of strings"}));

}  // namespace
}  // namespace smmf
