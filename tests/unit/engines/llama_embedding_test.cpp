// Embedding tests of the llama.cpp engine on a tiny random-weight BERT model
// ($SMMF_TEST_EMBED_MODEL, e.g. `make_tiny_model --arch bert --out tiny-embed.gguf`).
#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "engine_test_util.h"

namespace smmf::engines::test {
namespace {

double norm(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += static_cast<double>(x) * x;
  return std::sqrt(s);
}

void expect_near(const std::vector<float>& a, const std::vector<float>& b, float tol) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], tol) << "at " << i;
}

class LlamaEmbeddingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string path = env_or_empty("SMMF_TEST_EMBED_MODEL");
    if (path.empty()) return;
    engine_ = load_engine(path, "embedding", {{"parallel", 4}});
  }
  static void TearDownTestSuite() {
    if (engine_) run(engine_->unload());
    engine_.reset();
  }
  void SetUp() override {
    if (env_or_empty("SMMF_TEST_EMBED_MODEL").empty()) {
      GTEST_SKIP() << "SMMF_TEST_EMBED_MODEL is not set";
    }
    ASSERT_TRUE(engine_);
  }

  static Result<protocol::EmbeddingResult> embed(std::vector<std::string> inputs,
                                                 std::optional<int> dims = {}) {
    protocol::EmbeddingRequest req;
    req.inputs = std::move(inputs);
    req.dimensions = dims;
    CallContext ctx;
    return run(engine_->embed(req, ctx));
  }

  static inline std::shared_ptr<Engine> engine_;
};

TEST_F(LlamaEmbeddingTest, Info) {
  auto info = engine_->info();
  EXPECT_EQ(info.type, protocol::ModelType::kEmbedding);
  EXPECT_EQ(info.embedding_size, 64);
  EXPECT_GT(info.context_length, 0);
}

TEST_F(LlamaEmbeddingTest, NormalisedAndEqualAloneOrInABatch) {
  auto alone = embed({"the cat sat on the mat"});
  ASSERT_TRUE(alone) << alone.error().message;
  ASSERT_EQ(alone->embeddings.size(), 1u);
  EXPECT_NEAR(norm(alone->embeddings[0]), 1.0, 1e-4);
  EXPECT_GT(alone->prompt_tokens, 2);

  // More inputs than sequences per batch (4), of different lengths.
  std::vector<std::string> inputs = {
      "a dog", "the cat sat on the mat", "embedding models pool token vectors into one",
      "x",     "the cat sat on the mat", "another sentence"};
  auto batch = embed(inputs);
  ASSERT_TRUE(batch) << batch.error().message;
  ASSERT_EQ(batch->embeddings.size(), inputs.size());
  expect_near(batch->embeddings[1], alone->embeddings[0], 1e-4f);
  expect_near(batch->embeddings[4], alone->embeddings[0], 1e-4f);
  for (const auto& e : batch->embeddings) EXPECT_NEAR(norm(e), 1.0, 1e-4);
  int total = 0;
  for (const auto& in : inputs) total += embed({in})->prompt_tokens;
  EXPECT_EQ(batch->prompt_tokens, total);
}

TEST_F(LlamaEmbeddingTest, ConcurrentCallersShareBatches) {
  auto alone = embed({"shared batch"});
  ASSERT_TRUE(alone);
  asio::io_context ioc;
  std::vector<std::optional<Result<protocol::EmbeddingResult>>> results(6);
  for (auto& r : results) {
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
          protocol::EmbeddingRequest req;
          req.inputs = {"shared batch", "something else entirely"};
          CallContext ctx;
          r.emplace(co_await engine_->embed(req, ctx));
        },
        asio::detached);
  }
  ioc.run();
  for (auto& r : results) {
    ASSERT_TRUE(r && *r);
    expect_near((*r)->embeddings[0], alone->embeddings[0], 1e-4f);
  }
}

TEST_F(LlamaEmbeddingTest, DimensionsTruncateAndRenormalise) {
  auto full = embed({"truncate me"});
  ASSERT_TRUE(full);
  auto small = embed({"truncate me"}, 8);
  ASSERT_TRUE(small) << small.error().message;
  ASSERT_EQ(small->embeddings[0].size(), 8u);
  EXPECT_NEAR(norm(small->embeddings[0]), 1.0, 1e-4);
  std::vector<float> prefix(full->embeddings[0].begin(), full->embeddings[0].begin() + 8);
  const double n = norm(prefix);
  for (auto& x : prefix) x = static_cast<float>(x / n);
  expect_near(small->embeddings[0], prefix, 1e-4f);

  auto too_many = embed({"x"}, 65);
  ASSERT_FALSE(too_many);
  EXPECT_EQ(too_many.error().param, "dimensions");
}

TEST_F(LlamaEmbeddingTest, InvalidInputs) {
  auto empty = embed({"ok", ""});
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().param, "input");

  std::string huge;
  for (int i = 0; i < 2000; ++i) huge += "word ";
  auto long_input = embed({huge});
  ASSERT_FALSE(long_input);
  EXPECT_EQ(long_input.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(long_input.error().param, "input");
}

TEST_F(LlamaEmbeddingTest, ChatOnAnEmbeddingModelIsUnsupported) {
  protocol::ChatRequest req;
  req.messages = {{"user", "hi", {}}};
  CallContext ctx;
  auto r = run(engine_->chat(req, nullptr, ctx));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(r.error().message.find("embedding"), std::string::npos);
}

// One sequence per decode: a big low-priority call is overtaken by a high-priority one that
// arrives right after it, instead of waiting for all of its inputs (FIFO would).
TEST(LlamaEmbeddingPriority, HighPriorityCallOvertakesAQueuedLowOne) {
  const std::string path = env_or_empty("SMMF_TEST_EMBED_MODEL");
  if (path.empty()) GTEST_SKIP() << "SMMF_TEST_EMBED_MODEL is not set";
  auto engine = load_engine(path, "embedding", {{"parallel", 1}, {"threads", 1}});
  ASSERT_TRUE(engine);
  asio::io_context ioc;
  std::vector<std::string> finished;
  protocol::EmbeddingRequest low;
  for (int i = 0; i < 64; ++i)
    low.inputs.push_back("low priority input number " + std::to_string(i));
  protocol::EmbeddingRequest high;
  high.inputs = {"urgent"};
  high.priority = 3;
  for (auto* req : {&low, &high}) {
    asio::co_spawn(
        ioc,
        [&, req]() -> asio::awaitable<void> {
          CallContext ctx;
          auto r = co_await engine->embed(*req, ctx);
          EXPECT_TRUE(r) << r.error().message;
          finished.push_back(req->priority > 0 ? "high" : "low");
        },
        asio::detached);
  }
  ioc.run();
  EXPECT_EQ(finished, (std::vector<std::string>{"high", "low"}));
  run(engine->unload());
}

}  // namespace
}  // namespace smmf::engines::test
