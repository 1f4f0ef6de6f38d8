#include "common/log.h"

#include <spdlog/details/console_globals.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>

namespace smmf {
namespace {

// The logger init_logging made (kept alive here, so that a pointer comparison identifies it)
// and whether its sink colours the level.
std::shared_ptr<spdlog::logger> g_logger;
bool g_color = false;

// "YYYY-MM-DDTHH:MM:SS.mmm ", the pattern's time in local time as spdlog writes it.
void append_time(std::string& out) {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const auto secs = time_point_cast<seconds>(now);
  const auto ms = duration_cast<milliseconds>(now - secs).count();
  thread_local int64_t cached = -1;
  thread_local char text[32];
  const int64_t s = secs.time_since_epoch().count();
  if (s != cached) {
    const std::time_t t = static_cast<std::time_t>(s);
    std::tm tm{};
    localtime_r(&t, &tm);
    if (std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm) == 0) text[0] = '\0';
    cached = s;
  }
  out += text;
  const char frac[] = {'.', static_cast<char>('0' + ms / 100),
                       static_cast<char>('0' + ms / 10 % 10), static_cast<char>('0' + ms % 10),
                       ' '};
  out.append(frac, sizeof(frac));
}

}  // namespace

Status init_logging(std::string_view level) {
  auto lvl = spdlog::level::from_str(std::string(level));
  if (lvl == spdlog::level::off && level != "off")
    return Error::invalid(fmt::format("unknown log level '{}'", level), "log.level");
  auto logger = spdlog::stderr_color_mt("smmf");
  // log_info_line writes this format by hand: keep the two together.
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::info);
  auto* sink = dynamic_cast<spdlog::sinks::stderr_color_sink_mt*>(logger->sinks().front().get());
  g_color = sink && sink->should_color();
  g_logger = sink ? logger : nullptr;
  spdlog::set_default_logger(logger);
  return {};
}

void log_info_line(std::string_view msg) {
  auto* logger = spdlog::default_logger_raw();
  if (!logger->should_log(spdlog::level::info)) return;
  if (logger != g_logger.get()) {
    logger->log(spdlog::level::info, msg);
    return;
  }
  thread_local std::string line;
  line.clear();
  append_time(line);
  line += g_color ? std::string_view("\033[32minfo\033[m ") : std::string_view("info ");
  line += msg;
  line += '\n';
  // The sink's mutex: a coloured spdlog line is written in several pieces.
  std::lock_guard<std::mutex> lock(spdlog::details::console_mutex::mutex());
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace smmf
