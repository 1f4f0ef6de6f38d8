// Reranking with the llama.cpp engine on a tiny random-weight BERT with a classification head
// ($SMMF_TEST_RERANK_MODEL, `make_tiny_model --arch bert --pooling rank`).
//
// Random weights carry no meaning, so relevance cannot be tested. What these tests prove:
// - a pair's score does not depend on what else is in the batch (batched == one by one), so the
//   order the gateway derives from a batched call is the order of the scores computed alone;
// - the score is a function of the (query, document) pair: identical documents score the same,
//   different documents or queries score differently (the head is not a constant);
// - results come back one per document, in document order, whatever top_n says (the gateway
//   sorts and cuts);
// - the prompt is llama-server's: [CLS] query [SEP] document for a BERT vocabulary.
#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engine_test_util.h"
#include "engines/llama_cpp/llama_handles.h"
#include "engines/llama_cpp/rerank_call.h"
#include "engines/llama_cpp/tokenizer.h"

namespace smmf::engines::test {
namespace {

// A pair scored in a batch of four and alone differ by up to ~1e-3 here: other matrix shapes, an
// f16 KV cache, and a tanh head that amplifies. Scores of different pairs differ far more.
constexpr double kTol = 5e-3;
constexpr double kSame = 1e-5;  // one batch, same pair: the same arithmetic

const std::vector<std::string> kDocs = {
    "The cat sat on the mat.",
    "Quarterly revenue grew by twelve percent.",
    "A recipe for bread needs flour, water, salt and yeast.",
    "The cat sat on the mat.",  // same as 0
    "Mountains",
    "Rerankers score a query against each document and sort them by relevance."};

class LlamaRerankTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string path = env_or_empty("SMMF_TEST_RERANK_MODEL");
    if (path.empty()) return;
    engine_ = load_engine(path, "reranker", {{"parallel", 4}, {"threads", 1}});
  }
  static void TearDownTestSuite() {
    if (engine_) run(engine_->unload());
    engine_.reset();
  }
  void SetUp() override {
    if (env_or_empty("SMMF_TEST_RERANK_MODEL").empty()) {
      GTEST_SKIP() << "SMMF_TEST_RERANK_MODEL is not set";
    }
    ASSERT_TRUE(engine_);
  }

  static Result<protocol::RerankResult> rerank(std::string query, std::vector<std::string> docs,
                                               std::optional<int> top_n = {}) {
    protocol::RerankRequest req;
    req.query = std::move(query);
    req.documents = std::move(docs);
    req.top_n = top_n;
    CallContext ctx;
    return run(engine_->rerank(req, ctx));
  }
  static std::vector<double> scores(const protocol::RerankResult& r) {
    std::vector<double> s;
    for (const auto& x : r.results) s.push_back(x.relevance_score);
    return s;
  }

  static inline std::shared_ptr<Engine> engine_;
};

TEST_F(LlamaRerankTest, InfoSaysReranker) {
  EXPECT_EQ(engine_->info().type, protocol::ModelType::kReranker);
  EXPECT_TRUE(engine_->health());
}

TEST_F(LlamaRerankTest, BatchedScoresEqualScoresComputedOneByOne) {
  // Six pairs on four sequences: two decodes, the second partly filled.
  auto batched = rerank("where did the cat sit?", kDocs);
  ASSERT_TRUE(batched) << batched.error().message;
  ASSERT_EQ(batched->results.size(), kDocs.size());
  std::vector<double> alone;
  int tokens = 0;
  for (const auto& d : kDocs) {
    auto one = rerank("where did the cat sit?", {d});
    ASSERT_TRUE(one) << one.error().message;
    ASSERT_EQ(one->results.size(), 1u);
    EXPECT_EQ(one->results[0].index, 0);
    alone.push_back(one->results[0].relevance_score);
    tokens += one->prompt_tokens;
  }
  EXPECT_EQ(batched->prompt_tokens, tokens);
  for (size_t i = 0; i < kDocs.size(); ++i) {
    EXPECT_EQ(batched->results[i].index, static_cast<int>(i));
    EXPECT_TRUE(std::isfinite(batched->results[i].relevance_score));
    EXPECT_NEAR(batched->results[i].relevance_score, alone[i], kTol) << "document " << i;
  }
  // Hence the ranking (best first) is the ranking of the one-by-one scores: every pair of
  // documents whose batched scores differ by more than the tolerance is in the same order in
  // both (pairs within it, such as the two identical documents, have no defined order).
  const auto b = scores(*batched);
  for (size_t i = 0; i < b.size(); ++i) {
    for (size_t j = 0; j < b.size(); ++j) {
      if (b[i] - b[j] > 2 * kTol) {
        EXPECT_GT(alone[i], alone[j]) << "documents " << i << ", " << j;
      }
    }
  }
}

TEST_F(LlamaRerankTest, ScoreIsAFunctionOfThePair) {
  auto r = rerank("where did the cat sit?", kDocs);
  ASSERT_TRUE(r) << r.error().message;
  const auto s = scores(*r);
  EXPECT_NEAR(s[0], s[3], kSame);  // identical documents
  // Different documents do not all score alike (the classification head is not constant).
  int distinct = 0;
  for (size_t i = 1; i < s.size(); ++i) distinct += std::abs(s[i] - s[0]) > 2 * kTol;
  EXPECT_GE(distinct, 3) << ::testing::PrintToString(s);
  // The query matters too.
  auto other = rerank("quarterly revenue", kDocs);
  ASSERT_TRUE(other);
  EXPECT_GT(std::abs(scores(*other)[0] - s[0]), 2 * kTol) << scores(*other)[0] << " " << s[0];
}

