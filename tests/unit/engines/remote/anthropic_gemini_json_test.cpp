// Translation to and from the Anthropic Messages and Gemini generateContent wire formats.
#include <gtest/gtest.h>

#include <limits>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "engines/anthropic/anthropic_json.h"
#include "engines/gemini/gemini_json.h"
#include "engines/remote/remote_params.h"

namespace smmf::engines {
namespace {
namespace json = boost::json;
using protocol::FinishReason;

protocol::ChatRequest conversation() {
  protocol::ChatRequest r;
  r.messages = {
      {"system", "Be brief.", ""},   {"user", "a", ""}, {"user", "b", ""}, {"assistant", "c", ""},
      {"developer", "Be kind.", ""}, {"user", "d", ""}};
  r.gen.stop = {"END"};
  r.gen.sampling.temperature = 0.5f;
  r.gen.sampling.top_p = 0.9f;
  r.gen.sampling.top_k = 40;
  return r;
}

TEST(AnthropicJson, Request) {
  auto r = conversation();
  auto o = anthropic::messages_request(r, "claude-x", 4096, true);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->at("model").as_string(), "claude-x");
  EXPECT_EQ(o->at("system").as_string(), "Be brief.\n\nBe kind.");
  EXPECT_EQ(o->at("max_tokens").as_int64(), 4096);
  EXPECT_TRUE(o->at("stream").as_bool());
  EXPECT_EQ(json::serialize(o->at("messages")),
            R"([{"role":"user","content":"a\n\nb"},{"role":"assistant","content":"c"},)"
            R"({"role":"user","content":"d"}])");
  EXPECT_EQ(json::serialize(o->at("stop_sequences")), R"(["END"])");
  EXPECT_EQ(o->at("top_k").as_int64(), 40);
  r.gen.max_tokens = 9;
  r.gen.user = "u";
  auto o2 = anthropic::messages_request(r, "m", 4096, false);
  EXPECT_EQ(o2->at("max_tokens").as_int64(), 9);
  EXPECT_EQ(o2->at("metadata").at("user_id").as_string(), "u");
  EXPECT_FALSE(o2->contains("stream"));
  r.gen.n = 2;
  auto bad = anthropic::messages_request(r, "m", 1, false);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().param, "n");
  protocol::ChatRequest tool;
  tool.messages = {{"tool", "x", ""}};
  EXPECT_EQ(anthropic::messages_request(tool, "m", 1, false).error().param, "messages[0].role");
}

TEST(AnthropicJson, ResponseAndStream) {
  auto v = json::parse(R"({"id":"msg_1","type":"message","role":"assistant","content":[
      {"type":"text","text":"Hel"},{"type":"text","text":"lo"}],"stop_reason":"max_tokens",
      "usage":{"input_tokens":10,"cache_read_input_tokens":3,"output_tokens":5}})");
  auto r = anthropic::parse_messages_response(v);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->choices[0].text, "Hello");
  EXPECT_EQ(r->choices[0].finish_reason, FinishReason::kLength);
  EXPECT_EQ(r->usage.prompt_tokens, 13);
  EXPECT_EQ(r->usage.cached_tokens, 3);
  EXPECT_EQ(r->usage.completion_tokens, 5);

  anthropic::StreamDecoder d("https://api.anthropic.com:443");
  std::vector<protocol::Delta> out;
  auto feed = [&](std::string_view ev, std::string_view data) {
    auto x = d.on_event(ev, data, out);
    EXPECT_TRUE(x);
    return x && *x;
  };
  EXPECT_FALSE(
      feed("message_start",
           R"({"type":"message_start","message":{"usage":{"input_tokens":7,"output_tokens":1}}})"));
  EXPECT_FALSE(feed(
      "content_block_start",
      R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"));
  EXPECT_FALSE(feed("ping", R"({"type":"ping"})"));
  EXPECT_FALSE(feed(
      "content_block_delta",
      R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}})"));
  EXPECT_FALSE(feed("content_block_stop", R"({"type":"content_block_stop","index":0})"));
  EXPECT_FALSE(feed(
      "message_delta",
      R"({"type":"message_delta","delta":{"stop_reason":"stop_sequence"},"usage":{"output_tokens":4}})"));
  EXPECT_TRUE(feed("message_stop", R"({"type":"message_stop"})"));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].text, "Hi");
  EXPECT_EQ(out[1].finish_reason, FinishReason::kStop);
  EXPECT_EQ(d.usage().prompt_tokens, 7);
  EXPECT_EQ(d.usage().completion_tokens, 4);

  anthropic::StreamDecoder e("up");
  auto err = e.on_event(
      "error", R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})",
      out);
  ASSERT_FALSE(err);
  EXPECT_EQ(err.error().http_status, 529);
  EXPECT_NE(err.error().message.find("Overloaded"), std::string::npos);
}

