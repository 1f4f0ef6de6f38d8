// Every sampling knob reaches llama.cpp: first as the sampler chain it builds (names, in order),
// then applied to explicit logits, then, where the random-weight model makes it observable, as
// a change in the engine's output.
#include <gtest/gtest.h>
#include <llama.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine_test_util.h"
#include "engines/llama_cpp/generate_call.h"
#include "engines/llama_cpp/llama_handles.h"
#include "engines/llama_cpp/sampler.h"

namespace smmf::engines::test {
namespace {

using llama_cpp::SamplingConfig;
using Names = std::vector<std::string>;

class SamplerChainTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string path = env_or_empty("SMMF_TEST_CHAT_MODEL");
    if (path.empty()) return;
    llama_cpp::init_llama_backend();
    auto mp = llama_model_default_params();
    mp.vocab_only = true;
    model_.reset(llama_model_load_from_file(path.c_str(), mp));
  }
  static void TearDownTestSuite() { model_.reset(); }
  void SetUp() override {
    if (env_or_empty("SMMF_TEST_CHAT_MODEL").empty()) {
      GTEST_SKIP() << "SMMF_TEST_CHAT_MODEL is not set";
    }
    ASSERT_TRUE(model_);
  }

  static llama_cpp::Sampler make(const SamplingConfig& c) {
    return llama_cpp::Sampler::make(llama_model_get_vocab(model_.get()), c);
  }
  static Names chain(const SamplingConfig& c) {
    auto s = make(c);
    EXPECT_TRUE(s.valid());
    return s.valid() ? s.names() : Names{};
  }
  // Logits favouring token 0, then 1, then 2; every other token far below.
  static std::vector<float> logits() {
    std::vector<float> l(
        static_cast<size_t>(llama_vocab_n_tokens(llama_model_get_vocab(model_.get()))), -20.0f);
    l[0] = 1.0f;
    l[1] = 0.9f;
    l[2] = 0.1f;
    return l;
  }
  static SamplingConfig neutral() {  // every truncation off
    SamplingConfig c;
    c.top_k = 0;
    c.top_p = 1.0f;
    c.min_p = 0.0f;
    c.typical_p = 1.0f;
    return c;
  }

  static inline llama_cpp::ModelPtr model_;
};

TEST_F(SamplerChainTest, DefaultsAreLlamaServers) {
  // temperature 0.8, top_k 40, top_p 0.95, min_p 0.05, no penalties, random seed.
  EXPECT_EQ(chain(SamplingConfig{}), (Names{"top-k", "top-p", "min-p", "temp", "dist"}));
  llama_cpp::SamplingConfig resolved =
      *llama_cpp::resolve_sampling(protocol::SamplingParams{}, std::nullopt, 0, 100);
  EXPECT_FLOAT_EQ(resolved.temperature, 0.8f);
  EXPECT_EQ(resolved.top_k, 40);
  EXPECT_FLOAT_EQ(resolved.top_p, 0.95f);
  EXPECT_FLOAT_EQ(resolved.min_p, 0.05f);
  EXPECT_FLOAT_EQ(resolved.typical_p, 1.0f);
  EXPECT_EQ(resolved.seed, LLAMA_DEFAULT_SEED);
}

