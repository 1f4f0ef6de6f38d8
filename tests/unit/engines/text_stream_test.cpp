#include "engines/llama_cpp/text_stream.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace smmf::engines::llama_cpp {
namespace {

// Feeds `pieces` one by one; returns what was emitted after each push, then the finish.
struct Run {
  std::vector<std::string> emitted;
  std::string all;
  bool stopped = false;
};

Run feed(TextStream& stream, const std::vector<std::string>& pieces, bool finish = true) {
  Run run;
  for (const auto& p : pieces) {
    std::string out;
    run.stopped = stream.push(p, out);
    run.emitted.push_back(out);
    run.all += out;
    if (run.stopped) return run;
  }
  if (finish) {
    std::string out;
    stream.finish(out);
    run.emitted.push_back(out);
    run.all += out;
  }
  return run;
}

TEST(Utf8Assembler, PassesAsciiThrough) {
  Utf8Assembler a;
  std::string out;
  a.push("hello", out);
  EXPECT_EQ(out, "hello");
  EXPECT_TRUE(a.pending().empty());
}

TEST(Utf8Assembler, HoldsMultibyteSplitAcrossPieces) {
  // "é" = C3 A9, "€" = E2 82 AC, "😀" = F0 9F 98 80
  Utf8Assembler a;
  std::string out;
  a.push("a\xC3", out);
  EXPECT_EQ(out, "a");
  a.push("\xA9", out);
  EXPECT_EQ(out, "a\xC3\xA9");
  out.clear();
  a.push("\xE2", out);
  a.push("\x82", out);
  EXPECT_EQ(out, "");
  a.push("\xAC!", out);
  EXPECT_EQ(out, "\xE2\x82\xAC!");
  out.clear();
  for (char c : std::string("\xF0\x9F\x98\x80")) {
    EXPECT_EQ(out, "");
    a.push(std::string(1, c), out);
  }
  EXPECT_EQ(out, "\xF0\x9F\x98\x80");
}

TEST(Utf8Assembler, ReplacesInvalidBytes) {
  Utf8Assembler a;
  std::string out;
  a.push("x\x80y", out);  // stray continuation byte
  EXPECT_EQ(out, "x\xEF\xBF\xBDy");
  out.clear();
  a.push("\xC3(", out);  // lead byte followed by a non-continuation
  EXPECT_EQ(out, "\xEF\xBF\xBD(");
  out.clear();
  a.push("\xED\xA0\x80", out);  // surrogate U+D800: never valid
  EXPECT_EQ(out, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  out.clear();
  a.push("\xFF", out);
  EXPECT_EQ(out, "\xEF\xBF\xBD");
}

TEST(Utf8Assembler, FinishDropsIncompleteTail) {
  Utf8Assembler a;
  std::string out;
  a.push("ok\xE2\x82", out);
  EXPECT_EQ(out, "ok");
  EXPECT_EQ(a.pending().size(), 2u);
  a.finish();
  EXPECT_TRUE(a.pending().empty());
}

TEST(Utf8CompletePrefix, StopsBeforeIncompleteSequence) {
  EXPECT_EQ(utf8_complete_prefix("abc"), 3u);
  EXPECT_EQ(utf8_complete_prefix("ab\xC3"), 2u);
  EXPECT_EQ(utf8_complete_prefix("ab\xC3\xA9"), 4u);
  EXPECT_EQ(utf8_complete_prefix("\xF0\x9F\x98"), 0u);
}

TEST(StopMatcher, NoStopsPassesEverything) {
  TextStream s;
  auto run = feed(s, {"Hello", ", ", "world"});
  EXPECT_EQ(run.all, "Hello, world");
  EXPECT_FALSE(run.stopped);
  EXPECT_EQ(run.emitted[0], "Hello");
}

TEST(StopMatcher, StopInsideOnePiece) {
  TextStream s({"END"});
  auto run = feed(s, {"abc", "xxENDyy", "more"});
  EXPECT_TRUE(run.stopped);
  EXPECT_EQ(run.all, "abcxx");
}

TEST(StopMatcher, StopSpanningTokens) {
  TextStream s({"</answer>"});
  auto run = feed(s, {"The answer", " is 4</", "ans", "wer>", " trailing"});
  EXPECT_TRUE(run.stopped);
  EXPECT_EQ(run.all, "The answer is 4");
  // The possible stop prefix is held back, never emitted early.
  EXPECT_EQ(run.emitted[1], " is 4");
  EXPECT_EQ(run.emitted[2], "");
  for (const auto& e : run.emitted) EXPECT_EQ(e.find('<'), std::string::npos);
}

TEST(StopMatcher, FalseStartIsReleased) {
  TextStream s({"STOP"});
  auto run = feed(s, {"ST", "OR", "Y"});
  EXPECT_FALSE(run.stopped);
  EXPECT_EQ(run.emitted[0], "");
  EXPECT_EQ(run.emitted[1], "STOR");
  EXPECT_EQ(run.all, "STORY");
}

TEST(StopMatcher, HeldPrefixFlushedAtFinish) {
  TextStream s({"STOP"});
  auto run = feed(s, {"abc", "STO"});
  EXPECT_FALSE(run.stopped);
  EXPECT_EQ(run.emitted[1], "");
  EXPECT_EQ(run.all, "abcSTO");
}

TEST(StopMatcher, EarliestOfSeveralStops) {
  TextStream s({"world", "lo w"});
  auto run = feed(s, {"hello world"});
  EXPECT_TRUE(run.stopped);
  EXPECT_EQ(run.all, "hel");
}

TEST(StopMatcher, OverlappingPrefixes) {
  TextStream s({"aab"});
  auto run = feed(s, {"a", "a", "a", "b", "c"});
  EXPECT_TRUE(run.stopped);
  EXPECT_EQ(run.all, "a");
}

TEST(StopMatcher, NothingAfterStop) {
  TextStream s({"x"});
  std::string out;
  EXPECT_TRUE(s.push("ax", out));
  EXPECT_TRUE(s.push("more", out));
  s.finish(out);
  EXPECT_EQ(out, "a");
}

TEST(StopMatcher, EmptyStopStringsAreIgnored) {
  TextStream s({""});
  auto run = feed(s, {"abc"});
  EXPECT_FALSE(run.stopped);
  EXPECT_EQ(run.all, "abc");
}

TEST(TextStream, MultibyteStopSplitAcrossTokens) {
  // Stop "€!" arrives byte by byte: nothing of it may be emitted.
  TextStream s({"\xE2\x82\xAC!"});
  auto run = feed(s, {"price 5", "\xE2", "\x82", "\xAC", "!", "tail"});
  EXPECT_TRUE(run.stopped);
  EXPECT_EQ(run.all, "price 5");
}

TEST(TextStream, MultibyteCharBeforeStop) {
  TextStream s({"\n\n"});
  auto run = feed(s, {"caf", "\xC3", "\xA9", "\n", "\n", "x"});
  EXPECT_TRUE(run.stopped);
  EXPECT_EQ(run.all, "caf\xC3\xA9");
  EXPECT_EQ(run.emitted[1], "");  // half of "é" is never emitted
}

TEST(TextStream, EveryEmissionIsValidUtf8) {
  TextStream s({"zz"});
  const std::vector<std::string> pieces = {"\xF0", "\x9F", "\x98", "\x80", "z",
                                           "\xC3", "\xA9", "y",    "\xE2", "\x82"};
  auto run = feed(s, pieces);
  for (const auto& e : run.emitted) {
    // Well-formed: a fresh assembler passes it through unchanged, holding nothing back.
    Utf8Assembler check;
    std::string same;
    check.push(e, same);
    EXPECT_EQ(same, e);
    EXPECT_TRUE(check.pending().empty());
  }
  // The trailing incomplete "€" is dropped at the end; the held "z" is released.
  EXPECT_EQ(run.all, "\xF0\x9F\x98\x80z\xC3\xA9y");
}

}  // namespace
}  // namespace smmf::engines::llama_cpp
