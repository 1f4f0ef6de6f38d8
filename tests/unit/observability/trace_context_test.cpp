#include "protocol/trace_context.h"

#include <gtest/gtest.h>

namespace smmf::protocol {

TEST(TraceContext, ParsesAValidHeader) {
  auto ctx = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(ctx);
  EXPECT_EQ(ctx->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(ctx->span_id, "00f067aa0ba902b7");
  EXPECT_EQ(ctx->flags, 1);
  EXPECT_TRUE(ctx->valid());
  EXPECT_FALSE(TraceContext{}.valid());
  EXPECT_EQ(format_traceparent(TraceContext{}), "");  // nothing to send
  EXPECT_TRUE(TraceId("abc").empty());                // not 32 digits: unset
  EXPECT_EQ(format_traceparent(*ctx), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
}

TEST(TraceContext, RejectsMalformedHeaders) {
  for (const char* h : {
           "",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",       // no flags
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",    // upper case
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",    // zero trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",    // zero span id
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // forbidden version
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  // v00 has no extra
           "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
       })
    EXPECT_FALSE(parse_traceparent(h)) << h;
  // A later version may carry more fields.
  EXPECT_TRUE(parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-extra"));
}

TEST(TraceContext, NewIdsAreValidAndDistinct) {
  auto a = new_trace_id(), b = new_trace_id();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  EXPECT_NE(random_trace_id(), random_trace_id());
  auto s = new_span_id();
  EXPECT_EQ(s.size(), 16u);
  EXPECT_TRUE(parse_traceparent(format_traceparent(TraceContext{TraceId(a), SpanId(s), 1})));
}

}  // namespace smmf::protocol
