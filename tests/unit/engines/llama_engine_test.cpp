// Generation tests of the llama.cpp engine on a tiny random-weight model
// ($SMMF_TEST_CHAT_MODEL, e.g. `make_tiny_model --arch llama --out tiny-chat.gguf`).
#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "engine_test_util.h"

namespace smmf::engines::test {
namespace {

using protocol::FinishReason;

class LlamaChatTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string path = env_or_empty("SMMF_TEST_CHAT_MODEL");
    if (path.empty()) return;
    wide_ = load_engine(path, "llm", {{"parallel", 8}, {"ctx_size", 8 * 512}});
    narrow_ = load_engine(path, "llm", {{"parallel", 1}, {"ctx_size", 512}, {"max_queue", 1}});
  }
  static void TearDownTestSuite() {
    for (auto* e : {&wide_, &narrow_}) {
      if (*e) run((*e)->unload());
      e->reset();
    }
  }
  void SetUp() override {
    if (env_or_empty("SMMF_TEST_CHAT_MODEL").empty()) {
      GTEST_SKIP() << "SMMF_TEST_CHAT_MODEL is not set";
    }
    ASSERT_TRUE(wide_ && narrow_);
  }

  static protocol::ChatRequest greedy_chat(std::string user, int max_tokens) {
    protocol::ChatRequest req;
    req.messages = {{"system", "You are a test.", {}}, {"user", std::move(user), {}}};
    req.gen.max_tokens = max_tokens;
    req.gen.sampling.temperature = 0.0f;
    return req;
  }

  static Result<protocol::GenerationResult> chat(Engine& e, const protocol::ChatRequest& req,
                                                 DeltaSink* sink = nullptr) {
    CallContext ctx;
    return run(e.chat(req, sink, ctx));
  }

  static inline std::shared_ptr<Engine> wide_;
  static inline std::shared_ptr<Engine> narrow_;
};

TEST_F(LlamaChatTest, InfoAndHealth) {
  EXPECT_TRUE(wide_->health());
  auto info = wide_->info();
  EXPECT_EQ(info.engine, "llama.cpp");
  EXPECT_EQ(info.type, protocol::ModelType::kLlm);
  EXPECT_EQ(info.context_length, 512);
  EXPECT_GT(info.embedding_size, 0);
}

TEST_F(LlamaChatTest, GreedyIsIdenticalAloneAndInABatchOfEight) {
  const auto req = greedy_chat("Tell me a story about batching.", 24);
  auto alone = chat(*wide_, req);
  ASSERT_TRUE(alone) << alone.error().message;
  ASSERT_EQ(alone->choices.size(), 1u);
  EXPECT_GT(alone->usage.completion_tokens, 0);

  asio::io_context ioc;
  std::vector<std::optional<Result<protocol::GenerationResult>>> results(8);
  for (auto& r : results) {
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
          CallContext ctx;
          r.emplace(co_await wide_->chat(req, nullptr, ctx));
        },
        asio::detached);
  }
  ioc.run();
  for (auto& r : results) {
    ASSERT_TRUE(r && *r) << (r ? (*r).error().message : "not run");
    EXPECT_EQ((*r)->choices[0].text, alone->choices[0].text);
    EXPECT_EQ((*r)->choices[0].finish_reason, alone->choices[0].finish_reason);
    EXPECT_EQ((*r)->usage.completion_tokens, alone->usage.completion_tokens);
    EXPECT_EQ((*r)->usage.prompt_tokens, alone->usage.prompt_tokens);
  }
}

