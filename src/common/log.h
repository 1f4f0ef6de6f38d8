#pragma once
/// Logging set-up (spdlog). Call init_logging once at start-up, before threads start.
#include <string_view>

#include "common/error.h"

namespace smmf {

/// Sets the default logger: stderr, thread-safe, "time level message".
Status init_logging(std::string_view level);

/// One info line, as spdlog::info(msg) writes it, for lines written once per request (the
/// access log). With the logger init_logging set up, the line is formatted here (the time text
/// cached per second) and written with one call; spdlog's per-message pattern formatting costs
/// more than the rest of a relayed request's log line. Otherwise: spdlog::info.
void log_info_line(std::string_view msg);

}  // namespace smmf
