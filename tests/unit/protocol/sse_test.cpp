#include "protocol/sse.h"

#include <gtest/gtest.h>

namespace smmf::protocol {
namespace {

TEST(SseFormat, SingleAndMultiLine) {
  EXPECT_EQ(format_sse("{\"a\":1}"), "data: {\"a\":1}\n\n");
  EXPECT_EQ(format_sse("a\nb"), "data: a\ndata: b\n\n");
  EXPECT_EQ(format_sse("x", "error"), "event: error\ndata: x\n\n");
  EXPECT_EQ(kSseDone, "data: [DONE]\n\n");
}

TEST(SseParser, RoundTripsFormattedEvents) {
  SseParser p;
  std::vector<SseEvent> out;
  std::string wire = format_sse("one") + format_sse("two\nlines", "custom") + std::string(kSseDone);
  ASSERT_TRUE(p.feed(wire, out));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].data, "one");
  EXPECT_EQ(out[1].data, "two\nlines");
  EXPECT_EQ(out[1].event, "custom");
  EXPECT_EQ(out[2].data, "[DONE]");
}

TEST(SseParser, ByteByByteWithCrlfAndComments) {
  SseParser p;
  std::vector<SseEvent> out;
  std::string wire = ": keep-alive\r\ndata:no-space\r\nid: 7\r\n\r\ndata: b\r\r";
  for (char c : wire) ASSERT_TRUE(p.feed(std::string_view(&c, 1), out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].data, "no-space");
  EXPECT_EQ(out[0].id, "7");
  EXPECT_EQ(out[1].data, "b");
}

TEST(SseParser, IncompleteEventIsHeldBack) {
  SseParser p;
  std::vector<SseEvent> out;
  ASSERT_TRUE(p.feed("data: par", out));
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(p.feed("tial\n\n", out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, "partial");
}

TEST(SseParser, EnforcesEventSizeLimit) {
  SseParser p(16);
  std::vector<SseEvent> out;
  EXPECT_FALSE(p.feed("data: " + std::string(64, 'x'), out));
  EXPECT_TRUE(p.failed());
  EXPECT_FALSE(p.feed("\n\n", out));
}

}  // namespace
}  // namespace smmf::protocol