TEST_F(LlamaChatTest, StreamConcatenatesToNonStreamText) {
  const auto req = greedy_chat("Stream this please.", 20);
  auto full = chat(*wide_, req);
  ASSERT_TRUE(full) << full.error().message;

  CollectSink sink;
  auto streamed = chat(*wide_, req, &sink);
  ASSERT_TRUE(streamed) << streamed.error().message;
  EXPECT_TRUE(streamed->choices.empty());
  EXPECT_EQ(sink.text(0), full->choices[0].text);
  ASSERT_FALSE(sink.writes.empty());
  ASSERT_TRUE(sink.writes.back().back().finish_reason);
  EXPECT_EQ(*sink.writes.back().back().finish_reason, full->choices[0].finish_reason);
  EXPECT_EQ(streamed->usage.completion_tokens, full->usage.completion_tokens);
  EXPECT_EQ(streamed->usage.prompt_tokens, full->usage.prompt_tokens);
}

TEST_F(LlamaChatTest, MaxTokensGivesLengthAndExactCount) {
  auto r = chat(*wide_, greedy_chat("Count to ten.", 5));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->choices[0].finish_reason, FinishReason::kLength);
  EXPECT_EQ(r->usage.completion_tokens, 5);
  EXPECT_GT(r->usage.prompt_tokens, 5);
}

TEST_F(LlamaChatTest, StopStringEndsTheTextBeforeIt) {
  auto base = chat(*wide_, greedy_chat("Say something long.", 40));
  ASSERT_TRUE(base) << base.error().message;
  const std::string text = base->choices[0].text;
  if (text.size() < 12) GTEST_SKIP() << "the model's output is too short: '" << text << "'";
  const std::string stop = text.substr(text.size() / 2, 3);
  auto req = greedy_chat("Say something long.", 40);
  req.gen.stop = {stop};
  CollectSink sink;
  auto r = chat(*wide_, req, &sink);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(sink.text(0), text.substr(0, text.find(stop)));
  EXPECT_EQ(sink.finish(0), FinishReason::kStop);
  EXPECT_LE(r->usage.completion_tokens, base->usage.completion_tokens);
}

TEST_F(LlamaChatTest, PrefixCacheReportsCachedTokensOnTheNextTurn) {
  // With one slot; and with eight, where the follow-up must find the slot holding its
  // conversation among others (unrelated requests sharing the system prompt run in between).
  for (Engine* engine : {narrow_.get(), wide_.get()}) {
    auto first_req = greedy_chat("What is a prefix cache?", 8);
    auto first = chat(*engine, first_req);
    ASSERT_TRUE(first) << first.error().message;
    if (engine == wide_.get()) {
      for (int i = 0; i < 3; ++i) ASSERT_TRUE(chat(*engine, greedy_chat(std::to_string(i), 2)));
    }
    auto second_req = first_req;
    second_req.messages.push_back({"assistant", first->choices[0].text, {}});
    second_req.messages.push_back({"user", "And why does it help?", {}});
    auto second = chat(*engine, second_req);
    ASSERT_TRUE(second) << second.error().message;
    EXPECT_GE(second->usage.cached_tokens, first->usage.prompt_tokens - 1);
    EXPECT_LT(second->usage.cached_tokens, second->usage.prompt_tokens);
  }
}

TEST_F(LlamaChatTest, SharedSystemPromptIsReused) {
  // A fresh engine: the second conversation reuses the system prompt's KV cells cached by the
  // first one. Greedy output must not change because of the reuse.
  for (bool unified : {false, true}) {
    SCOPED_TRACE(unified ? "kv_unified" : "a KV stream per slot");
    auto engine = load_engine(env_or_empty("SMMF_TEST_CHAT_MODEL"), "llm",
                              {{"parallel", 4}, {"ctx_size", 4 * 512}, {"kv_unified", unified}});
    ASSERT_TRUE(engine);
    std::string system;
    for (int i = 0; i < 8; ++i) system += "You are a careful and precise assistant. ";
    auto req = [&](std::string user) {
      auto r = greedy_chat(std::move(user), 12);
      r.messages[0].content = system;
      return r;
    };
    auto first = chat(*engine, req("First conversation."));
    ASSERT_TRUE(first) << first.error().message;
    EXPECT_EQ(first->usage.cached_tokens, 0);
    auto second = chat(*engine, req("Another conversation entirely."));
    ASSERT_TRUE(second) << second.error().message;
    EXPECT_GT(second->usage.cached_tokens, 64);

    auto reference = load_engine(env_or_empty("SMMF_TEST_CHAT_MODEL"), "llm",
                                 {{"parallel", 4}, {"ctx_size", 4 * 512}});
    ASSERT_TRUE(reference);
    auto expected = chat(*reference, req("Another conversation entirely."));
    ASSERT_TRUE(expected);
    EXPECT_EQ(expected->usage.cached_tokens, 0);
    EXPECT_EQ(second->choices[0].text, expected->choices[0].text);
    run(engine->unload());
    run(reference->unload());
  }
}

