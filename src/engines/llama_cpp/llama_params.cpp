#include "engines/llama_cpp/llama_params.h"

#include "engines/llama_cpp/chat_format.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <filesystem>
#include <limits>
#include <span>
#include <string_view>

namespace smmf::engines::llama_cpp {
namespace {

namespace json = boost::json;

constexpr std::array<std::string_view, 9> kCacheTypes = {"f32",  "f16",    "bf16", "q8_0", "q4_0",
                                                         "q4_1", "iq4_nl", "q5_0", "q5_1"};

class ParamReader {
 public:
  explicit ParamReader(const ModelConfig& cfg) : cfg_(cfg) {}

  Error error(std::string_view key, std::string_view why) const {
    return Error::invalid(fmt::format("{}: params.{}: {}", cfg_.origin, key, why),
                          fmt::format("params.{}", key));
  }

  Result<int64_t> integer(std::string_view key, const json::value& v, int64_t min,
                          int64_t max) const {
    int64_t n = 0;
    if (v.is_int64()) {
      n = v.get_int64();
    } else if (v.is_uint64()) {
      if (v.get_uint64() > static_cast<uint64_t>(max)) return range_error(key, min, max);
      n = static_cast<int64_t>(v.get_uint64());
    } else {
      return error(key, "must be an integer");
    }
    if (n < min || n > max) return range_error(key, min, max);
    return n;
  }

  Error range_error(std::string_view key, int64_t min, int64_t max) const {
    return error(key, fmt::format("must be an integer between {} and {}", min, max));
  }

  Result<bool> boolean(std::string_view key, const json::value& v) const {
    if (!v.is_bool()) return error(key, "must be true or false");
    return v.get_bool();
  }

  Result<std::string> one_of(std::string_view key, const json::value& v,
                             std::span<const std::string_view> allowed) const {
    if (!v.is_string()) return error(key, "must be a string");
    std::string_view s = v.get_string();
    if (std::find(allowed.begin(), allowed.end(), s) == allowed.end()) {
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return error(key, fmt::format("'{}' is not one of {}", s, list));
    }
    return std::string(s);
  }

 private:
  const ModelConfig& cfg_;
};

// Applies one key; returns an error for unknown keys or ill-typed values.
Status apply(const ParamReader& r, std::string_view key, const json::value& v, LlamaParams& p) {
  constexpr int64_t kIntMax = std::numeric_limits<int32_t>::max();
  auto set_int = [&](int& out, int64_t min, int64_t max) -> Status {
    auto n = r.integer(key, v, min, max);
    if (!n) return n.error();
    out = static_cast<int>(*n);
    return {};
  };
  if (key == "ctx_size") return set_int(p.ctx_size, 0, kIntMax);
  if (key == "parallel") return set_int(p.parallel, 1, 256);
  if (key == "threads") return set_int(p.threads, 0, 1024);
  if (key == "threads_batch") return set_int(p.threads_batch, 0, 1024);
  if (key == "batch_size") return set_int(p.batch_size, 1, kIntMax);
  if (key == "ubatch_size") return set_int(p.ubatch_size, 1, kIntMax);
  if (key == "n_gpu_layers") return set_int(p.n_gpu_layers, -1, kIntMax);
  if (key == "max_queue") return set_int(p.max_queue, 0, 1 << 20);
  if (key == "max_tokens") {
    int n = 0;
    if (auto s = set_int(n, 1, kIntMax); !s) return s;
    p.max_tokens = n;
    return {};
  }
  if (key == "seed") {
    auto n = r.integer(key, v, 0, std::numeric_limits<uint32_t>::max());
    if (!n) return n.error();
    p.seed = static_cast<uint32_t>(*n);
    return {};
  }
  if (key == "mmap" || key == "mlock" || key == "kv_unified") {
    auto b = r.boolean(key, v);
    if (!b) return b.error();
    if (key == "mmap") p.mmap = *b;
    if (key == "mlock") p.mlock = *b;
    if (key == "kv_unified") p.kv_unified = *b;
    return {};
  }
  if (key == "flash_attn") {
    if (v.is_bool()) {
      p.flash_attn = v.get_bool() ? FlashAttn::kOn : FlashAttn::kOff;
      return {};
    }
    constexpr std::array<std::string_view, 3> kModes = {"auto", "on", "off"};
    auto s = r.one_of(key, v, kModes);
    if (!s) return s.error();
    p.flash_attn = *s == "on" ? FlashAttn::kOn : *s == "off" ? FlashAttn::kOff : FlashAttn::kAuto;
    return {};
  }
  if (key == "chat_template") {
    if (!v.is_string() || v.get_string().empty()) return r.error(key, "must be a non-empty string");
    std::string tmpl(v.get_string());
    if (!resolve_chat_format(tmpl)) {
      std::string names;
      for (auto n : smmf_chat_format_names()) names += (names.empty() ? "" : ", ") + std::string(n);
      return r.error(key, fmt::format("neither SMMF nor llama.cpp recognises this template (SMMF "
                                      "formats: {}; or a llama.cpp built-in name such as chatml, "
                                      "llama2, chatglm3, zephyr, openchat, vicuna, mistral-v7)",
                                      names));
    }
    p.chat_template = std::move(tmpl);
    return {};
  }
  if (key == "cache_type_k" || key == "cache_type_v") {
    auto s = r.one_of(key, v, kCacheTypes);
    if (!s) return s.error();
    (key == "cache_type_k" ? p.cache_type_k : p.cache_type_v) = *s;
    return {};
  }
  return r.error(key,
                 "unknown key (known: ctx_size, parallel, threads, threads_batch, batch_size, "
                 "ubatch_size, mmap, mlock, n_gpu_layers, flash_attn, cache_type_k, "
                 "cache_type_v, kv_unified, max_queue, seed, max_tokens, chat_template)");
}

}  // namespace

Result<LlamaParams> parse_llama_params(const ModelConfig& cfg) {
  LlamaParams p;
  auto type = protocol::model_type_from_string(cfg.type);
  if (!type) {
    return Error::invalid(
        fmt::format("{}: type '{}' is not one of llm, embedding, reranker", cfg.origin, cfg.type),
        "type");
  }
  p.type = *type;
  if (cfg.path.empty()) {
    return Error::invalid(fmt::format("{}: path is required by the llama.cpp engine", cfg.origin),
                          "path");
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(cfg.path, ec)) {
    return Error::invalid(
        fmt::format("{}: path '{}' does not exist or is not a file", cfg.origin, cfg.path), "path");
  }
  p.path = cfg.path;

  ParamReader reader(cfg);
  for (const auto& [key, value] : cfg.params) {
    if (auto s = apply(reader, key, value, p); !s) return s.error();
  }
  return p;
}

}  // namespace smmf::engines::llama_cpp
