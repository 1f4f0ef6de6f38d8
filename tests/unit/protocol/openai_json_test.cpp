#include "protocol/openai_json.h"
#include "protocol/json_text.h"
#include "protocol/openai_client_json.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstring>
#include <limits>

namespace smmf::protocol {
namespace {

namespace json = boost::json;

Result<ChatRequest> chat(std::string_view body) {
  auto v = parse_json(body);
  if (!v) return v.error();
  return parse_chat_request(*v);
}

TEST(ParseJson, MalformedIsInvalidArgument) {
  auto r = parse_json("{\"model\": ");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("not valid JSON"), std::string::npos);
}

TEST(ChatRequest, ParsesEveryParameter) {
  auto r = chat(R"({"model":"m","messages":[{"role":"system","content":"s"},
    {"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}],
    "max_tokens":7,"temperature":0.5,"top_p":0.9,"top_k":40,"min_p":0.05,"seed":42,
    "stop":["x","y"],"presence_penalty":0.1,"frequency_penalty":-0.2,"n":2,"user":"u",
    "stream":true,"stream_options":{"include_usage":true},"logit_bias":{"15":-100}})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->model, "m");
  ASSERT_EQ(r->messages.size(), 2u);
  EXPECT_EQ(r->messages[1].content, "ab");
  EXPECT_EQ(r->gen.max_tokens, 7);
  EXPECT_FLOAT_EQ(*r->gen.sampling.temperature, 0.5f);
  EXPECT_FLOAT_EQ(*r->gen.sampling.top_p, 0.9f);
  EXPECT_EQ(*r->gen.sampling.top_k, 40);
  EXPECT_FLOAT_EQ(*r->gen.sampling.min_p, 0.05f);
  EXPECT_EQ(*r->gen.sampling.seed, 42u);
  EXPECT_EQ(r->gen.stop, (std::vector<std::string>{"x", "y"}));
  EXPECT_FLOAT_EQ(r->gen.sampling.frequency_penalty, -0.2f);
  EXPECT_EQ(r->gen.n, 2);
  EXPECT_EQ(r->gen.user, "u");
  EXPECT_TRUE(r->gen.stream);
  EXPECT_TRUE(r->gen.include_usage);
  ASSERT_EQ(r->gen.sampling.logit_bias.size(), 1u);
  EXPECT_EQ(r->gen.sampling.logit_bias[0].first, 15);
}

TEST(ChatRequest, MaxCompletionTokensWins) {
  auto r = chat(R"({"model":"m","messages":[{"role":"user","content":"hi"}],
    "max_tokens":5,"max_completion_tokens":9})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->gen.max_tokens, 9);
}

TEST(ChatRequest, StopAsStringAndNulls) {
  auto r = chat(R"({"model":"m","messages":[{"role":"user","content":"hi"}],"stop":"END",
    "temperature":null,"seed":null})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->gen.stop, std::vector<std::string>{"END"});
  EXPECT_FALSE(r->gen.sampling.temperature);
}

struct BadCase {
  const char* body;
  const char* param;
};

class ChatRequestErrors : public testing::TestWithParam<BadCase> {};

TEST_P(ChatRequestErrors, NameTheParameter) {
  auto r = chat(GetParam().body);
  ASSERT_FALSE(r) << GetParam().body;
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().param, GetParam().param) << r.error().message;
  EXPECT_FALSE(r.error().message.empty());
}