TEST_F(LlamaChatTest, ConversationMovesNextToTheRunningSlot) {
  // Four slots, a KV stream each. Slot 0 caches a conversation, slot 1 an unrelated request; a
  // long generation then runs in slot 2. The conversation's next turn goes next to it (slot 3,
  // one graph per decode step for both) and copies its cached prefix over from slot 0 while
  // slot 2 keeps decoding. Greedy output must not change because of the copy.
  auto engine = load_engine(env_or_empty("SMMF_TEST_CHAT_MODEL"), "llm",
                            {{"parallel", 4}, {"ctx_size", 4 * 512}});
  ASSERT_TRUE(engine);
  std::string system;
  for (int i = 0; i < 8; ++i) system += "You are a careful and precise assistant. ";
  auto req = [&](std::string user) {
    auto r = greedy_chat(std::move(user), 12);
    r.messages[0].content = system;
    return r;
  };
  ASSERT_TRUE(chat(*engine, req("First conversation.")));
  ASSERT_TRUE(chat(*engine, greedy_chat("Unrelated.", 2)));

  asio::io_context ioc;
  CallContext ctx_long;
  std::optional<Result<protocol::GenerationResult>> moved;
  CollectSink sink_long;
  bool spawned = false;
  sink_long.on_write = [&](size_t) {
    if (spawned) return Status{};
    spawned = true;  // the long request decodes now
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
          CallContext ctx;
          moved.emplace(co_await engine->chat(req("Another conversation entirely."), nullptr, ctx));
          ctx_long.cancel->cancel();
        },
        asio::detached);
    return Status{};
  };
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        (void)co_await engine->chat(greedy_chat("Occupy a slot for long.", 400), &sink_long,
                                    ctx_long);
      },
      asio::detached);
  ioc.run();
  ASSERT_TRUE(moved && *moved) << (moved ? moved->error().message : "not run");
  EXPECT_GT((*moved)->usage.cached_tokens, 64);

  auto reference = load_engine(env_or_empty("SMMF_TEST_CHAT_MODEL"), "llm",
                               {{"parallel", 4}, {"ctx_size", 4 * 512}});
  ASSERT_TRUE(reference);
  auto expected = chat(*reference, req("Another conversation entirely."));
  ASSERT_TRUE(expected);
  EXPECT_EQ(expected->usage.cached_tokens, 0);
  EXPECT_EQ((*moved)->choices[0].text, expected->choices[0].text);
  run(engine->unload());
  run(reference->unload());
}

TEST_F(LlamaChatTest, CancellationFreesTheSlot) {
  // `narrow_` has one slot and max_queue 1: if the cancelled request kept its slot, the
  // follow-up requests would queue forever or be refused.
  auto req = greedy_chat("Generate for a long time.", 400);
  CallContext ctx;
  CollectSink sink;
  sink.on_write = [&](size_t) {
    ctx.cancel->cancel();
    return Status{};
  };
  auto r = run(narrow_->chat(req, &sink, ctx));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kCancelled);
  EXPECT_LT(sink.text(0).size(), 400u);

  for (int i = 0; i < 2; ++i) {
    auto next = chat(*narrow_, greedy_chat("Still alive?", 4));
    ASSERT_TRUE(next) << next.error().message;
    EXPECT_GT(next->usage.completion_tokens, 0);
  }
}

