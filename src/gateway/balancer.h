#pragma once
/// Instance selection policies. Pure and thread-safe: state (the round-robin counter) is
/// passed in; randomness is thread-local.
#include <atomic>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace smmf::gateway {

enum class Policy { kLeastOutstanding, kRoundRobin, kRandom, kWeighted, kSessionAffinity };
std::string_view to_string(Policy p);
std::optional<Policy> policy_from_string(std::string_view s);

struct Candidate {
  std::string_view id;
  int in_flight = 0;
  int weight = 1;
};

/// Index of the chosen candidate; `candidates` must not be empty.
/// least_outstanding: power of two random choices on in-flight (ties: the first sampled).
/// weighted: random in proportion to weight (weight 0 is never chosen unless all are 0).
/// session_affinity: rendezvous hashing of `affinity_key` over ids (weighted), so a key
/// sticks to its instance while it exists and only its keys move when it goes; an empty key
/// falls back to least_outstanding.
size_t choose(Policy policy, std::span<const Candidate> candidates, std::string_view affinity_key,
              std::atomic<uint64_t>& round_robin);

}  // namespace smmf::gateway
