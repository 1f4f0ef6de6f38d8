// libFuzzer target: the TOML config loader (toml++ parse, then SMMF's validation of every
// section, including ${VAR} interpolation against the process environment).
#include <cstdint>
#include <string_view>

#include "common/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)smmf::parse_config(text, "fuzz.toml");
  (void)smmf::interpolate_env(text);
  return 0;
}
