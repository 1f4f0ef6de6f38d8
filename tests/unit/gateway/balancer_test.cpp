#include "gateway/balancer.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace smmf::gateway {
namespace {

std::vector<Candidate> three(int a = 0, int b = 0, int c = 0) {
  return {{"a", a, 1}, {"b", b, 1}, {"c", c, 1}};
}

TEST(Policy, NamesRoundTrip) {
  for (auto p : {Policy::kLeastOutstanding, Policy::kRoundRobin, Policy::kRandom, Policy::kWeighted,
                 Policy::kSessionAffinity})
    EXPECT_EQ(policy_from_string(to_string(p)), p);
  EXPECT_FALSE(policy_from_string("fastest"));
}

TEST(Balancer, RoundRobinCycles) {
  std::atomic<uint64_t> rr{0};
  auto c = three();
  std::vector<size_t> got;
  for (int i = 0; i < 6; ++i) got.push_back(choose(Policy::kRoundRobin, c, "", rr));
  EXPECT_EQ(got, (std::vector<size_t>{0, 1, 2, 0, 1, 2}));
}

TEST(Balancer, LeastOutstandingAvoidsTheBusiest) {
  std::atomic<uint64_t> rr{0};
  auto c = three(0, 0, 50);
  std::map<size_t, int> n;
  for (int i = 0; i < 3000; ++i) n[choose(Policy::kLeastOutstanding, c, "", rr)]++;
  // Power of two choices: the busiest wins only when sampled against itself, which never
  // happens (two distinct candidates are drawn).
  EXPECT_EQ(n[2], 0);
  EXPECT_NEAR(n[0], 1500, 200);
}

TEST(Balancer, EqualLoadSpreadsEvenly) {
  std::atomic<uint64_t> rr{0};
  auto c = three();
  std::map<size_t, int> n;
  for (int i = 0; i < 3000; ++i) n[choose(Policy::kLeastOutstanding, c, "", rr)]++;
  for (size_t i = 0; i < 3; ++i) EXPECT_NEAR(n[i], 1000, 150) << i;
}

TEST(Balancer, WeightedFollowsWeights) {
  std::atomic<uint64_t> rr{0};
  std::vector<Candidate> c{{"a", 0, 1}, {"b", 0, 3}, {"z", 0, 0}};
  std::map<size_t, int> n;
  for (int i = 0; i < 8000; ++i) n[choose(Policy::kWeighted, c, "", rr)]++;
  EXPECT_NEAR(n[0], 2000, 250);
  EXPECT_NEAR(n[1], 6000, 250);
  EXPECT_EQ(n[2], 0);
}

TEST(Balancer, SessionAffinityIsStickyAndMovesOnlyTheLostKeys) {
  std::atomic<uint64_t> rr{0};
  auto c = three();
  std::vector<Candidate> two{{"a", 0, 1}, {"b", 0, 1}};
  int moved = 0, spread[3] = {0, 0, 0};
  for (int k = 0; k < 300; ++k) {
    std::string key = "user-" + std::to_string(k);
    size_t first = choose(Policy::kSessionAffinity, c, key, rr);
    EXPECT_EQ(choose(Policy::kSessionAffinity, c, key, rr), first);
    spread[first]++;
    size_t after = choose(Policy::kSessionAffinity, two, key, rr);
    if (first != 2 && after != first) moved++;  // keys of a surviving instance must stay
  }
  EXPECT_EQ(moved, 0);
  for (int s : spread) EXPECT_GT(s, 50);
}

}  // namespace
}  // namespace smmf::gateway
