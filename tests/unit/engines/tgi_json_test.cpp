#include "engines/tgi/tgi_json.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "engines/tgi/tei_engine.h"

namespace smmf::engines::tgi {
namespace {
namespace json = boost::json;

TEST(TgiJson, GenerateBodyMapsParameters) {
  protocol::GenerationParams g;
  g.max_tokens = 7;
  g.sampling.temperature = 0.5f;
  g.sampling.top_p = 1.0f;  // neutral: left out (TGI wants < 1)
  g.sampling.top_k = 3;
  g.sampling.seed = 9;
  g.stop = {"\n"};
  auto b = generate_body("hi", g, 100);
  EXPECT_EQ(b.at("inputs").as_string(), "hi");
  const auto& p = b.at("parameters").as_object();
  EXPECT_EQ(p.at("max_new_tokens").as_int64(), 7);
  EXPECT_TRUE(p.at("do_sample").as_bool());
  EXPECT_FALSE(p.contains("top_p"));
  EXPECT_EQ(p.at("top_k").as_int64(), 3);
  EXPECT_FALSE(p.contains("repetition_penalty"));

  protocol::GenerationParams greedy;
  greedy.sampling.temperature = 0.0f;
  auto gb = generate_body("x", greedy, 100);
  EXPECT_FALSE(gb.at("parameters").at("do_sample").as_bool());
  EXPECT_FALSE(gb.at("parameters").as_object().contains("temperature"));
  EXPECT_EQ(gb.at("parameters").at("max_new_tokens").as_int64(), 100);
}

TEST(TgiJson, FinishReasons) {
  EXPECT_EQ(finish_from_tgi("length"), protocol::FinishReason::kLength);
  EXPECT_EQ(finish_from_tgi("eos_token"), protocol::FinishReason::kStop);
  EXPECT_EQ(finish_from_tgi("stop_sequence"), protocol::FinishReason::kStop);
  EXPECT_FALSE(finish_from_tgi("other"));
}

TEST(TgiJson, ParsesStreamEvents) {
  auto tok = parse_stream_event(
      json::parse(R"({"index":1,"token":{"id":5,"text":" a","logprob":-1,"special":false},
                      "generated_text":null,"details":null})"),
      "tgi");
  ASSERT_TRUE(tok);
  EXPECT_EQ(tok->text, " a");
  EXPECT_FALSE(tok->last);
  auto last = parse_stream_event(
      json::parse(R"({"index":2,"token":{"id":2,"text":"</s>","logprob":0,"special":true},
                      "generated_text":" a","details":{"finish_reason":"eos_token",
                      "generated_tokens":2,"seed":null,"input_length":4}})"),
      "tgi");
  ASSERT_TRUE(last);
  EXPECT_EQ(last->text, "");
  EXPECT_TRUE(last->last);
  EXPECT_EQ(last->details.generated_tokens, 2);
  EXPECT_EQ(last->details.prompt_tokens, 4);
  auto err = parse_stream_event(json::parse(R"({"error":"oom","error_type":"generation"})"), "tgi");
  ASSERT_FALSE(err);
  EXPECT_NE(err.error().message.find("oom"), std::string::npos);
}

TEST(TgiJson, StopTrimmerHoldsBackAndDropsTheStopSequence) {
  StopTrimmer t({"END"});
  std::string out;
  for (auto piece : {"hel", "lo E", "N", "D"}) out += t.push(piece);
  out += t.finish(true);
  EXPECT_EQ(out, "hello ");
  StopTrimmer u({"END"});
  std::string all = u.push("abc EN");
  all += u.finish(false);
  EXPECT_EQ(all, "abc EN");
  StopTrimmer none({});
  EXPECT_EQ(none.push("x"), "x");
}

TEST(TeiJson, ParsesEmbedAndRerank) {
  auto e = parse_tei_embeddings(json::parse("[[1,0],[0.5,0.5]]"), 2);
  ASSERT_TRUE(e);
  EXPECT_FLOAT_EQ(e->embeddings[1][0], 0.5f);
  EXPECT_FALSE(parse_tei_embeddings(json::parse("[[1,0]]"), 2));
  auto r = parse_tei_rerank(json::parse(R"([{"index":1,"score":0.8},{"index":0,"score":0.1}])"), 2);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->results[0].index, 0);
  EXPECT_DOUBLE_EQ(r->results[1].relevance_score, 0.8);
  EXPECT_FALSE(parse_tei_rerank(json::parse(R"([{"index":5,"score":0.8}])"), 2));
}

}  // namespace
}  // namespace smmf::engines::tgi
