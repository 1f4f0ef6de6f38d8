// scan_chat_request against the full parser: what the scan accepts, the full parser accepts
// too and reads the same; the bodies clients usually send are accepted; the rest is declined.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/openai_json.h"

namespace smmf::protocol {
namespace {

Result<ChatRequest> full(std::string_view body, const ParseLimits& limits = {}) {
  auto v = parse_json(body);
  if (!v) return v.error();
  return parse_chat_request(*v, limits);
}

// The scan's answer for `body`, checked against the full parser's when it accepts.
bool scanned(std::string_view body, const ParseLimits& limits = {}) {
  ChatRequest fast;
  if (!scan_chat_request(body, limits, fast)) return false;
  auto ref = full(body, limits);
  EXPECT_TRUE(ref.has_value()) << body;
  if (ref) {
    EXPECT_TRUE(fast == *ref) << body;
  }
  return true;
}

TEST(ScanChatRequest, AcceptsTheUsualBodiesAndReadsThemAsTheFullParser) {
  const std::vector<std::string> bodies = {
      R"({"model":"m","messages":[{"role":"user","content":"hi"}]})",
      R"({"model":"mock","max_tokens":64,"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Hello, how are you today?"}]})",
      R"({"model":"mock","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"x"}]})",
      R"( { "model" : "m" , "messages" : [ { "role" : "user" , "content" : "a\nb \"q\" \\ \/ \t" } ] } )",
      R"({"messages":[{"role":"developer","content":"d"},{"role":"assistant","content":null},{"role":"tool","content":"t","tool_call_id":"c1","extra":{"a":[1,2,{"b":null}]}}],"model":"m"})",
      R"({"model":"m","messages":[{"role":"user","content":"x","name":"bob"}],"temperature":0.7,"top_p":1,"n":2,"user":"u1"})",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"temperature":0,"top_p":0.95})",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"temperature":1.25e0,"top_p":5E-1})",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"temperature":-0.0})",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_usage":true}})",
      R"({"stream_options":{"include_usage":false},"model":"m","messages":[{"role":"user","content":"x"}],"stream":true})",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"stop":"END"})",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"stop":["a","","b"]})",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"stop":[]})",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_completion_tokens":5,"max_tokens":9})",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":16777216})",
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\xe4\xbd\xa0\xe5\xa5\xbd "
      "\xf0\x9f\x98\x80\"}]}",
      R"({"model":"m","messages":[{"role":"user","content":""}],"stream":false})",
      R"({"model":"m","messages":[{"role":"user","content":"x","extra":[1e400,-0,1.5e-7]}]})",
      R"({"model":"m","messages":[{"role":"user","content":"\u00e9\u4f60\ud83d\ude00"}]})",
      // integers of up to nine digits are read as they are scanned, longer ones by from_chars
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":999999,"n":1})",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":1234567})",
  };
  for (const auto& b : bodies) EXPECT_TRUE(scanned(b)) << b;
}

TEST(ScanChatRequest, DeclinesErrorsAndWhatItLeavesToTheFullParser) {
  const std::vector<std::string> bodies = {
      "",
      "[]",
      "{}",
      "null",
      R"({"model":"m"})",
      R"({"messages":[{"role":"user","content":"x"}]})",
      R"({"model":"","messages":[{"role":"user","content":"x"}]})",
      R"({"model":"m","messages":[]})",
      R"({"model":"m","messages":{}})",
      R"({"model":"m","messages":[{"content":"x"}]})",
      R"({"model":"m","messages":[{"role":"robot","content":"x"}]})",
      R"({"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"x"}]}]})",
      R"({"model":"m","messages":[{"role":"user","content":"x","name":7}]})",
      R"({"model":"m","messages":[{"role":"user","role":"user","content":"x"}]})",
      R"({"model":"m","model":"n","messages":[{"role":"user","content":"x"}]})",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"temperature":2.5})",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"temperature":"1"})",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"temperature":null})",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"temperature":0.1234567890123456})",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"temperature":1e-30})",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":0})",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":64.0})",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":64e0})",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":064})",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":-64})",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":1234567890})",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":99999999999999999999})",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"n":17})",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"stream":"yes"})",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":true}})",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"x":1}})",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"stop":["a","b","c","d","e"]})",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"stop":[1]})",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"seed":1})",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"tools":[]})",
      R"({"model":"m","messages":[{"role":"user","content":"x","extra":"\ud800"}]})",
      R"({"model":"m","messages":[{"role":"user","content":"\ud800"}]})",
      R"({"model":"m","messages":[{"role":"user","content":"x","extra":"\q"}]})",
      R"({"model":"m","messages":[{"role":"user","content":"x","extra":1e9999999999}]})",
      R"({"model":"m","messages":[{"role":"user","content":"x","extra":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}]})",
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\xc0\xaf\"}]}",
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\xed\xa0\x80\"}]}",
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\xf4\x90\x80\x80\"}]}",
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\xe4\xbd\"}]}",
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\x01\"}]}",
      R"({"model":"m","messages":[{"role":"user","content":"x"}]} x)",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],})",
      R"({"model":"m","messages":[{"role":"user","content":"x"},]})",
  };
  for (const auto& b : bodies) EXPECT_FALSE(scanned(b)) << b;
}

TEST(ScanChatRequest, HonoursTheLimits) {
  ParseLimits limits;
  limits.max_n = 2;
  limits.max_stop = 1;
  EXPECT_TRUE(scanned(R"({"model":"m","messages":[{"role":"user","content":"x"}],"n":2})", limits));
  EXPECT_FALSE(
      scanned(R"({"model":"m","messages":[{"role":"user","content":"x"}],"n":3})", limits));
  EXPECT_TRUE(
      scanned(R"({"model":"m","messages":[{"role":"user","content":"x"}],"stop":["a"]})", limits));
  EXPECT_FALSE(scanned(
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"stop":["a","b"]})", limits));
}

TEST(ScanChatRequest, MaxCompletionTokensWinsWhateverTheOrder) {
  ChatRequest r;
  ASSERT_TRUE(scan_chat_request(
      R"({"max_completion_tokens":5,"max_tokens":9,"model":"m","messages":[{"role":"user","content":"x"}]})",
      {}, r));
  EXPECT_EQ(r.gen.max_tokens, 5);
}

}  // namespace
}  // namespace smmf::protocol