// Token counts near INT_MAX (an upstream's numbers are not trusted): their sum is clamped, not
// overflowed (the fuzzer found `3 + 2147483647`).
TEST(AnthropicJson, HugeTokenCountsAreClamped) {
  auto r = anthropic::parse_messages_response(json::parse(R"({"content":[],"usage":{
      "input_tokens":2147483647,"cache_read_input_tokens":3,"cache_creation_input_tokens":1e30}})"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->usage.prompt_tokens, std::numeric_limits<int>::max());
  auto g = gemini::decode_response(json::parse(
      R"({"usageMetadata":{"candidatesTokenCount":2147483647,"thoughtsTokenCount":2147483647}})"));
  ASSERT_TRUE(g);
  EXPECT_EQ(g->usage->completion_tokens, std::numeric_limits<int>::max());
}

TEST(GeminiJson, Request) {
  auto r = conversation();
  r.gen.max_tokens = 12;
  r.gen.n = 2;
  auto o = gemini::generate_request(r);
  ASSERT_TRUE(o);
  EXPECT_EQ(json::serialize(o->at("systemInstruction")),
            R"({"parts":[{"text":"Be brief."},{"text":"Be kind."}]})");
  EXPECT_EQ(json::serialize(o->at("contents")),
            R"([{"role":"user","parts":[{"text":"a"},{"text":"b"}]},)"
            R"({"role":"model","parts":[{"text":"c"}]},{"role":"user","parts":[{"text":"d"}]}])");
  const auto& g = o->at("generationConfig").as_object();
  EXPECT_EQ(g.at("maxOutputTokens").as_int64(), 12);
  EXPECT_EQ(g.at("topK").as_int64(), 40);
  EXPECT_EQ(g.at("candidateCount").as_int64(), 2);
  EXPECT_EQ(json::serialize(g.at("stopSequences")), R"(["END"])");
  EXPECT_EQ(gemini::model_path("gemini-2.0-flash"), "models/gemini-2.0-flash");
  EXPECT_EQ(gemini::model_path("tunedModels/x"), "tunedModels/x");
}

TEST(GeminiJson, ResponsesAndBlocks) {
  auto v = json::parse(R"({"candidates":[{"content":{"role":"model","parts":[{"text":"Hi"},
      {"text":" there"}]},"finishReason":"MAX_TOKENS","index":0}],
      "usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":2,"totalTokenCount":6}})");
  auto d = gemini::decode_response(v);
  ASSERT_TRUE(d);
  ASSERT_EQ(d->deltas.size(), 1u);
  EXPECT_EQ(d->deltas[0].text, "Hi there");
  EXPECT_EQ(d->deltas[0].finish_reason, FinishReason::kLength);
  EXPECT_EQ(d->usage->prompt_tokens, 4);
  EXPECT_EQ(d->usage->completion_tokens, 2);
  auto blocked =
      gemini::decode_response(json::parse(R"({"promptFeedback":{"blockReason":"SAFETY"}})"));
  ASSERT_FALSE(blocked);
  EXPECT_EQ(blocked.error().code, ErrorCode::kInvalidArgument);
  auto emb = gemini::parse_embed_response(
      json::parse(R"({"embeddings":[{"values":[1,2.5]},{"values":[0]}]})"), 2);
  ASSERT_TRUE(emb);
  EXPECT_FLOAT_EQ(emb->embeddings[0][1], 2.5f);
  EXPECT_FALSE(gemini::parse_embed_response(json::parse(R"({"embeddings":[]})"), 1));
}

TEST(RemoteParams, RedactAndUpstreamErrors) {
  EXPECT_EQ(remote::redact("key sk-123 and sk-123", "sk-123"), "key [redacted] and [redacted]");
  EXPECT_EQ(remote::redact("abc", ""), "abc");
  auto e = remote::upstream_failure(401, R"({"error":{"message":"bad key sk-SECRET"}})", "u",
                                    "sk-SECRET");
  EXPECT_EQ(e.message.find("sk-SECRET"), std::string::npos);
  EXPECT_EQ(e.http_status, 401);
  EXPECT_EQ(e.code, ErrorCode::kUnauthenticated);
  auto html = remote::upstream_failure(502, "<html>Bad Gateway</html>", "u", "");
  EXPECT_EQ(html.code, ErrorCode::kUnavailable);
  EXPECT_NE(html.message.find("Bad Gateway"), std::string::npos);
  auto gem = remote::upstream_failure(
      400, R"({"error":{"code":400,"message":"API key not valid","status":"INVALID_ARGUMENT"}})",
      "u", "");
  EXPECT_NE(gem.message.find("API key not valid"), std::string::npos);
  auto zh = remote::upstream_failure(400, R"({"code":1214,"msg":"bad messages"})", "u", "");
  EXPECT_NE(zh.message.find("bad messages"), std::string::npos);
  EXPECT_EQ(remote::estimate_tokens("abcde"), 2);
}

}  // namespace
}  // namespace smmf::engines
