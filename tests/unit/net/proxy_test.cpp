// Proxy URL parsing, NO_PROXY matching and proxy selection (the tunnel itself is exercised by
// tests/integration/providers_network.test.mjs through a real CONNECT proxy).
#include <gtest/gtest.h>

#include <cstdlib>

#include "net/http_client.h"
#include "net/proxy.h"

namespace smmf::net {
namespace {

TEST(Proxy, ParsesUrlsAndCredentials) {
  auto p = parse_proxy_url("http://user:p%40ss@proxy.local:3128");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->host, "proxy.local");
  EXPECT_EQ(p->port, 3128);
  EXPECT_EQ(p->authorization, "Basic dXNlcjpwQHNz");  // base64("user:p@ss")
  EXPECT_EQ(p->origin(), "http://proxy.local:3128");  // never the credentials
  auto bare = parse_proxy_url("10.0.0.1:8080");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->port, 8080);
  EXPECT_TRUE(bare->authorization.empty());
  EXPECT_FALSE(parse_proxy_url("https://proxy:443"));
  EXPECT_FALSE(parse_proxy_url("socks5://proxy:1080"));
}

TEST(Proxy, NoProxyMatching) {
  EXPECT_TRUE(no_proxy_matches("example.com", "example.com", 443));
  EXPECT_TRUE(no_proxy_matches("example.com", "api.example.com", 443));
  EXPECT_TRUE(no_proxy_matches(".example.com", "api.example.com", 443));
  EXPECT_FALSE(no_proxy_matches("example.com", "badexample.com", 443));
  EXPECT_TRUE(no_proxy_matches(" foo , 127.0.0.1 ", "127.0.0.1", 80));
  EXPECT_FALSE(no_proxy_matches("0.0.1", "127.0.0.1", 80));  // IPs match exactly
  EXPECT_TRUE(no_proxy_matches("*", "anything", 1));
  EXPECT_TRUE(no_proxy_matches("host:8443", "host", 8443));
  EXPECT_FALSE(no_proxy_matches("host:8443", "host", 443));
  EXPECT_TRUE(no_proxy_matches("[::1]", "::1", 80));
  EXPECT_TRUE(no_proxy_matches("LOCALHOST", "localhost", 80));
  EXPECT_FALSE(no_proxy_matches("", "localhost", 80));
}

TEST(Proxy, SelectsBySchemeAndNoProxy) {
  auto s = ProxySettings::single("http://127.0.0.1:9", "skip.me");
  ASSERT_TRUE(s);
  auto https = *parse_url("https://api.example.com/v1");
  auto http = *parse_url("http://api.example.com/v1");
  auto skipped = *parse_url("https://x.skip.me/v1");
  EXPECT_NE(s->select(https), nullptr);
  EXPECT_NE(s->select(http), nullptr);
  EXPECT_EQ(s->select(skipped), nullptr);
  ProxySettings only_https;
  only_https.https = *parse_proxy_url("http://p:1");
  EXPECT_EQ(only_https.select(http), nullptr);
  EXPECT_NE(only_https.select(https), nullptr);
}

TEST(Proxy, FromEnvironmentLowerCaseFirst) {
  ::setenv("https_proxy", "http://lower:1", 1);
  ::setenv("HTTPS_PROXY", "http://upper:2", 1);
  ::setenv("NO_PROXY", "a.b", 1);
  ::unsetenv("http_proxy");
  ::unsetenv("HTTP_PROXY");
  ::unsetenv("no_proxy");
  auto s = ProxySettings::from_env();
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->https);
  EXPECT_EQ(s->https->host, "lower");
  EXPECT_FALSE(s->http);
  EXPECT_EQ(s->no_proxy, "a.b");
  ::setenv("https_proxy", "ftp://bad", 1);
  auto bad = ProxySettings::from_env();
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("https_proxy"), std::string::npos);
  EXPECT_EQ(bad.error().message.find("ftp://bad"), std::string::npos);
  ::unsetenv("https_proxy");
  ::unsetenv("HTTPS_PROXY");
  ::unsetenv("NO_PROXY");
}

}  // namespace
}  // namespace smmf::net
