#include "protocol/rerank_json.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace smmf::protocol {
namespace {
namespace json = boost::json;

Result<RerankRequest> parse(std::string_view s) {
  return parse_rerank_request(json::parse(s));
}

TEST(RerankJson, ParsesStringsAndTextObjects) {
  auto r = parse(R"({"model":"m","query":"q","documents":["a",{"text":"b"}],"top_n":5,
                     "return_documents":false})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->documents, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r->top_n, 2);  // clipped to the number of documents
  EXPECT_FALSE(r->return_documents);
}

TEST(RerankJson, RejectsBadFieldsNamingThem) {
  for (auto [body, param] : std::vector<std::pair<std::string, std::string>>{
           {R"({"query":"q","documents":["a"]})", "model"},
           {R"({"model":"m","documents":["a"]})", "query"},
           {R"({"model":"m","query":"q","documents":[]})", "documents"},
           {R"({"model":"m","query":"q","documents":[{"x":1}]})", "documents"},
           {R"({"model":"m","query":"q","documents":["a"],"top_n":0})", "top_n"},
           {R"({"model":"m","query":"q","documents":["a"],"top_n":"2"})", "top_n"},
       }) {
    auto r = parse(body);
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().param, param) << body;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(RerankJson, ResponseSortsCutsAndEchoes) {
  auto req = parse(R"({"model":"m","query":"q","documents":["a","b","c"],"top_n":2})");
  ASSERT_TRUE(req);
  RerankResult scores{{{0, 0.1}, {1, 0.9}, {2, 0.5}}, 7};
  auto out = rerank_response_json("rerank-1", *req, scores);
  const auto& results = out.at("results").as_array();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].at("index").as_int64(), 1);
  EXPECT_EQ(results[1].at("index").as_int64(), 2);
  EXPECT_EQ(results[0].at("document").at("text").as_string(), "b");
  EXPECT_EQ(out.at("usage").at("prompt_tokens").as_int64(), 7);
}

TEST(RerankJson, ParsesUpstreamAnswersInDocumentOrder) {
  auto v = json::parse(
      R"({"results":[{"index":1,"relevance_score":0.9},{"index":0,"relevance_score":0.2}],
          "usage":{"total_tokens":11}})");
  auto r = parse_rerank_response(v, 2);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->results[0].index, 0);
  EXPECT_DOUBLE_EQ(r->results[1].relevance_score, 0.9);
  EXPECT_EQ(r->prompt_tokens, 11);
  EXPECT_FALSE(parse_rerank_response(v, 3));  // a document without a score
  EXPECT_FALSE(parse_rerank_response(
      json::parse(
          R"({"results":[{"index":0,"relevance_score":1},{"index":0,"relevance_score":1}]})"),
      2));
}

}  // namespace
}  // namespace smmf::protocol