INSTANTIATE_TEST_SUITE_P(
    All, ChatRequestErrors,
    testing::Values(
        BadCase{R"([1,2])", ""},
        BadCase{R"({"messages":[{"role":"user","content":"x"}]})", "model"},
        BadCase{R"({"model":"","messages":[{"role":"user","content":"x"}]})", "model"},
        BadCase{R"({"model":5,"messages":[{"role":"user","content":"x"}]})", "model"},
        BadCase{R"({"model":"m"})", "messages"},
        BadCase{R"({"model":"m","messages":[]})", "messages"},
        BadCase{R"({"model":"m","messages":[{"content":"x"}]})", "messages[0].role"},
        BadCase{R"({"model":"m","messages":[{"role":"robot","content":"x"}]})", "messages[0].role"},
        BadCase{R"({"model":"m","messages":[{"role":"user","content":5}]})", "messages[0].content"},
        BadCase{R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url"}]}]})",
                "messages[0].content[0].type"},
        BadCase{R"({"model":"m","messages":[{"role":"user","content":"x"}],"temperature":5})",
                "temperature"},
        BadCase{R"({"model":"m","messages":[{"role":"user","content":"x"}],"temperature":"hot"})",
                "temperature"},
        BadCase{R"({"model":"m","messages":[{"role":"user","content":"x"}],"top_p":1.5})", "top_p"},
        BadCase{R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":0})",
                "max_tokens"},
        BadCase{R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":1.5})",
                "max_tokens"},
        BadCase{R"({"model":"m","messages":[{"role":"user","content":"x"}],"n":0})", "n"},
        BadCase{R"({"model":"m","messages":[{"role":"user","content":"x"}],"n":1000})", "n"},
        BadCase{R"({"model":"m","messages":[{"role":"user","content":"x"}],"stop":[1]})", "stop"},
        BadCase{R"({"model":"m","messages":[{"role":"user","content":"x"}],
                   "stop":["a","b","c","d","e"]})",
                "stop"},
        BadCase{R"({"model":"m","messages":[{"role":"user","content":"x"}],"stream":"yes"})",
                "stream"},
        BadCase{R"({"model":"m","messages":[{"role":"user","content":"x"}],
                   "stream_options":{"include_usage":true}})",
                "stream_options"},
        BadCase{R"({"model":"m","messages":[{"role":"user","content":"x"}],"stream":true,
                   "stream_options":{"include_usage":1}})",
                "stream_options.include_usage"},
        BadCase{R"({"model":"m","messages":[{"role":"user","content":"x"}],
                   "presence_penalty":-3})",
                "presence_penalty"},
        BadCase{R"({"model":"m","messages":[{"role":"user","content":"x"}],
                   "logit_bias":{"abc":1}})",
                "logit_bias"},
        BadCase{R"({"model":"m","messages":[{"role":"user","content":"x"}],
                   "tools":[{"type":"function"}]})",
                "tools"},
        BadCase{R"({"model":"m","messages":[{"role":"user","content":"x"}],"logprobs":true})",
                "logprobs"},
        BadCase{R"({"model":"m","messages":[{"role":"user","content":"x"}],
                   "response_format":{"type":"xml"}})",
                "response_format"},
        BadCase{R"({"model":"m","messages":[{"role":"user","content":"x"}],
                   "response_format":{"type":"json_schema"}})",
                "response_format"},
        BadCase{R"({"model":"m","messages":[{"role":"user","content":"x"}],
                   "response_format":{"type":"json_schema","json_schema":{"name":"x",
                   "schema":[1]}}})",
                "response_format"},
        BadCase{R"({"model":"m","messages":[{"role":"user","content":"x"}],
                   "response_format":{"type":"json_object"},"grammar":"root ::= \"a\""})",
                "grammar"},
        BadCase{R"({"model":"m","messages":[{"role":"user","content":"x"}],"priority":1.5})",
                "priority"},
        BadCase{R"({"model":"m","messages":[{"role":"user","content":"x"}],
                   "priority":3000000000})",
                "priority"}));

