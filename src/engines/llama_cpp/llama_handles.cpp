#include "engines/llama_cpp/llama_handles.h"

#include <spdlog/spdlog.h>

#include <mutex>
#include <string_view>

namespace smmf::engines::llama_cpp {
namespace {

// llama.cpp logs model metadata and per-context details at info level: useful when debugging a
// model, noise otherwise. Its errors stay visible as warnings.
void log_to_spdlog(ggml_log_level level, const char* text, void* /*user*/) {
  const auto spd_level =
      level == GGML_LOG_LEVEL_ERROR ? spdlog::level::warn : spdlog::level::debug;
  if (!spdlog::should_log(spd_level) || text == nullptr) return;
  std::string_view s(text);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  if (s.empty()) return;
  spdlog::log(spd_level, "llama.cpp: {}", s);
}

}  // namespace

void init_llama_backend() {
  static std::once_flag once;
  std::call_once(once, [] {
    llama_log_set(log_to_spdlog, nullptr);
    llama_backend_init();
  });
}

}  // namespace smmf::engines::llama_cpp
