#include "net/cors.h"

#include <gtest/gtest.h>

namespace smmf::net {
namespace {

Request preflight(std::string origin, std::string headers = {}) {
  Request r{http::verb::options, "/v1/chat/completions", 11};
  r.set(http::field::origin, origin);
  r.set(http::field::access_control_request_method, "POST");
  if (!headers.empty()) r.set(http::field::access_control_request_headers, headers);
  return r;
}

TEST(Cors, OffWhenNoOrigins) {
  Cors c;
  EXPECT_FALSE(c.enabled());
  EXPECT_TRUE(c.allow_origin("https://a.example").empty());
  Request r{http::verb::get, "/v1/models", 11};
  r.set(http::field::origin, "https://a.example");
  EXPECT_TRUE(c.response_headers(r).empty());
}

TEST(Cors, ListedOriginsOnly) {
  Cors c({"https://a.example/", "http://localhost:3000"});
  EXPECT_EQ(c.allow_origin("https://a.example"), "https://a.example");
  EXPECT_EQ(c.allow_origin("http://localhost:3000"), "http://localhost:3000");
  EXPECT_TRUE(c.allow_origin("https://b.example").empty());
  EXPECT_TRUE(c.allow_origin("").empty());

  auto ok = c.preflight(preflight("https://a.example", "authorization, content-type"));
  EXPECT_EQ(ok.result(), http::status::no_content);
  EXPECT_EQ(ok[http::field::access_control_allow_origin], "https://a.example");
  EXPECT_EQ(ok[http::field::access_control_allow_headers], "authorization, content-type");
  EXPECT_NE(ok[http::field::access_control_allow_methods].find("POST"), std::string::npos);
  EXPECT_EQ(ok[http::field::vary], "Origin");

  auto no = c.preflight(preflight("https://b.example"));
  EXPECT_EQ(no.result(), http::status::forbidden);
  EXPECT_EQ(no.find(http::field::access_control_allow_origin), no.end());
}

TEST(Cors, AnyOrigin) {
  Cors c({"*"});
  EXPECT_EQ(c.allow_origin("https://whatever.example"), "*");
  Request r{http::verb::post, "/v1/chat/completions", 11};
  r.set(http::field::origin, "https://whatever.example");
  auto h = c.response_headers(r);
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].second, "*");
  EXPECT_NE(h[1].second.find("retry-after"), std::string::npos);
  auto p = c.preflight(preflight("https://x.example"));
  EXPECT_FALSE(p[http::field::access_control_allow_headers].empty());
}

TEST(Cors, PreflightNeedsOriginAndRequestMethod) {
  Request r{http::verb::options, "/v1/models", 11};
  EXPECT_FALSE(Cors::is_preflight(r));
  r.set(http::field::origin, "https://a.example");
  EXPECT_FALSE(Cors::is_preflight(r));
  r.set(http::field::access_control_request_method, "GET");
  EXPECT_TRUE(Cors::is_preflight(r));
}

}  // namespace
}  // namespace smmf::net
