#include "common/duration.h"

#include <fmt/format.h>

#include <charconv>

namespace smmf {

Result<std::chrono::milliseconds> parse_duration(std::string_view s) {
  auto bad = [&] {
    return Error::invalid(fmt::format(
        "'{}' is not a duration (expected e.g. \"250ms\", \"30s\", \"10m\", \"2h\")", s));
  };
  int64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc{} || n < 0) return bad();
  std::string_view unit(end, static_cast<size_t>(s.data() + s.size() - end));
  // Up to about 100 years in any unit, so the milliseconds never overflow.
  constexpr int64_t kMaxMs = int64_t{100} * 365 * 24 * 3600 * 1000;
  int64_t scale = 0;
  if (unit == "ms")
    scale = 1;
  else if (unit == "s")
    scale = 1000;
  else if (unit == "m")
    scale = 60'000;
  else if (unit == "h")
    scale = 3'600'000;
  else if (unit.empty() && n == 0)
    scale = 1;
  else
    return bad();
  if (n > kMaxMs / scale) return bad();
  return std::chrono::milliseconds(n * scale);
}

}  // namespace smmf
