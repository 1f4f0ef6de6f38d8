#pragma once
/// Logging set-up (spdlog). Call init_logging once at start-up, before threads start.
#include <string_view>

#include "common/error.h"

namespace smmf {

/// Sets the default logger: stderr, thread-safe, "[time] [level] message".
Status init_logging(std::string_view level);

}  // namespace smmf
