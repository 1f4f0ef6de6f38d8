#include "protocol/stream_chunk_scan.h"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include "protocol/openai_client_json.h"
#include "protocol/sse.h"

namespace smmf::protocol {
namespace {

// What the full parser reads from `data`, to compare the scan with.
std::vector<Delta> full(std::string_view data) {
  auto c = parse_stream_chunk(boost::json::parse(data));
  EXPECT_TRUE(c);
  return c ? c->deltas : std::vector<Delta>{};
}

void expect_same(const std::vector<Delta>& a, const std::vector<Delta>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].index, b[i].index);
    EXPECT_EQ(a[i].text, b[i].text);
    EXPECT_EQ(a[i].finish_reason, b[i].finish_reason);
  }
}

TEST(StreamChunkScan, ReadsDeltasLikeTheFullParser) {
  for (
      std::string_view data : {
          R"({"id":"u1","object":"chat.completion.chunk","created":1,"model":"up","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]})",
          R"({"id":"u1","choices":[{"index":0,"delta":{"content":"Hel\"lo\n\u00e9\ud83d\ude00"},"logprobs":null,"finish_reason":null}]})",
          R"({"id":"u1","choices":[{"index":1,"delta":{},"finish_reason":"length"},{"index":0,"delta":{"content":null},"finish_reason":"stop"}]})",
          R"( { "choices" : [ { "text" : "plain" , "index" : 2 } ] , "system_fingerprint" : "fp" } )",
          R"({"choices":[{"index":0,"delta":{"content":"x","tool_calls":[{"id":"t","function":{"arguments":"{}"}}]}}]})",
          R"({"created":-1.5e+3,"n":[0,10,2.25E-2],"choices":[{"index":0,"text":"n"}]})",
      }) {
    StreamChunkView v;
    std::vector<Delta> d;
    ASSERT_TRUE(scan_stream_chunk(data, v, d)) << data;
    EXPECT_FALSE(v.needs_full_parse) << data;
    expect_same(d, full(data));
  }
}

TEST(StreamChunkScan, RelaysOtherMembersWithOurHead) {
  std::string_view data =
      R"({"id":"up-1","object":"chat.completion.chunk","created":5,"model":"gpt-x","system_fingerprint":"fp","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}],"usage":null})";
  StreamChunkView v;
  std::vector<Delta> d;
  ASSERT_TRUE(scan_stream_chunk(data, v, d));
  EXPECT_EQ(v.n_choices, 1u);
  std::string head = relayed_chunk_head("chatcmpl-1", "chat.completion.chunk", 7, "my\"model");
  std::string out;
  append_relayed_chunk(out, head, v, true);
  EXPECT_EQ(out,
            "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":7,"
            "\"model\":\"my\\\"model\",\"system_fingerprint\":\"fp\",\"choices\":[{\"index\":0,"
            "\"delta\":{\"content\":\"hi\"},\"finish_reason\":null}],\"usage\":null}\n\n");
  out.clear();
  append_relayed_chunk(out, head, v, false);
  auto parsed = boost::json::parse(out.substr(6));
  EXPECT_FALSE(parsed.as_object().contains("usage"));
  EXPECT_EQ(parsed.at("model"), "my\"model");
}

TEST(StreamChunkScan, PrettyPrintedChunkStaysValidSse) {
  std::string_view data =
      "{\n  \"choices\": [\n {\"index\": 0, \"delta\": {\"content\": \"a\"}}\n]\n}";
  StreamChunkView v;
  std::vector<Delta> d;
  ASSERT_TRUE(scan_stream_chunk(data, v, d));
  std::string out;
  append_relayed_chunk(out, relayed_chunk_head("i", "o", 1, "m"), v, false);
  SseParser p;
  std::vector<SseEvent> events;
  ASSERT_TRUE(p.feed(out, events));
  ASSERT_EQ(events.size(), 1u);
  auto parsed = boost::json::parse(events[0].data);
  EXPECT_EQ(parsed.at("choices").at(0).at("delta").at("content"), "a");
}

TEST(StreamChunkScan, FlagsUsageAndErrorsForTheFullParser) {
  for (
      std::string_view data : {
          R"({"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":5}})",
          R"({"choices":[{"index":0,"delta":{},"finish_reason":"stop","usage":{"prompt_tokens":1}}]})",
          R"({"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"x_groq":{"usage":{}}})",
          R"({"error":{"message":"boom"}})",
      }) {
    StreamChunkView v;
    std::vector<Delta> d;
    ASSERT_TRUE(scan_stream_chunk(data, v, d)) << data;
    EXPECT_TRUE(v.needs_full_parse) << data;
  }
}

TEST(StreamChunkScan, RejectsWhatItDoesNotKnow) {
  for (std::string_view data : {
           "",
           "[DONE]",
           "[]",
           "{",
           R"({"choices":{}})",
           R"({"choices":[1]})",
           R"({"choices":[{"index":"0"}]})",
           R"({"choices":[{"index":-1}]})",
           R"({"choices":[{"index":01}]})",
           R"({"choices":[{"index":1.0}]})",
           R"({"choices":[{"index":0}]} x)",
           R"({"a":tru})",
           R"({"a":"unterminated})",
           R"({"a":"bad \q escape"})",  // escapes JSON does not have go to the full parser
           R"({"a":"short \u12"})",
           R"({"a":--1})",
           R"({"a":01})",
           R"({"a":1.})",
           R"({"a":1e})",
           R"({"a":+1})",
           R"({"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9})",
       }) {
    StreamChunkView v;
    std::vector<Delta> d;
    EXPECT_FALSE(scan_stream_chunk(data, v, d)) << data;
  }
  std::string deep = "{\"a\":" + std::string(100, '[') + std::string(100, ']') + "}";
  StreamChunkView v;
  std::vector<Delta> d;
  EXPECT_FALSE(scan_stream_chunk(deep, v, d));
}

}  // namespace
}  // namespace smmf::protocol

