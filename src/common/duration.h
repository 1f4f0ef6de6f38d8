#pragma once
/// Durations in configuration files: "250ms", "30s", "10m", "2h", or "0" (= none). Pure.
#include <chrono>
#include <string_view>

#include "common/error.h"

namespace smmf {

/// Parses "<non-negative integer><unit>" with unit ms, s, m or h ("0" alone is allowed).
/// Errors: Error::invalid saying the expected form.
Result<std::chrono::milliseconds> parse_duration(std::string_view s);

}  // namespace smmf