TEST(ChatRequest, ResponseFormatGrammarAndPriority) {
  auto r =
      parse_chat_request(*parse_json(R"({"model":"m","messages":[{"role":"user","content":"x"}],
      "response_format":{"type":"json_schema","json_schema":{"name":"person","strict":true,
      "schema":{"type":"object","required":["a"]}}},"priority":-7})"));
  ASSERT_TRUE(r) << r.error().message;
  const auto& f = r->gen.response_format;
  EXPECT_EQ(f.type, ResponseFormat::Type::kJsonSchema);
  EXPECT_EQ(f.name, "person");
  EXPECT_TRUE(f.strict);
  EXPECT_EQ(f.schema, R"({"type":"object","required":["a"]})");
  EXPECT_EQ(r->gen.priority, -7);

  auto o =
      parse_chat_request(*parse_json(R"({"model":"m","messages":[{"role":"user","content":"x"}],
      "response_format":{"type":"json_object"}})"));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->gen.response_format.type, ResponseFormat::Type::kJsonObject);
  EXPECT_EQ(o->gen.priority, 0);

  auto e = parse_embedding_request(*parse_json(R"({"model":"m","input":"x","priority":4})"));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->priority, 4);
  EXPECT_FALSE(
      parse_embedding_request(*parse_json(R"({"model":"m","input":"x","priority":"hi"})")));

  auto g = parse_completion_request(
      *parse_json(R"({"model":"m","prompt":"x","grammar":"root ::= [a-z]+"})"));
  ASSERT_TRUE(g);
  EXPECT_EQ(g->gen.grammar, "root ::= [a-z]+");
}