namespace smmf::protocol {
namespace {

void expect_same_result(std::string_view body) {
  GenerationResult scanned;
  ASSERT_TRUE(scan_generation_response(body, scanned)) << body;
  auto full = parse_generation_response(boost::json::parse(body));
  ASSERT_TRUE(full) << body;
  ASSERT_EQ(scanned.choices.size(), full->choices.size()) << body;
  for (size_t i = 0; i < scanned.choices.size(); ++i) {
    EXPECT_EQ(scanned.choices[i].index, full->choices[i].index) << body;
    EXPECT_EQ(scanned.choices[i].text, full->choices[i].text) << body;
    EXPECT_EQ(scanned.choices[i].finish_reason, full->choices[i].finish_reason) << body;
  }
  EXPECT_EQ(scanned.usage.prompt_tokens, full->usage.prompt_tokens) << body;
  EXPECT_EQ(scanned.usage.completion_tokens, full->usage.completion_tokens) << body;
  EXPECT_EQ(scanned.usage.cached_tokens, full->usage.cached_tokens) << body;
}

// The non-streamed reader agrees with parse_generation_response on what it accepts.
TEST(GenerationResponseScan, ReadsLikeTheFullParser) {
  for (
      std::string_view body : {
          R"({"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hel\"lo\n\u00e9\ud83d\ude00"},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":14,"total_tokens":26,"prompt_tokens_details":{"cached_tokens":3}},"system_fingerprint":"fp"})",
          R"({"choices":[{"index":1,"message":{"content":null,"tool_calls":[{"id":"t"}]},"finish_reason":"tool_calls"},{"index":0,"text":"ignored when a message is there","message":{"content":"m"},"finish_reason":"length"}]})",
          R"( { "usage" : null , "choices" : [ { "text" : "plain" , "index" : 2 , "finish_reason" : null } ] } )",
          R"({"choices":[],"usage":{"prompt_tokens":1,"prompt_tokens_details":null,"completion_tokens":0}})",
          R"({"choices":[{"message":"not an object","text":"t"}],"usage":{"prompt_tokens_details":[1]}})",
          // integers of nine digits and fewer are read digit by digit, the others by from_chars
          R"({"choices":[{"index":999999999,"text":"a"},{"index":2147483647,"text":"b"},{"index":-3}],"usage":{"prompt_tokens":0,"completion_tokens":1000000000,"prompt_tokens_details":{"cached_tokens":-0}}})",
          R"({"choices":[{"index":0,"text":"a"}],"usage":{"prompt_tokens":7,"completion_tokens":123456789}})",
      })
    expect_same_result(body);
  // Strings long enough for the eight-bytes-at-a-time path, with escapes before, at and after
  // its start, and one ending exactly at the boundary.
  for (std::string text : {std::string(15, 'a') + "\\n" + std::string(40, 'b'),
                           std::string(16, 'a') + "\\\"" + std::string(7, 'c') + "\\t",
                           std::string(57, 'x') + "\\u00e9" + std::string(9, 'y'),
                           std::string(16, 'z'), std::string(300, 'w')})
    expect_same_result(R"({"choices":[{"index":0,"message":{"content":")" + text +
                       R"("},"finish_reason":"stop"}]})");
  GenerationResult r;
  std::string control = R"({"choices":[{"text":")" + std::string(40, 'a') + "\x01" + R"("}]})";
  EXPECT_FALSE(scan_generation_response(control, r));  // a raw control character: invalid
}

TEST(GenerationResponseScan, LeavesTheRestToTheFullParser) {
  GenerationResult r;
  for (std::string_view body : {
           R"([])",
           R"({"object":"chat.completion"})",            // no choices
           R"({"choices":[{"index":1.5,"text":"a"}]})",  // not an int
           R"({"choices":[{"index":0,"text":"a"}],"usage":{"prompt_tokens":1e10}})",
           R"({"choices":[{"index":99999999999,"text":"a"}]})",  // beyond int
           R"({"choices":[{"index":01,"text":"a"}]})",
           R"({"choices":[{"index":1e0,"text":"a"}]})",
           R"({"choices":[{"index":0.0,"text":"a"}]})",
           R"({"choices":[{"text":7}]})",  // not a string
           R"({"choices":[],"x_groq":{"usage":{"prompt_tokens":1}}})",
           R"({"error":{"message":"m"},"choices":[]})",
           R"({"choices":[{"text":"a"}]} trailing)",
           R"({"choices":[{"text":"a})",
           R"({"choices":[{"text":"a"}],"choices":[{"text":"b"}]})",  // given twice
           R"({"choices":[],"usage":{"prompt_tokens":1},"usage":null})",
       })
    EXPECT_FALSE(scan_generation_response(body, r)) << body;
  StreamChunkView v;
  std::vector<Delta> d;
  EXPECT_FALSE(
      scan_stream_chunk(R"({"choices":[{"index":0,"delta":{"content":"a"}}],"choices":[]})", v, d));
}

}  // namespace
}  // namespace smmf::protocol
