#include "gateway/balancer.h"

#include <cmath>
#include <functional>
#include <random>

namespace smmf::gateway {
namespace {

std::mt19937_64& rng() {
  thread_local std::mt19937_64 r{std::random_device{}()};
  return r;
}

size_t uniform(size_t n) {
  return std::uniform_int_distribution<size_t>(0, n - 1)(rng());
}

uint64_t mix(uint64_t x) {  // splitmix64 finalizer: a well-spread 64-bit hash
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

size_t least_outstanding(std::span<const Candidate> c) {
  if (c.size() == 1) return 0;
  size_t a = uniform(c.size());
  size_t b = uniform(c.size() - 1);
  if (b >= a) ++b;
  return c[b].in_flight < c[a].in_flight ? b : a;
}

}  // namespace

std::string_view to_string(Policy p) {
  switch (p) {
    case Policy::kLeastOutstanding:
      return "least_outstanding";
    case Policy::kRoundRobin:
      return "round_robin";
    case Policy::kRandom:
      return "random";
    case Policy::kWeighted:
      return "weighted";
    case Policy::kSessionAffinity:
      return "session_affinity";
  }
  return "least_outstanding";
}

std::optional<Policy> policy_from_string(std::string_view s) {
  for (Policy p : {Policy::kLeastOutstanding, Policy::kRoundRobin, Policy::kRandom,
                   Policy::kWeighted, Policy::kSessionAffinity})
    if (to_string(p) == s) return p;
  return std::nullopt;
}

size_t choose(Policy policy, std::span<const Candidate> c, std::string_view key,
              std::atomic<uint64_t>& round_robin) {
  switch (policy) {
    case Policy::kRoundRobin:
      return round_robin.fetch_add(1, std::memory_order_relaxed) % c.size();
    case Policy::kRandom:
      return uniform(c.size());
    case Policy::kWeighted: {
      int64_t total = 0;
      for (const auto& x : c) total += std::max(0, x.weight);
      if (total == 0) return uniform(c.size());
      int64_t r = std::uniform_int_distribution<int64_t>(0, total - 1)(rng());
      for (size_t i = 0; i < c.size(); ++i) {
        r -= std::max(0, c[i].weight);
        if (r < 0) return i;
      }
      return c.size() - 1;
    }
    case Policy::kSessionAffinity: {
      if (key.empty()) return least_outstanding(c);
      uint64_t kh = std::hash<std::string_view>{}(key);
      size_t best = 0;
      double best_score = -INFINITY;
      for (size_t i = 0; i < c.size(); ++i) {
        uint64_t h = mix(kh ^ mix(std::hash<std::string_view>{}(c[i].id)));
        // Weighted rendezvous: score = -w / ln(u), u in (0,1).
        double u = (static_cast<double>(h >> 11) + 0.5) / 9007199254740992.0;
        double score = -std::max(1, c[i].weight) / std::log(u);
        if (score > best_score) {
          best_score = score;
          best = i;
        }
      }
      return best;
    }
    case Policy::kLeastOutstanding:
      break;
  }
  return least_outstanding(c);
}

}  // namespace smmf::gateway