TEST(CompletionRequest, StringOrArrayPrompt) {
  auto v = parse_json(R"({"model":"m","prompt":["a","b"],"echo":true,"n":2})");
  auto r = parse_completion_request(*v);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->prompts, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(r->echo);
  auto one = parse_completion_request(*parse_json(R"({"model":"m","prompt":"x"})"));
  ASSERT_TRUE(one);
  EXPECT_EQ(one->prompts.size(), 1u);
  auto bad = parse_completion_request(*parse_json(R"({"model":"m","prompt":[1,2]})"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().param, "prompt");
  auto missing = parse_completion_request(*parse_json(R"({"model":"m"})"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().param, "prompt");
}

TEST(EmbeddingRequest, ParsesAndValidates) {
  auto r = parse_embedding_request(
      *parse_json(R"({"model":"e","input":["a","b"],"encoding_format":"base64","dimensions":8})"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->inputs.size(), 2u);
  EXPECT_EQ(r->encoding_format, EncodingFormat::kBase64);
  EXPECT_EQ(r->dimensions, 8);
  auto bad =
      parse_embedding_request(*parse_json(R"({"model":"e","input":"a","encoding_format":"int8"})"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().param, "encoding_format");
  auto empty = parse_embedding_request(*parse_json(R"({"model":"e","input":[]})"));
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().param, "input");
}

TEST(Serialize, ChatResponseShape) {
  GenerationResult r;
  r.choices.push_back({0, "hello", FinishReason::kLength});
  r.usage = {3, 4, 1};
  EXPECT_EQ(
      chat_response_text({"chatcmpl-1", 1700000000, "m"}, r),
      R"({"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"m",)"
      R"("choices":[{"index":0,"message":{"role":"assistant","content":"hello"},)"
      R"("logprobs":null,"finish_reason":"length"}],"usage":{"prompt_tokens":3,)"
      R"("completion_tokens":4,"total_tokens":7,"prompt_tokens_details":{"cached_tokens":1}}})");
}

TEST(Serialize, CompletionResponseShape) {
  GenerationResult r;
  r.choices.push_back({0, "a", FinishReason::kStop});
  r.choices.push_back({1, "", FinishReason::kLength});
  r.usage = {1, 2, 0};
  EXPECT_EQ(completion_response_text({"cmpl-1", 5, "m"}, r),
            R"({"id":"cmpl-1","object":"text_completion","created":5,"model":"m","choices":[)"
            R"({"text":"a","index":0,"logprobs":null,"finish_reason":"stop"},)"
            R"({"text":"","index":1,"logprobs":null,"finish_reason":"length"}],"usage":)"
            R"({"prompt_tokens":1,"completion_tokens":2,"total_tokens":3,)"
            R"("prompt_tokens_details":{"cached_tokens":0}}})");
}

// The direct writer escapes strings exactly as Boost.JSON's serializer does.
TEST(Serialize, JsonTextEscapesLikeBoostJson) {
  std::string all;
  for (int c = 0; c < 0x80; ++c) all += static_cast<char>(c);
  for (std::string_view s :
       {std::string_view(""), std::string_view("plain"),
        std::string_view("q\"uote\\ back/slash\n\t\r\b\f"),
        std::string_view("\x01\x1f\x7f h\xc3\xa9 \xe4\xbd\xa0\xf0\x9f\x98\x80"),
        std::string_view(all)}) {
    std::string out;
    append_json_string(out, s);
    EXPECT_EQ(out, json::serialize(json::string_view(s.data(), s.size())));
    // and reads back as the same bytes
    EXPECT_EQ(json::parse(out).as_string(), json::string_view(s.data(), s.size()));
  }
  std::string n;
  append_json_int(n, -9223372036854775807LL - 1);
  EXPECT_EQ(n, "-9223372036854775808");
  GenerationResult r;
  r.choices.push_back({0, all, FinishReason::kLength});
  r.usage = {1, 2, 0};
  auto text = chat_response_text({"i\"d", 1, "m\n"}, r);
  auto v = json::parse(text);
  EXPECT_EQ(v.at("id").as_string(), "i\"d");
  EXPECT_EQ(v.at("model").as_string(), "m\n");
  EXPECT_EQ(v.at("choices").at(0).at("message").at("content").as_string(), json::string_view(all));
  EXPECT_EQ(v.at("choices").at(0).at("finish_reason").as_string(), "length");
}

// The plain prefix (the bytes a JSON string needs no escape for) agrees with a byte-by-byte
// reading for every length and position of the first special byte, and after it (the blocks
// and words overlap, and a borrow in the word test can flag a byte above a real one).
TEST(Serialize, JsonPlainPrefixMatchesByteByByte) {
  auto reference = [](std::string_view s) {
    size_t i = 0;
    while (i < s.size() && static_cast<unsigned char>(s[i]) >= 0x20 && s[i] != '"' && s[i] != '\\')
      ++i;
    return i;
  };
  for (size_t n = 0; n <= 50; ++n) {
    std::string s(n, 'a');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>("a\xc3\xa9~ \x7f\xff"[i % 7]);
    EXPECT_EQ(json_plain_prefix(s), n);
    for (size_t at = 0; at < n; ++at)
      for (char special : {'"', '\\', '\0', '\x1f', '\n'})
        for (char after : {'a', '"', '\x01', '!', '\x80'}) {
          std::string t = s;
          t[at] = special;
          for (size_t j = at + 1; j < n; j += 3) t[j] = after;
          EXPECT_EQ(json_plain_prefix(t), reference(t)) << n << ' ' << at;
        }
  }
}

// A piece smaller than what is written flushes as it goes: the text is the same.
TEST(Serialize, JsonPieceFlushesWhatDoesNotFit) {
  std::string out = "<";
  {
    JsonPiece<24> p(out);
    p.lit(R"({"a":)").integer(-9223372036854775807LL - 1).lit(R"(,"long literal":)");
    p.string("fits").lit(",").string("a plain string longer than the piece").lit(",");
    p.string("q\"").lit(",").raw("[1,2,3,4,5,6,7,8,9,10,11,12]").integer(7).lit("}");
  }  // flushed here
  EXPECT_EQ(out, R"(<{"a":-9223372036854775808,"long literal":"fits",)"
                 R"("a plain string longer than the piece","q\"",[1,2,3,4,5,6,7,8,9,10,11,12]7})");
}

// The upstream request, written directly: every field the tree builder wrote, parsed back.
TEST(Serialize, ChatRequestText) {
  ChatRequest r;
  r.messages.push_back({"system", "be \"brief\"\n", ""});
  r.messages.push_back({"user", "h\xc3\xa9", "ann"});
  auto& g = r.gen;
  g.max_tokens = 9;
  g.sampling.temperature = 0.7f;
  g.sampling.top_p = 0.9f;
  g.sampling.top_k = 3;
  g.sampling.seed = 4000000000u;
  g.sampling.presence_penalty = -0.5f;
  g.sampling.logit_bias = {{5, 1.5f}, {7, -100.0f}, {5, 2.0f}};
  g.stop = {"\n\n", "END"};
  g.n = 2;
  g.user = "u";
  auto v = json::parse(chat_request_text(r, "up", true)).as_object();
  EXPECT_EQ(v.at("model"), "up");
  ASSERT_EQ(v.at("messages").as_array().size(), 2u);
  EXPECT_EQ(v.at("messages").at(0).at("content"), "be \"brief\"\n");
  EXPECT_FALSE(v.at("messages").at(0).as_object().contains("name"));
  EXPECT_EQ(v.at("messages").at(1).at("name"), "ann");
  EXPECT_EQ(v.at("messages").at(1).at("content"), "h\xc3\xa9");
  EXPECT_EQ(v.at("max_tokens").to_number<int>(), 9);
  EXPECT_EQ(static_cast<float>(v.at("temperature").to_number<double>()), 0.7f);
  EXPECT_EQ(static_cast<float>(v.at("top_p").to_number<double>()), 0.9f);
  EXPECT_EQ(v.at("top_k").to_number<int>(), 3);
  EXPECT_EQ(v.at("seed").to_number<int64_t>(), 4000000000);
  EXPECT_EQ(static_cast<float>(v.at("presence_penalty").to_number<double>()), -0.5f);
  EXPECT_FALSE(v.contains("frequency_penalty"));
  const auto& bias = v.at("logit_bias").as_object();
  EXPECT_EQ(bias.size(), 2u);  // token 5 listed twice: the last bias wins
  EXPECT_EQ(bias.at("5").to_number<double>(), 2.0);
  EXPECT_EQ(bias.at("7").to_number<double>(), -100.0);
  EXPECT_EQ(v.at("stop").at(0), "\n\n");
  EXPECT_EQ(v.at("n").to_number<int>(), 2);
  EXPECT_EQ(v.at("user"), "u");
  EXPECT_EQ(v.at("stream"), true);
  EXPECT_EQ(v.at("stream_options").at("include_usage"), true);
  auto plain =
      json::parse(chat_request_text(ChatRequest{"m", {{"user", "x", ""}}, {}}, "m", false));
  EXPECT_EQ(json::serialize(plain), R"({"model":"m","messages":[{"role":"user","content":"x"}]})");
  CompletionRequest c;
  c.prompts = {"a", "b"};
  c.echo = true;
  EXPECT_EQ(completion_request_text(c, "m", false),
            R"({"model":"m","prompt":["a","b"],"echo":true})");
  c.prompts = {"one"};
  c.echo = false;
  EXPECT_EQ(completion_request_text(c, "m", false), R"({"model":"m","prompt":"one"})");
}

TEST(Serialize, ChatChunks) {
  ResponseMeta m{"id", 1, "m"};
  auto first = chat_chunk_json(m, Delta{0, "a", std::nullopt}, true, false);
  EXPECT_EQ(json::serialize(first["choices"].as_array()[0].as_object()["delta"]),
            R"({"role":"assistant","content":"a"})");
  EXPECT_TRUE(first["choices"].as_array()[0].as_object()["finish_reason"].is_null());
  EXPECT_FALSE(first.contains("usage"));
  auto last = chat_chunk_json(m, Delta{0, "", FinishReason::kStop}, false, true);
  EXPECT_EQ(json::serialize(last["choices"].as_array()[0].as_object()["delta"]), "{}");
  EXPECT_EQ(last["choices"].as_array()[0].as_object()["finish_reason"], "stop");
  EXPECT_TRUE(last["usage"].is_null());
  auto usage = usage_chunk_json(m, "chat.completion.chunk", Usage{1, 2, 0});
  EXPECT_TRUE(usage["choices"].as_array().empty());
  EXPECT_EQ(usage["usage"].as_object()["total_tokens"], 3);
}

TEST(Serialize, ErrorShape) {
  EXPECT_EQ(json::serialize(error_json("bad", "invalid_request_error", "temperature", "")),
            R"({"error":{"message":"bad","type":"invalid_request_error","param":"temperature",)"
            R"("code":null}})");
}

TEST(Serialize, Base64MatchesKnownBytes) {
  // 1.0f = 00 00 80 3F; 2.0f = 00 00 00 40.
  std::vector<float> v{1.0f, 2.0f};
  EXPECT_EQ(floats_to_base64(v), "AACAPwAAAEA=");
  std::vector<float> one{1.0f};
  EXPECT_EQ(floats_to_base64(one), "AACAPw==");
  EXPECT_EQ(floats_to_base64({}), "");
}

// Found by fuzz_openai_response: base64 that decodes to nothing reached memcpy(nullptr), and
// bytes after the padding were ignored.
TEST(ClientJson, Base64EmbeddingsRejectTruncatedOrTrailingData) {
  auto parse = [](std::string_view b64) {
    json::object item;
    item["index"] = 0;
    item["embedding"] = b64;
    json::object body;
    body["data"] = json::array{item};
    return parse_embedding_response(json::value(std::move(body)));
  };
  auto ok = parse("AACAPwAAAEA=");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->embeddings.at(0), (std::vector<float>{1.0f, 2.0f}));
  EXPECT_FALSE(parse("A=CAPwAAAEA="));
  EXPECT_FALSE(parse("A"));
  EXPECT_FALSE(parse("AACAPw==="));
}

