#pragma once
/// Deterministic normal samples for random weights. The same seed gives the same numbers on every
/// platform with IEEE doubles and a correctly rounded libm: mt19937_64 is fully specified by the
/// standard, and the Box-Muller transform below is written out (std::normal_distribution is not).
#include <cstdint>
#include <random>
#include <string_view>

namespace smmf::tools {

/// Seed for one tensor, mixed from the model seed and the tensor's name, so adding a tensor to an
/// architecture leaves the values of every other tensor unchanged.
uint64_t tensor_seed(uint64_t model_seed, std::string_view tensor_name);

/// Standard normal samples (mean 0, std 1). Not thread-safe; one instance per tensor.
class NormalRng {
 public:
  explicit NormalRng(uint64_t seed) : engine_(seed) {}

  double next();

 private:
  double uniform_open();  ///< in (0, 1]: never 0, so log() stays finite

  std::mt19937_64 engine_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace smmf::tools
