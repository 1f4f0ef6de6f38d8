#include "gateway/api_keys.h"

#include <gtest/gtest.h>

#include <set>

namespace smmf::gateway {
namespace {

TEST(ApiKeys, HashIsSha256HexWithPrefix) {
  // FIPS 180-2 test vector.
  EXPECT_EQ(hash_api_key("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hash_api_key(""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_NE(hash_api_key("key-a"), hash_api_key("key-b"));
}

TEST(ApiKeys, GeneratedKeysAreLongRandomAndUrlSafe) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    auto k = generate_api_key();
    ASSERT_TRUE(k);
    EXPECT_TRUE(k->starts_with("smmf-"));
    EXPECT_EQ(k->size(), 5u + 43u);  // 256 bits in base64url without padding
    EXPECT_EQ(k->find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   "0123456789-_",
                                   5),
              std::string::npos);
    seen.insert(*k);
  }
  EXPECT_EQ(seen.size(), 50u);
}

TEST(ApiKeys, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("secret", "secret"));
  EXPECT_FALSE(constant_time_equal("secret", "secreT"));
  EXPECT_FALSE(constant_time_equal("secret", "secret2"));
  EXPECT_FALSE(constant_time_equal("", "x"));
  EXPECT_TRUE(constant_time_equal("", ""));
}

}  // namespace
}  // namespace smmf::gateway
