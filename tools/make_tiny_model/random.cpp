#include "random.h"

#include <cmath>
#include <numbers>

namespace smmf::tools {
namespace {

// SplitMix64 finaliser: spreads nearby inputs (seed 1 vs 2) over the whole 64-bit range.
uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

uint64_t tensor_seed(uint64_t model_seed, std::string_view tensor_name) {
  uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a: stable across compilers, unlike std::hash
  for (const char c : tensor_name) {
    hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  }
  return mix64(mix64(model_seed) ^ hash);
}

double NormalRng::uniform_open() {
  // 53 random bits -> k / 2^53 with k in [1, 2^53].
  const uint64_t k = (engine_() >> 11) + 1;
  return static_cast<double>(k) * 0x1.0p-53;
}

double NormalRng::next() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  const double radius = std::sqrt(-2.0 * std::log(uniform_open()));
  const double angle = 2.0 * std::numbers::pi * uniform_open();
  spare_ = radius * std::sin(angle);
  has_spare_ = true;
  return radius * std::cos(angle);
}

}  // namespace smmf::tools
