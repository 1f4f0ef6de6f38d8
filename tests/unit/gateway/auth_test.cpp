#include "gateway/auth.h"

#include <gtest/gtest.h>

#include "gateway/api_keys.h"

namespace smmf::gateway {
namespace {

ApiKeyConfig key(std::string name, std::string secret, std::vector<std::string> scopes,
                 std::vector<std::string> models = {}) {
  ApiKeyConfig k;
  k.name = std::move(name);
  k.hash = hash_api_key(secret);
  k.scopes = std::move(scopes);
  k.models = std::move(models);
  return k;
}

std::vector<ApiKeyConfig> some_keys() {
  return {key("user", "user-secret-0123456789", {"inference"}, {"tiny-chat"}),
          key("ops", "ops-secret-0123456789", {"admin"}),
          key("both", "both-secret-0123456789", {"inference", "admin"})};
}

TEST(Auth, ScopesByPath) {
  Authenticator a({}, "");
  EXPECT_EQ(a.required_scope("/healthz"), Scope::kPublic);
  EXPECT_EQ(a.required_scope("/health"), Scope::kPublic);
  EXPECT_EQ(a.required_scope("/healthzz"), Scope::kAdmin);
  EXPECT_EQ(a.required_scope("/v1/chat/completions"), Scope::kInference);
  EXPECT_EQ(a.required_scope("/v1/models"), Scope::kInference);
  EXPECT_EQ(a.required_scope("/api/v1/instances"), Scope::kAdmin);
  EXPECT_EQ(a.required_scope("/metrics"), Scope::kAdmin);
  a.add_public_prefix("/ui/");
  EXPECT_EQ(a.required_scope("/ui/index.html"), Scope::kPublic);
}

TEST(Auth, NoKeysNoTokenIsOpen) {
  Authenticator a({}, "");
  EXPECT_FALSE(a.enabled());
  for (auto s : {Scope::kInference, Scope::kAdmin}) {
    auto c = a.authenticate("", "", "", s);
    ASSERT_TRUE(c);
    EXPECT_TRUE((*c)->name.empty());
    // Clients that always send some key (the OpenAI SDKs) are not refused either.
    EXPECT_TRUE(a.authenticate("Bearer sk-anything", "", "", s));
  }
}

TEST(Auth, KeysViaBearerOrApiKeyHeader) {
  Authenticator a(some_keys(), "");
  auto c = a.authenticate("Bearer user-secret-0123456789", "", "", Scope::kInference);
  ASSERT_TRUE(c);
  EXPECT_EQ((*c)->name, "user");
  c = a.authenticate("bearer   user-secret-0123456789 ", "", "", Scope::kInference);
  ASSERT_TRUE(c);
  c = a.authenticate("", "user-secret-0123456789", "", Scope::kInference);
  ASSERT_TRUE(c);
  EXPECT_EQ((*c)->name, "user");
  EXPECT_TRUE((*c)->allows("tiny-chat"));
  EXPECT_FALSE((*c)->allows("tiny-embed"));
}

TEST(Auth, MissingOrWrongKeyIs401) {
  Authenticator a(some_keys(), "");
  for (auto [authz, api_key] : {std::pair{"", ""}, std::pair{"Bearer nope-0123456789xxxxx", ""},
                                std::pair{"", "nope"}, std::pair{"Basic dXNlcjpwYXNz", ""}}) {
    auto c = a.authenticate(authz, api_key, "", Scope::kInference);
    ASSERT_FALSE(c) << authz << api_key;
    EXPECT_EQ(c.error().code, ErrorCode::kUnauthenticated);
  }
}

TEST(Auth, WrongScopeIs403) {
  Authenticator a(some_keys(), "");
  auto c = a.authenticate("Bearer user-secret-0123456789", "", "", Scope::kAdmin);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(c.error().message.find("'admin'"), std::string::npos);
  c = a.authenticate("Bearer ops-secret-0123456789", "", "", Scope::kInference);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kPermissionDenied);
  EXPECT_TRUE(a.authenticate("Bearer both-secret-0123456789", "", "", Scope::kAdmin));
  EXPECT_TRUE(a.authenticate("Bearer both-secret-0123456789", "", "", Scope::kInference));
}

TEST(Auth, ClusterTokenAloneClosesAdminRoutesOnly) {
  Authenticator a({}, "cluster-secret");
  EXPECT_TRUE(a.enabled());
  EXPECT_TRUE(a.authenticate("", "", "", Scope::kInference));
  auto c = a.authenticate("", "", "", Scope::kAdmin);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kUnauthenticated);
  c = a.authenticate("", "", "cluster-secret", Scope::kAdmin);
  ASSERT_TRUE(c);
  EXPECT_EQ((*c)->name, "cluster");
  EXPECT_TRUE(a.authenticate("Bearer cluster-secret", "", "", Scope::kAdmin));
  c = a.authenticate("", "", "cluster-secreT", Scope::kAdmin);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kUnauthenticated);
  // A wrong token is refused even where no credential is needed: it is a misconfiguration.
  EXPECT_FALSE(a.authenticate("", "", "wrong", Scope::kInference));
}

TEST(Auth, ClusterTokenHasEveryScopeAndNoLimits) {
  auto keys = some_keys();
  keys[0].requests_per_minute = 1;
  Authenticator a(keys, "cluster-secret");
  for (auto s : {Scope::kInference, Scope::kAdmin}) {
    auto c = a.authenticate("", "", "cluster-secret", s);
    ASSERT_TRUE(c);
    EXPECT_EQ((*c)->limiter, nullptr);
    EXPECT_TRUE((*c)->allows("anything"));
  }
  auto u = a.authenticate("Bearer user-secret-0123456789", "", "", Scope::kInference);
  ASSERT_TRUE(u);
  EXPECT_NE((*u)->limiter, nullptr);
}

}  // namespace
}  // namespace smmf::gateway