TEST_F(SamplerChainTest, EachKnobAddsItsSampler) {
  EXPECT_EQ(chain(neutral()), (Names{"temp", "dist"}));
  auto c = neutral();
  c.temperature = 0.0f;
  EXPECT_EQ(chain(c), (Names{"greedy"}));
  c = neutral();
  c.top_k = 5;
  EXPECT_EQ(chain(c), (Names{"top-k", "temp", "dist"}));
  c = neutral();
  c.top_p = 0.5f;
  EXPECT_EQ(chain(c), (Names{"top-p", "temp", "dist"}));
  c = neutral();
  c.min_p = 0.1f;
  EXPECT_EQ(chain(c), (Names{"min-p", "temp", "dist"}));
  c = neutral();
  c.typical_p = 0.5f;
  EXPECT_EQ(chain(c), (Names{"typical", "temp", "dist"}));
  for (auto set : {+[](SamplingConfig& x) { x.repeat_penalty = 1.2f; },
                   +[](SamplingConfig& x) { x.frequency_penalty = 0.5f; },
                   +[](SamplingConfig& x) { x.presence_penalty = 0.5f; }}) {
    c = neutral();
    set(c);
    EXPECT_EQ(chain(c), (Names{"penalties", "temp", "dist"}));
  }
  c = neutral();
  c.logit_bias = {{10, 1.0f}};
  EXPECT_EQ(chain(c), (Names{"logit-bias", "temp", "dist"}));
  c = neutral();
  c.grammar = R"(root ::= "a")";
  EXPECT_TRUE(make(c).has_grammar());  // beside the chain, see sampler.h
  EXPECT_EQ(chain(c), (Names{"temp", "dist"}));
  EXPECT_FALSE(make(neutral()).has_grammar());
  c.grammar = "root ::= (";
  EXPECT_FALSE(make(c).valid());
  // All at once, in the documented order.
  c = SamplingConfig{};
  c.typical_p = 0.9f;
  c.repeat_penalty = 1.1f;
  c.logit_bias = {{10, 1.0f}};
  EXPECT_EQ(chain(c), (Names{"logit-bias", "penalties", "top-k", "typical", "top-p", "min-p",
                             "temp", "dist"}));
}

// Each penalty, applied to explicit logits: greedy picks token 0 until it has been seen, then
// the penalty drops it below token 1. Prompt tokens count (accept_prompt), like output tokens.
TEST_F(SamplerChainTest, PenaltiesAndBiasChangeTheGreedyChoice) {
  auto greedy = neutral();
  greedy.temperature = 0.0f;
  auto plain = make(greedy);
  EXPECT_EQ(plain.sample(logits()), 0);
  EXPECT_EQ(plain.sample(logits()), 0);  // no penalty: the same again
  for (auto set : {+[](SamplingConfig& x) { x.repeat_penalty = 2.0f; },       // 1.0 / 2
                   +[](SamplingConfig& x) { x.frequency_penalty = 0.5f; },    // 1.0 - 0.5 x 1
                   +[](SamplingConfig& x) { x.presence_penalty = 0.5f; }}) {  // 1.0 - 0.5
    auto c = greedy;
    set(c);
    auto s = make(c);
    EXPECT_EQ(s.sample(logits()), 0);
    EXPECT_EQ(s.sample(logits()), 1) << "token 0 was not penalised";
    auto primed = make(c);
    const std::vector<llama_token> prompt = {0};
    primed.accept_prompt(prompt);
    EXPECT_EQ(primed.sample(logits()), 1) << "the prompt's token 0 was not penalised";
  }
  auto biased = greedy;
  biased.logit_bias = {{2, 5.0f}};
  EXPECT_EQ(make(biased).sample(logits()), 2);
  biased.logit_bias = {{0, -INFINITY}};
  EXPECT_EQ(make(biased).sample(logits()), 1);
}

// The grammar only lets through what it allows, whatever the logits prefer.
TEST_F(SamplerChainTest, GrammarOverridesTheLogits) {
  const llama_vocab* vocab = llama_model_get_vocab(model_.get());
  constexpr llama_token kWant = 1000;
  char buf[64] = {};
  const int n = llama_token_to_piece(vocab, kWant, buf, sizeof(buf), 0, false);
  ASSERT_GT(n, 0);
  std::string literal;
  for (char ch : std::string(buf, static_cast<size_t>(n))) {
    if (ch == '"' || ch == '\\') literal += '\\';
    literal += ch;
  }
  auto c = neutral();
  c.temperature = 0.0f;
  c.grammar = "root ::= \"" + literal + "\"";
  c.repeat_penalty = 1.5f;
  auto s = make(c);
  ASSERT_TRUE(s.valid()) << c.grammar;
  const std::vector<llama_token> prompt = {0, 1, 2};  // reaches the penalties, not the grammar
  s.accept_prompt(prompt);
  auto l = logits();
  l[kWant] = -10.0f;  // allowed, and above the other allowed spellings of the same text
  EXPECT_EQ(s.sample(l), kWant);
  // Done: only end-of-generation remains.
  EXPECT_TRUE(llama_vocab_is_eog(vocab, s.sample(l)));
}

