#include "gateway/rate_limiter.h"

#include <gtest/gtest.h>

namespace smmf::gateway {
namespace {
using namespace std::chrono_literals;

const LimitClock::time_point t0{};

TEST(TokenBucket, StartsFullRefillsContinuouslyAndCaps) {
  TokenBucket b(60, t0);  // one per second
  EXPECT_DOUBLE_EQ(b.level(t0), 60);
  for (int i = 0; i < 60; ++i) EXPECT_TRUE(b.try_take(1, t0));
  EXPECT_FALSE(b.try_take(1, t0));
  EXPECT_EQ(b.wait_for(1, t0), LimitClock::duration(1s));
  EXPECT_FALSE(b.try_take(1, t0 + 999ms));
  EXPECT_TRUE(b.try_take(1, t0 + 1s));
  EXPECT_NEAR(b.level(t0 + 1h), 60, 1e-9);  // never above one minute's allowance
}

TEST(TokenBucket, ChargeMayGoNegativeAndWaitCoversTheDebt) {
  TokenBucket b(600, t0);  // 10 per second
  b.charge(900, t0);
  EXPECT_DOUBLE_EQ(b.level(t0), -300);
  EXPECT_NEAR(std::chrono::duration<double>(b.wait_for(1, t0)).count(), 30.1, 1e-6);
  EXPECT_NEAR(b.level(t0 + 30s), 0, 1e-9);
}

TEST(KeyLimiter, RequestsPerMinute) {
  KeyLimiter l({/*rpm=*/2, 0, 0}, t0);
  EXPECT_FALSE(l.admit(t0));
  l.release();
  EXPECT_FALSE(l.admit(t0));
  l.release();
  auto r = l.admit(t0 + 1s);
  ASSERT_TRUE(r);
  EXPECT_NE(r->message.find("requests per minute"), std::string::npos);
  EXPECT_EQ(r->retry_after, 29s);  // one request per 30 s; 1 s already passed
  EXPECT_EQ(l.in_flight(), 0u);    // a refusal takes nothing
  EXPECT_FALSE(l.admit(t0 + 30s));
}

TEST(KeyLimiter, RetryAfterIsAtLeastOneSecond) {
  KeyLimiter l({/*rpm=*/6000, 0, 0}, t0);  // 100 per second
  for (int i = 0; i < 6000; ++i) {
    ASSERT_FALSE(l.admit(t0));
    l.release();
  }
  auto r = l.admit(t0);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->retry_after, 1s);
}

TEST(KeyLimiter, TokensPerMinuteCountedAfterTheCall) {
  KeyLimiter l({0, /*tpm=*/600, 0}, t0);  // 10 tokens per second
  EXPECT_FALSE(l.admit(t0));              // the first call may overshoot...
  l.release();
  l.record_tokens(1000, t0);   // ...and puts the key 400 tokens in debt
  auto r = l.admit(t0 + 10s);  // 100 refilled: still 300 short of one token
  ASSERT_TRUE(r);
  EXPECT_NE(r->message.find("tokens per minute"), std::string::npos);
  EXPECT_EQ(r->retry_after, 31s);  // (300 + 1) / 10 per second, rounded up
  EXPECT_FALSE(l.admit(t0 + 41s));
}

TEST(KeyLimiter, ConcurrencySlotsAreHeldUntilReleased) {
  KeyLimiter l({0, 0, /*max_concurrent=*/2}, t0);
  EXPECT_FALSE(l.admit(t0));
  EXPECT_FALSE(l.admit(t0));
  EXPECT_EQ(l.in_flight(), 2u);
  auto r = l.admit(t0 + 1h);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->retry_after, 1s);
  l.release();
  EXPECT_FALSE(l.admit(t0));
}

TEST(KeyLimiter, ConcurrencyRefusalDoesNotSpendARequest) {
  KeyLimiter l({/*rpm=*/1, 0, /*max_concurrent=*/1}, t0);
  EXPECT_FALSE(l.admit(t0));
  EXPECT_TRUE(l.admit(t0));  // refused for concurrency...
  l.release();
  auto r = l.admit(t0);  // ...and now for the minute, whose one request was spent above
  ASSERT_TRUE(r);
  EXPECT_NE(r->message.find("requests per minute"), std::string::npos);
}

TEST(KeyLimiter, NoLimitsAdmitsEverything) {
  KeyLimiter l({}, t0);
  for (int i = 0; i < 10000; ++i) ASSERT_FALSE(l.admit(t0));
  EXPECT_EQ(l.in_flight(), 10000u);
}

}  // namespace
}  // namespace smmf::gateway
