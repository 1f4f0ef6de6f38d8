#include <gtest/gtest.h>

#include "protocol/ndjson.h"

namespace smmf::protocol {
namespace {

TEST(Ndjson, SplitsAcrossPiecesAndLineEnds) {
  NdjsonParser p;
  std::vector<std::string> out;
  ASSERT_TRUE(p.feed("{\"a\":1}\n{\"b\"", out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], "{\"a\":1}");
  ASSERT_TRUE(p.feed(":2}\r\n\n  \n{\"c\":3}", out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1], "{\"b\":2}");
  ASSERT_TRUE(p.finish(out));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[2], "{\"c\":3}");
}

TEST(Ndjson, LineLimit) {
  NdjsonParser p(8);
  std::vector<std::string> out;
  EXPECT_TRUE(p.feed("1234\n", out));
  EXPECT_FALSE(p.feed("123456789", out));
  EXPECT_TRUE(p.failed());
  EXPECT_FALSE(p.feed("\n", out));
}

}  // namespace
}  // namespace smmf::protocol