TEST_F(LlamaRerankTest, AllDocumentsInOrderWhateverTopN) {
  auto r = rerank("cats", kDocs, 2);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->results.size(), kDocs.size());
  for (size_t i = 0; i < kDocs.size(); ++i) EXPECT_EQ(r->results[i].index, static_cast<int>(i));
}

TEST_F(LlamaRerankTest, ConcurrentCallersGetTheirOwnScores) {
  auto solo_a = rerank("cats", {kDocs[0], kDocs[1]});
  auto solo_b = rerank("bread", {kDocs[2], kDocs[4], kDocs[5]});
  ASSERT_TRUE(solo_a && solo_b);
  asio::io_context ioc;
  std::optional<Result<protocol::RerankResult>> a, b;
  protocol::RerankRequest ra{"", "cats", {kDocs[0], kDocs[1]}, {}, true};
  protocol::RerankRequest rb{"", "bread", {kDocs[2], kDocs[4], kDocs[5]}, {}, true};
  CallContext ca, cb;
  asio::co_spawn(
      ioc, [&]() -> asio::awaitable<void> { a.emplace(co_await engine_->rerank(ra, ca)); },
      asio::detached);
  asio::co_spawn(
      ioc, [&]() -> asio::awaitable<void> { b.emplace(co_await engine_->rerank(rb, cb)); },
      asio::detached);
  ioc.run();
  ASSERT_TRUE(a && *a && b && *b);
  for (size_t i = 0; i < 2; ++i) EXPECT_NEAR(scores(**a)[i], scores(*solo_a)[i], kTol);
  for (size_t i = 0; i < 3; ++i) EXPECT_NEAR(scores(**b)[i], scores(*solo_b)[i], kTol);
}

TEST_F(LlamaRerankTest, InvalidInputs) {
  auto no_query = rerank("", {"x"});
  ASSERT_FALSE(no_query);
  EXPECT_EQ(no_query.error().param, "query");
  auto no_docs = rerank("q", {});
  ASSERT_FALSE(no_docs);
  EXPECT_EQ(no_docs.error().param, "documents");
  auto empty_doc = rerank("q", {"a", ""});
  ASSERT_FALSE(empty_doc);
  EXPECT_EQ(empty_doc.error().param, "documents");
  std::string huge;
  for (int i = 0; i < 2000; ++i) huge += "word ";
  auto too_long = rerank("q", {"fine", huge});
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(too_long.error().param, "documents");
  EXPECT_NE(too_long.error().message.find("documents[1]"), std::string::npos);
}

TEST_F(LlamaRerankTest, OtherCallsAreUnsupported) {
  protocol::EmbeddingRequest req;
  req.inputs = {"x"};
  CallContext ctx;
  auto e = run(engine_->embed(req, ctx));
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, ErrorCode::kUnsupported);
}

TEST(LlamaRerankOnEmbeddingModel, IsUnsupported) {
  const std::string path = env_or_empty("SMMF_TEST_EMBED_MODEL");
  if (path.empty()) GTEST_SKIP() << "SMMF_TEST_EMBED_MODEL is not set";
  auto engine = load_engine(path, "embedding", {{"parallel", 1}});
  ASSERT_TRUE(engine);
  protocol::RerankRequest req{"", "q", {"d"}, {}, true};
  CallContext ctx;
  auto r = run(engine->rerank(req, ctx));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnsupported);
  run(engine->unload());
}

TEST(RerankPrompt, BertPairIsClsQuerySepDocument) {
  const std::string path = env_or_empty("SMMF_TEST_RERANK_MODEL");
  if (path.empty()) GTEST_SKIP() << "SMMF_TEST_RERANK_MODEL is not set";
  llama_cpp::init_llama_backend();
  auto mp = llama_model_default_params();
  mp.vocab_only = true;
  llama_cpp::ModelPtr model(llama_model_load_from_file(path.c_str(), mp));
  ASSERT_TRUE(model);
  llama_cpp::Tokenizer tok(model.get(), false);
  const llama_vocab* v = tok.vocab();
  const auto q = tok.tokenize("where is the cat", false, false);
  const auto d = tok.tokenize("on the mat", false, false);
  auto p = llama_cpp::rerank_prompt(tok, "", "where is the cat", "on the mat");
  std::vector<llama_token> want;
  want.push_back(llama_vocab_bos(v));  // [CLS]
  want.insert(want.end(), q.begin(), q.end());
  want.push_back(llama_vocab_sep(v));  // [SEP]
  want.insert(want.end(), d.begin(), d.end());
  // No trailing [SEP]: BERT vocabularies add no EOS, and llama-server appends none either.
  EXPECT_EQ(p, want);
  // A model's own rerank template wins, with its special tokens parsed.
  auto t = llama_cpp::rerank_prompt(tok, "[CLS]{query}|{document}", "where is the cat", "on");
  ASSERT_FALSE(t.empty());
  EXPECT_EQ(t.front(), llama_vocab_bos(v));
}

}  // namespace
}  // namespace smmf::engines::test