TEST_F(LlamaChatTest, SinkErrorCancelsAndIsReturned) {
  auto req = greedy_chat("Client goes away.", 300);
  CollectSink sink;
  sink.on_write = [](size_t n) -> Status {
    if (n >= 2) return Error::unavailable("client disconnected");
    return Status{};
  };
  auto r = chat(*narrow_, req, &sink);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(r.error().message, "client disconnected");
  auto next = chat(*narrow_, greedy_chat("Next one.", 3));
  ASSERT_TRUE(next) << next.error().message;
}

TEST_F(LlamaChatTest, QueueOverflowIsResourceExhausted) {
  // One slot, max_queue 1: A runs, B waits, C is refused.
  asio::io_context ioc;
  CallContext ctx_a, ctx_b;
  std::optional<Result<protocol::GenerationResult>> a, b, c;
  auto long_req = greedy_chat("Occupy the slot.", 400);
  auto short_req = greedy_chat("Refused.", 4);
  CollectSink sink_a;
  bool spawned = false;
  sink_a.on_write = [&](size_t) {
    if (spawned) return Status{};
    spawned = true;  // A is running now: queue B, then C
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
          b.emplace(co_await narrow_->chat(long_req, nullptr, ctx_b));
        },
        asio::detached);
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
          CallContext ctx_c;
          c.emplace(co_await narrow_->chat(short_req, nullptr, ctx_c));
          ctx_a.cancel->cancel();  // done: let A and B end quickly
          ctx_b.cancel->cancel();
        },
        asio::detached);
    return Status{};
  };
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        a.emplace(co_await narrow_->chat(long_req, &sink_a, ctx_a));
      },
      asio::detached);
  ioc.run();
  ASSERT_TRUE(a && b && c);
  ASSERT_FALSE(*c);
  EXPECT_EQ(c->error().code, ErrorCode::kResourceExhausted);
  ASSERT_FALSE(*a);
  EXPECT_EQ(a->error().code, ErrorCode::kCancelled);
  ASSERT_FALSE(*b);
  EXPECT_EQ(b->error().code, ErrorCode::kCancelled);
}

TEST_F(LlamaChatTest, PromptLongerThanTheContextIsInvalid) {
  std::string huge;
  for (int i = 0; i < 600; ++i) huge += "word ";
  auto r = chat(*narrow_, greedy_chat(huge, 4));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().param, "messages");
  EXPECT_NE(r.error().message.find("context per sequence is 512"), std::string::npos)
      << r.error().message;
}

TEST_F(LlamaChatTest, CompletionsWithSeveralPromptsAndChoices) {
  protocol::CompletionRequest req;
  req.prompts = {"Once upon a time", "The quick brown fox"};
  req.echo = true;
  req.gen.n = 2;
  req.gen.max_tokens = 6;
  req.gen.sampling.temperature = 1.0f;
  req.gen.sampling.seed = 7;
  CallContext ctx;
  auto r = run(wide_->complete(req, nullptr, ctx));
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->choices.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(r->choices[i].index, i);
    EXPECT_EQ(r->choices[i].text.rfind(req.prompts[static_cast<size_t>(i / 2)], 0), 0u)
        << r->choices[i].text;
  }
  // Prompt tokens count each prompt once, whatever n is.
  protocol::CompletionRequest one = req;
  one.gen.n = 1;
  auto r1 = run(wide_->complete(one, nullptr, ctx));
  ASSERT_TRUE(r1);
  EXPECT_EQ(r->usage.prompt_tokens, r1->usage.prompt_tokens);
  EXPECT_LE(r->usage.completion_tokens, 4 * 6);

  // The same seed gives the same choices again.
  auto again = run(wide_->complete(req, nullptr, ctx));
  ASSERT_TRUE(again);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(again->choices[i].text, r->choices[i].text);
}

