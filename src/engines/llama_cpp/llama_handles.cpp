#include "engines/llama_cpp/llama_handles.h"

#include <ggml-backend.h>
#include <spdlog/spdlog.h>

#include <mutex>
#include <string_view>

namespace smmf::engines::llama_cpp {
namespace {

// llama.cpp logs model metadata and per-context details at info level: useful when debugging a
// model, noise otherwise. Its errors stay visible as warnings.
void log_to_spdlog(ggml_log_level level, const char* text, void* /*user*/) {
  const auto spd_level = level == GGML_LOG_LEVEL_ERROR ? spdlog::level::warn : spdlog::level::debug;
  if (!spdlog::should_log(spd_level) || text == nullptr) return;
  std::string_view s(text);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  if (s.empty()) return;
  spdlog::log(spd_level, "llama.cpp: {}", s);
}

}  // namespace

CpuThreadPools::CpuThreadPools(llama_context* ctx, int n_threads, int n_threads_batch) {
  // ggml_threadpool_new lives in the CPU backend, which may be loaded dynamically.
  ggml_backend_dev_t cpu = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
  if (cpu == nullptr) return;
  ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(cpu);
  using NewFn = ggml_threadpool_t (*)(ggml_threadpool_params*);
  auto make =
      reinterpret_cast<NewFn>(ggml_backend_reg_get_proc_address(reg, "ggml_threadpool_new"));
  free_ = reinterpret_cast<void (*)(ggml_threadpool_t)>(
      ggml_backend_reg_get_proc_address(reg, "ggml_threadpool_free"));
  if (make == nullptr || free_ == nullptr) return;
  ggml_threadpool_params params = ggml_threadpool_params_default(n_threads);
  ggml_threadpool_params params_batch = ggml_threadpool_params_default(n_threads_batch);
  if (!ggml_threadpool_params_match(&params, &params_batch)) {
    pool_batch_ = make(&params_batch);
    params.paused = pool_batch_ != nullptr;  // llama.cpp resumes whichever pool a decode uses
  }
  pool_ = make(&params);
  if (pool_ == nullptr) {
    spdlog::warn("llama.cpp: cannot create a CPU thread pool; using the default threading");
    return;
  }
  llama_attach_threadpool(ctx, pool_, pool_batch_);
}

CpuThreadPools::~CpuThreadPools() {
  if (free_ == nullptr) return;
  if (pool_ != nullptr) free_(pool_);
  if (pool_batch_ != nullptr) free_(pool_batch_);
}

void init_llama_backend() {
  static std::once_flag once;
  std::call_once(once, [] {
    llama_log_set(log_to_spdlog, nullptr);
    llama_backend_init();
  });
}

}  // namespace smmf::engines::llama_cpp
