// Constrained generation (response_format, grammar) of the llama.cpp engine on the tiny
// random-weight chat model: whatever the random weights prefer, the output must follow the
// constraint, streamed or not.
#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include <string>

#include "engine_test_util.h"

namespace smmf::engines::test {
namespace {

namespace json = boost::json;
using protocol::FinishReason;
using protocol::ResponseFormat;

constexpr const char* kPersonSchema = R"({
  "type": "object",
  "properties": {
    "name": {"type": "string", "minLength": 1, "maxLength": 12},
    "age": {"type": "integer", "minimum": 0, "maximum": 150}
  },
  "required": ["name", "age"],
  "additionalProperties": false
})";

// The schema's contract, checked independently of the grammar that enforced it.
void expect_person(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  ASSERT_FALSE(ec) << "not JSON: " << text;
  ASSERT_TRUE(v.is_object()) << text;
  const auto& o = v.get_object();
  EXPECT_EQ(o.size(), 2u) << text;
  ASSERT_TRUE(o.contains("name") && o.at("name").is_string()) << text;
  const auto name_len = o.at("name").get_string().size();
  EXPECT_GE(name_len, 1u);
  EXPECT_LE(name_len, 12u * 4);  // 12 characters of at most 4 UTF-8 bytes
  ASSERT_TRUE(o.contains("age") && o.at("age").is_int64()) << text;
  EXPECT_GE(o.at("age").get_int64(), 0);
  EXPECT_LE(o.at("age").get_int64(), 150);
}

class LlamaGrammarTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string path = env_or_empty("SMMF_TEST_CHAT_MODEL");
    if (path.empty()) return;
    engine_ = load_engine(path, "llm", {{"parallel", 4}, {"ctx_size", 4 * 512}, {"threads", 1}});
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

  static protocol::ChatRequest person_request() {
    protocol::ChatRequest req;
    req.messages = {{"user", "Describe a person as JSON.", {}}};
    req.gen.max_tokens = 300;
    req.gen.sampling.temperature = 0.0f;
    req.gen.response_format.type = ResponseFormat::Type::kJsonSchema;
    req.gen.response_format.name = "person";
    req.gen.response_format.schema = kPersonSchema;
    return req;
  }

  static Result<protocol::GenerationResult> chat(const protocol::ChatRequest& req,
                                                 DeltaSink* sink = nullptr) {
    CallContext ctx;
    return run(engine_->chat(req, sink, ctx));
  }

  static inline std::shared_ptr<Engine> engine_;
};

TEST_F(LlamaGrammarTest, JsonSchemaOutputParsesAndMatches) {
  auto r = chat(person_request());
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->choices.size(), 1u);
  // The grammar ends the object, then allows only end-of-generation.
  EXPECT_EQ(r->choices[0].finish_reason, FinishReason::kStop) << r->choices[0].text;
  expect_person(r->choices[0].text);
}

TEST_F(LlamaGrammarTest, JsonSchemaStreamedEqualsNonStreamed) {
  const auto req = person_request();
  auto whole = chat(req);
  ASSERT_TRUE(whole) << whole.error().message;
  CollectSink sink;
  auto streamed = chat(req, &sink);
  ASSERT_TRUE(streamed) << streamed.error().message;
  EXPECT_EQ(sink.text(0), whole->choices[0].text);
  EXPECT_EQ(sink.finish(0), FinishReason::kStop);
  expect_person(sink.text(0));
}

TEST_F(LlamaGrammarTest, SampledChoicesAllMatch) {
  auto req = person_request();
  req.gen.n = 3;
  req.gen.sampling.temperature = 1.0f;
  req.gen.sampling.seed = 11;
  auto r = chat(req);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->choices.size(), 3u);
  for (const auto& c : r->choices) {
    EXPECT_EQ(c.finish_reason, FinishReason::kStop) << c.text;
    expect_person(c.text);
  }
}

TEST_F(LlamaGrammarTest, JsonObjectStartsAnObject) {
  auto req = person_request();
  req.gen.response_format = {};
  req.gen.response_format.type = ResponseFormat::Type::kJsonObject;
  req.gen.max_tokens = 64;
  auto r = chat(req);
  ASSERT_TRUE(r) << r.error().message;
  const std::string& text = r->choices[0].text;
  // An unconstrained object may outlast max_tokens; a finished one must parse.
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.find_first_not_of(" \t\n"), text.find('{')) << text;
  if (r->choices[0].finish_reason == FinishReason::kStop) {
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    ASSERT_FALSE(ec) << text;
    EXPECT_TRUE(v.is_object()) << text;
  }
}

TEST_F(LlamaGrammarTest, RawGrammarIsFollowed) {
  protocol::CompletionRequest req;
  req.prompts = {"Answer:"};
  req.gen.max_tokens = 16;
  req.gen.sampling.temperature = 0.0f;
  req.gen.grammar = R"(root ::= ("yes" | "no") "!")";
  CallContext ctx;
  auto r = run(engine_->complete(req, nullptr, ctx));
  ASSERT_TRUE(r) << r.error().message;
  const std::string& text = r->choices[0].text;
  EXPECT_TRUE(text == "yes!" || text == "no!") << text;
  EXPECT_EQ(r->choices[0].finish_reason, FinishReason::kStop);
}

TEST_F(LlamaGrammarTest, UnusableConstraintsAreInvalidArguments) {
  auto req = person_request();
  req.gen.response_format.schema = R"({"type": "no-such-type"})";
  auto bad_schema = chat(req);
  ASSERT_FALSE(bad_schema);
  EXPECT_EQ(bad_schema.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad_schema.error().param, "response_format");

  req.gen.response_format.schema = R"({"$ref": "#/definitions/missing"})";
  auto bad_ref = chat(req);
  ASSERT_FALSE(bad_ref);
  EXPECT_EQ(bad_ref.error().param, "response_format");

  req.gen.response_format = {};
  req.gen.grammar = "root ::= (";
  auto bad_grammar = chat(req);
  ASSERT_FALSE(bad_grammar);
  EXPECT_EQ(bad_grammar.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad_grammar.error().param, "grammar");

  req.gen.grammar = R"(other ::= "x")";  // no root rule
  auto no_root = chat(req);
  ASSERT_FALSE(no_root);
  EXPECT_EQ(no_root.error().param, "grammar");
}

}  // namespace
}  // namespace smmf::engines::test