TEST(Serialize, EmbeddingsFloatAndBase64) {
  EmbeddingResult r{{{0.5f, -0.25f}}, 3};
  auto f = embedding_response_json("e", r, EncodingFormat::kFloat);
  auto& item = f["data"].as_array()[0].as_object();
  EXPECT_EQ(item["embedding"].as_array().size(), 2u);
  EXPECT_DOUBLE_EQ(item["embedding"].as_array()[1].as_double(), -0.25);
  EXPECT_EQ(f["usage"].as_object()["prompt_tokens"], 3);
  auto b = embedding_response_json("e", r, EncodingFormat::kBase64);
  EXPECT_TRUE(b["data"].as_array()[0].as_object()["embedding"].is_string());
}

TEST(ClampedInt, UpstreamNumbersBecomeIntsWithoutOverflow) {
  EXPECT_EQ(clamped_int(json::value(42)), 42);
  EXPECT_EQ(clamped_int(json::value(-7)), -7);
  EXPECT_EQ(clamped_int(json::value(12.9)), 12);
  EXPECT_EQ(clamped_int(json::value(1e76)), std::numeric_limits<int>::max());
  EXPECT_EQ(clamped_int(json::value(-1e76)), std::numeric_limits<int>::min());
  EXPECT_EQ(clamped_int(json::value(std::numeric_limits<double>::quiet_NaN())), 0);
  EXPECT_EQ(clamped_int(json::value(int64_t{1} << 40)), std::numeric_limits<int>::max());
  EXPECT_EQ(clamped_int(json::value(uint64_t{1} << 63)), std::numeric_limits<int>::max());
  EXPECT_EQ(clamped_int(json::value("12")), 0);
  EXPECT_EQ(clamped_int(json::value(nullptr)), 0);
}

TEST(ClampedInt, Int64FromFilesWithoutOverflow) {
  constexpr auto kMax = std::numeric_limits<int64_t>::max();
  constexpr auto kMin = std::numeric_limits<int64_t>::min();
  EXPECT_EQ(clamped_int64(json::value(int64_t{1} << 40)), int64_t{1} << 40);
  EXPECT_EQ(clamped_int64(json::value(uint64_t{1} << 63)), kMax);
  EXPECT_EQ(clamped_int64(json::value(1e76)), kMax);
  EXPECT_EQ(clamped_int64(json::value(9223372036854775808.0)), kMax);
  EXPECT_EQ(clamped_int64(json::value(-9223372036854775808.0)), kMin);
  EXPECT_EQ(clamped_int64(json::value(-1e76)), kMin);
  EXPECT_EQ(clamped_int64(json::value(-2.5)), -2);
  EXPECT_EQ(clamped_int64(json::value(std::numeric_limits<double>::quiet_NaN())), 0);
  EXPECT_EQ(clamped_int64(json::value("1")), 0);
}

}  // namespace
}  // namespace smmf::protocol
