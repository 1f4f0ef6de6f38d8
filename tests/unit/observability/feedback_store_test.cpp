#include "observability/feedback_store.h"

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <unistd.h>

#include <boost/json/parse.hpp>

#include <filesystem>

#include "observability/metrics.h"

namespace smmf::observability {
namespace fs = std::filesystem;

namespace {
Result<Feedback> parse(std::string_view text) {
  return parse_feedback(boost::json::parse(text));
}
}  // namespace

TEST(Feedback, ValidatesRequests) {
  auto ok = parse(R"({"response_id":"chatcmpl-x","score":4,"reasons":["a","b"],"comment":"c"})");
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok->score, 4);
  EXPECT_EQ(ok->reasons.size(), 2u);
  auto thumb = parse(R"({"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","score":"down"})");
  ASSERT_TRUE(thumb);
  EXPECT_EQ(thumb->thumb, "down");
  EXPECT_FALSE(thumb->score);

  struct Bad {
    const char* body;
    const char* param;
  } bad[] = {
      {R"({"score":4})", "response_id"},
      {R"({"response_id":"x","score":6})", "score"},
      {R"({"response_id":"x","score":0})", "score"},
      {R"({"response_id":"x","score":"meh"})", "score"},
      {R"({"response_id":"x"})", "score"},
      {R"({"trace_id":"xyz","score":1})", "trace_id"},
      {R"({"response_id":"x","score":1,"reasons":"no"})", "reasons"},
      {R"({"response_id":"x","score":1,"reasons":[1]})", "reasons[0]"},
      {R"({"response_id":"x","score":1,"comment":5})", "comment"},
      {R"({"response_id":"x","score":1,"extra":5})", "extra"},
  };
  for (const auto& b : bad) {
    auto r = parse(b.body);
    ASSERT_FALSE(r) << b.body;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(r.error().param, b.param) << b.body;
  }
  std::string long_comment(kMaxFeedbackCommentChars + 1, 'x');
  EXPECT_FALSE(
      parse(fmt::format(R"({{"response_id":"x","score":1,"comment":"{}"}})", long_comment)));
}

TEST(Feedback, StoresDurablyAndFindsByEitherId) {
  auto path = fs::temp_directory_path() / fmt::format("smmf-feedback-{}.db", ::getpid());
  fs::remove(path);
  {
    auto store = FeedbackStore::open(path.string());
    ASSERT_TRUE(store) << store.error().message;
    Feedback a;
    a.response_id = "chatcmpl-1";
    a.score = 5;
    a.reasons = {"helpful"};
    auto stored = (*store)->add(a);
    ASSERT_TRUE(stored);
    EXPECT_GT(stored->id, 0);
    Feedback b;
    b.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    b.thumb = "down";
    b.comment = "wrong";
    ASSERT_TRUE((*store)->add(b));
  }
  auto store = FeedbackStore::open(path.string());  // reopened: still there
  ASSERT_TRUE(store);
  auto both = (*store)->find("4bf92f3577b34da6a3ce929d0e0e4736", "chatcmpl-1");
  ASSERT_TRUE(both);
  ASSERT_EQ(both->size(), 2u);
  EXPECT_EQ(both->at(0).reasons.at(0), "helpful");
  EXPECT_EQ(both->at(1).thumb, "down");
  EXPECT_EQ((*store)->find("", "chatcmpl-1")->size(), 1u);
  EXPECT_TRUE((*store)->find("", "chatcmpl-none")->empty());
  EXPECT_FALSE(FeedbackStore::open("/nonexistent-dir/x/feedback.db"));
  fs::remove(path);
  fs::remove(path.string() + "-wal");
  fs::remove(path.string() + "-shm");
}

TEST(Metrics, ScrapeHooksPublishWhileTheirHandleLives) {
  auto handle = metrics().on_scrape([](ScrapeBuilder& b) {
    b.gauge("smmf_test_gauge", "test", {{"k", "v"}}, 42);
  });
  EXPECT_NE(metrics().serialize().find("smmf_test_gauge{k=\"v\"} 42"), std::string::npos);
  handle.reset();
  EXPECT_EQ(metrics().serialize().find("smmf_test_gauge"), std::string::npos);
}

}  // namespace smmf::observability