TEST_F(LlamaChatTest, SamplingKnobsRun) {
  auto req = greedy_chat("Sample with everything.", 8);
  auto& s = req.gen.sampling;
  s.temperature = 0.7f;
  s.top_k = 20;
  s.top_p = 0.9f;
  s.min_p = 0.01f;
  s.typical_p = 0.95f;
  s.presence_penalty = 0.5f;
  s.frequency_penalty = 0.5f;
  s.repetition_penalty = 1.1f;
  s.seed = 3;
  s.logit_bias = {{100, -5.0f}};
  auto r = chat(*wide_, req);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_GT(r->usage.completion_tokens, 0);

  s.logit_bias = {{1 << 30, 1.0f}};
  auto bad = chat(*wide_, req);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().param, "logit_bias");
}

TEST_F(LlamaChatTest, UnloadFailsQueuedDrainsRunningAndReloads) {
  auto engine = load_engine(env_or_empty("SMMF_TEST_CHAT_MODEL"), "llm",
                            {{"parallel", 1}, {"ctx_size", 512}});
  ASSERT_TRUE(engine);
  asio::io_context ioc;
  std::optional<Result<protocol::GenerationResult>> running, queued;
  auto long_req = greedy_chat("Run until unloaded.", 100);
  CollectSink sink;
  bool unloading = false;
  sink.on_write = [&](size_t) {
    if (unloading) return Status{};
    unloading = true;  // the first request runs: queue a second one, then unload
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
          CallContext ctx;
          queued.emplace(co_await engine->chat(long_req, nullptr, ctx));
        },
        asio::detached);
    asio::co_spawn(ioc, engine->unload(), asio::detached);
    return Status{};
  };
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        CallContext ctx;
        running.emplace(co_await engine->chat(long_req, &sink, ctx));
      },
      asio::detached);
  ioc.run();
  ASSERT_TRUE(running && queued);
  ASSERT_TRUE(*running) << (*running).error().message;  // drained, not cut off
  EXPECT_GT((*running)->usage.completion_tokens, 0);
  ASSERT_FALSE(*queued);
  EXPECT_EQ(queued->error().code, ErrorCode::kUnavailable);

  EXPECT_FALSE(engine->health());
  auto after = chat(*engine, greedy_chat("Anyone there?", 2));
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code, ErrorCode::kUnavailable);

  ASSERT_TRUE(run(engine->load()));
  EXPECT_TRUE(engine->health());
  auto again = chat(*engine, greedy_chat("Back again.", 2));
  ASSERT_TRUE(again) << again.error().message;
  run(engine->unload());
}

TEST_F(LlamaChatTest, EmbedOnAChatModelIsUnsupported) {
  protocol::EmbeddingRequest req;
  req.inputs = {"x"};
  CallContext ctx;
  auto r = run(wide_->embed(req, ctx));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnsupported);
}

TEST(LlamaEngineLoad, NotAModelFailsToLoad) {
  const auto path = std::filesystem::temp_directory_path() / "smmf_not_a_model.gguf";
  std::ofstream(path) << "GGUF? no.";
  EngineRegistry registry;
  llama_cpp::register_llama_cpp(registry);
  ModelConfig cfg;
  cfg.path = path.string();
  cfg.origin = "test";
  auto engine = registry.create(cfg);
  ASSERT_TRUE(engine);
  auto status = run((*engine)->load());
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message.find(path.string()), std::string::npos);
  EXPECT_FALSE((*engine)->health());
  protocol::ChatRequest req;
  req.messages = {{"user", "hi", {}}};
  CallContext ctx;
  auto r = run((*engine)->chat(req, nullptr, ctx));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace smmf::engines::test
