// The llama.cpp engine's wait queue: priority order (higher first, FIFO within a priority),
// the bound (kResourceExhausted with a Retry-After estimate), and the estimate itself.
#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <string>
#include <vector>

#include "engine_test_util.h"
#include "engines/llama_cpp/service_time.h"

namespace smmf::engines::test {
namespace {

constexpr int32_t kEos = 2;  // llama-spm's </s>: banned so that the blocker runs to max_tokens

protocol::ChatRequest request(std::string user, int max_tokens, int priority) {
  protocol::ChatRequest req;
  req.messages = {{"user", std::move(user), {}}};
  req.gen.max_tokens = max_tokens;
  req.gen.sampling.temperature = 0.0f;
  req.gen.priority = priority;
  return req;
}

class LlamaQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (env_or_empty("SMMF_TEST_CHAT_MODEL").empty()) {
      GTEST_SKIP() << "SMMF_TEST_CHAT_MODEL is not set";
    }
  }
};

// One slot. A blocker holds it while four requests queue up in the order
// low0, high0, low1, high1; when the blocker is cancelled they must run high0, high1, low0, low1.
TEST_F(LlamaQueueTest, HigherPriorityStartsFirstAndFifoWithinAPriority) {
  auto engine =
      load_engine(env_or_empty("SMMF_TEST_CHAT_MODEL"), "llm",
                  {{"parallel", 1}, {"ctx_size", 1024}, {"max_queue", 4}, {"threads", 1}});
  ASSERT_TRUE(engine);
  asio::io_context ioc;
  CallContext blocker_ctx;
  auto blocker = request("Occupy the slot.", 800, 0);
  blocker.gen.sampling.logit_bias = {{kEos, -100.0f}};
  struct Queued {
    std::string name;
    int priority;
  };
  const std::vector<Queued> queued = {{"low0", 0}, {"high0", 5}, {"low1", 0}, {"high1", 5}};
  std::vector<std::string> finished;
  std::vector<std::string> errors;
  std::optional<Result<protocol::GenerationResult>> blocked;
  CollectSink sink;
  bool spawned = false;
  sink.on_write = [&](size_t) {
    if (spawned) return Status{};
    spawned = true;  // the blocker holds the slot: queue the others, in order, then free it
    for (const auto& q : queued) {
      asio::co_spawn(
          ioc,
          [&, q]() -> asio::awaitable<void> {
            CallContext ctx;
            auto r =
                co_await engine->chat(request("Queued " + q.name, 2, q.priority), nullptr, ctx);
            if (r)
              finished.push_back(q.name);
            else
              errors.push_back(q.name + ": " + r.error().message);
          },
          asio::detached);
    }
    // Runs after every queued call reached the engine's queue (handlers run in order).
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
          blocker_ctx.cancel->cancel();
          co_return;
        },
        asio::detached);
    return Status{};
  };
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        blocked.emplace(co_await engine->chat(blocker, &sink, blocker_ctx));
      },
      asio::detached);
  ioc.run();
  ASSERT_TRUE(blocked);
  ASSERT_FALSE(*blocked) << "the blocker ended before the others were queued";
  EXPECT_EQ(blocked->error().code, ErrorCode::kCancelled);
  EXPECT_TRUE(errors.empty()) << errors.front();
  EXPECT_EQ(finished, (std::vector<std::string>{"high0", "high1", "low0", "low1"}));
  run(engine->unload());
}

// One slot, max_queue 1: the blocker runs, one waits, the next is refused with a Retry-After.
TEST_F(LlamaQueueTest, FullQueueIsResourceExhaustedWithRetryAfter) {
  auto engine =
      load_engine(env_or_empty("SMMF_TEST_CHAT_MODEL"), "llm",
                  {{"parallel", 1}, {"ctx_size", 1024}, {"max_queue", 1}, {"threads", 1}});
  ASSERT_TRUE(engine);
  // Something measured first, so that the estimate comes from a real service time.
  CallContext warm;
  ASSERT_TRUE(run(engine->chat(request("Warm up.", 4, 0), nullptr, warm)));

  asio::io_context ioc;
  CallContext blocker_ctx, waiting_ctx;
  auto blocker = request("Occupy the slot.", 800, 0);
  blocker.gen.sampling.logit_bias = {{kEos, -100.0f}};
  std::optional<Result<protocol::GenerationResult>> waiting, refused, high_refused;
  CollectSink sink;
  bool spawned = false;
  sink.on_write = [&](size_t) {
    if (spawned) return Status{};
    spawned = true;
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
          waiting.emplace(co_await engine->chat(request("Waits.", 2, 0), nullptr, waiting_ctx));
        },
        asio::detached);
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
          CallContext c1, c2;
          refused.emplace(co_await engine->chat(request("Refused.", 2, 0), nullptr, c1));
          // The bound holds for every priority: a full queue refuses a high one too.
          high_refused.emplace(co_await engine->chat(request("Refused.", 2, 9), nullptr, c2));
          blocker_ctx.cancel->cancel();
        },
        asio::detached);
    return Status{};
  };
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        auto r = co_await engine->chat(blocker, &sink, blocker_ctx);
        EXPECT_FALSE(r);
      },
      asio::detached);
  ioc.run();
  ASSERT_TRUE(waiting && refused && high_refused);
  EXPECT_TRUE(*waiting) << waiting->error().message;  // served once the blocker was cancelled
  for (auto* r : {&*refused, &*high_refused}) {
    ASSERT_FALSE(*r);
    EXPECT_EQ(r->error().code, ErrorCode::kResourceExhausted);
    EXPECT_GE(r->error().retry_after_s, 1);
    EXPECT_LE(r->error().retry_after_s, llama_cpp::ServiceTime::kMaxRetryAfter);
  }
  run(engine->unload());
}

TEST(ServiceTime, RetryAfterEstimate) {
  llama_cpp::ServiceTime t;
  EXPECT_EQ(t.retry_after(10, 1), 1);  // nothing measured yet
  t.record(2.0);
  EXPECT_DOUBLE_EQ(t.mean(), 2.0);
  EXPECT_EQ(t.retry_after(3, 1), 6);  // 3 ahead x 2 s, one at a time
  EXPECT_EQ(t.retry_after(3, 2), 3);  // two at a time
  EXPECT_EQ(t.retry_after(0, 4), 1);  // at least one second
  t.record(7.0);
  EXPECT_DOUBLE_EQ(t.mean(), 3.0);  // moving average, weight 1/5
  t.record(1e9);
  EXPECT_EQ(t.retry_after(100, 1), llama_cpp::ServiceTime::kMaxRetryAfter);
}

}  // namespace
}  // namespace smmf::engines::test