TEST_F(SamplerChainTest, SeedAndChoiceResolve) {
  protocol::SamplingParams s;
  s.seed = 40;
  EXPECT_EQ(llama_cpp::resolve_sampling(s, 7, 2, 100)->seed, 42u);  // request seed + choice
  s.seed.reset();
  EXPECT_EQ(llama_cpp::resolve_sampling(s, 7, 1, 100)->seed, 8u);  // params.seed + choice
}

// Observable effects on the tiny chat model: each knob's output differs from (or, for the
// truncations taken to their limit, equals) plain greedy decoding.
class SamplingEffectTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string path = env_or_empty("SMMF_TEST_CHAT_MODEL");
    if (path.empty()) return;
    engine_ = load_engine(path, "llm", {{"parallel", 2}, {"ctx_size", 1024}, {"threads", 1}});
  }
  static void TearDownTestSuite() {
    if (engine_) run(engine_->unload());
    engine_.reset();
  }
  void SetUp() override {
    if (env_or_empty("SMMF_TEST_CHAT_MODEL").empty()) {
      GTEST_SKIP() << "SMMF_TEST_CHAT_MODEL is not set";
    }
    ASSERT_TRUE(engine_);
  }
  static protocol::CompletionRequest req() {
    protocol::CompletionRequest r;
    r.prompts = {"The weather today is"};
    r.gen.max_tokens = 16;
    r.gen.sampling.temperature = 0.0f;
    r.gen.sampling.logit_bias = {{2, -100.0f}};  // no EOS: always 16 tokens to compare
    return r;
  }
  static std::string text(const protocol::CompletionRequest& r) {
    CallContext ctx;
    auto out = run(engine_->complete(r, nullptr, ctx));
    EXPECT_TRUE(out) << out.error().message;
    return out ? out->choices[0].text : std::string();
  }
  static inline std::shared_ptr<Engine> engine_;
};

TEST_F(SamplingEffectTest, TruncationsAtTheirLimitEqualGreedy) {
  const std::string greedy = text(req());
  ASSERT_FALSE(greedy.empty());
  auto sampled = req();
  sampled.gen.sampling.temperature = 1.0f;
  sampled.gen.sampling.seed = 1;
  EXPECT_NE(text(sampled), greedy) << "temperature 1 should leave the greedy path";
  auto k1 = sampled;
  k1.gen.sampling.top_k = 1;
  EXPECT_EQ(text(k1), greedy);
  auto p0 = sampled;
  p0.gen.sampling.top_p = 0.0f;  // keeps only the most likely token (min_keep 1)
  EXPECT_EQ(text(p0), greedy);
  auto m1 = sampled;
  m1.gen.sampling.min_p = 1.0f;  // keeps tokens as likely as the best
  EXPECT_EQ(text(m1), greedy);
}

TEST_F(SamplingEffectTest, SeedDecidesSampledOutput) {
  auto r = req();
  r.gen.sampling.temperature = 1.0f;
  r.gen.sampling.top_k = 0;
  r.gen.sampling.top_p = 1.0f;
  r.gen.sampling.min_p = 0.0f;
  r.gen.sampling.seed = 5;
  const std::string a = text(r);
  EXPECT_EQ(text(r), a);
  r.gen.sampling.seed = 6;
  EXPECT_NE(text(r), a);
}

TEST_F(SamplingEffectTest, LogitBiasForcesAToken) {
  auto r = req();
  r.gen.max_tokens = 3;
  r.gen.sampling.logit_bias.push_back({1000, 100.0f});
  const std::string forced = text(r);
  auto one = req();
  one.gen.max_tokens = 1;
  one.gen.sampling.logit_bias.push_back({1000, 100.0f});
  const std::string piece = text(one);
  ASSERT_FALSE(piece.empty());
  EXPECT_EQ(forced, piece + piece + piece);
  EXPECT_NE(forced, text([] {
              auto g = req();
              g.gen.max_tokens = 3;
              return g;
            }()));
}

}  // namespace
}  // namespace smmf::engines::test
