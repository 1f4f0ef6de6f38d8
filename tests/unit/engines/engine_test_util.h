#pragma once
// Helpers for engine tests: run coroutines to completion on a private io_context, collect
// streamed deltas, find the tiny test models.
#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdlib>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.h"
#include "engines/engine.h"
#include "engines/llama_cpp/llama_engine.h"

namespace smmf::engines::test {

namespace asio = boost::asio;

/// The environment variable, else the default compiled in by CMake, else "".
inline std::string env_or_empty(const char* name) {
  if (const char* v = std::getenv(name); v != nullptr && *v != '\0') return v;
#ifdef SMMF_TEST_CHAT_MODEL_DEFAULT
  if (std::string_view(name) == "SMMF_TEST_CHAT_MODEL") return SMMF_TEST_CHAT_MODEL_DEFAULT;
#endif
#ifdef SMMF_TEST_EMBED_MODEL_DEFAULT
  if (std::string_view(name) == "SMMF_TEST_EMBED_MODEL") return SMMF_TEST_EMBED_MODEL_DEFAULT;
#endif
#ifdef SMMF_TEST_RERANK_MODEL_DEFAULT
  if (std::string_view(name) == "SMMF_TEST_RERANK_MODEL") return SMMF_TEST_RERANK_MODEL_DEFAULT;
#endif
  return "";
}

/// Runs one awaitable to completion on a fresh io_context; rethrows what it throws.
template <class T>
T run(asio::awaitable<T> aw) {
  asio::io_context ioc;
  std::optional<T> out;
  std::exception_ptr error;
  asio::co_spawn(ioc, std::move(aw), [&](std::exception_ptr e, T v) {
    error = e;
    if (!e) out.emplace(std::move(v));
  });
  ioc.run();
  if (error) std::rethrow_exception(error);
  return std::move(*out);
}

inline void run(asio::awaitable<void> aw) {
  asio::io_context ioc;
  std::exception_ptr error;
  asio::co_spawn(ioc, std::move(aw), [&](std::exception_ptr e) { error = e; });
  ioc.run();
  if (error) std::rethrow_exception(error);
}

/// Records every write; optional hook runs on each write and may fail it.
class CollectSink : public DeltaSink {
 public:
  asio::awaitable<Status> write(std::span<const protocol::Delta> deltas) override {
    writes.emplace_back(deltas.begin(), deltas.end());
    if (on_write) co_return on_write(writes.size());
    co_return Status{};
  }

  std::string text(int index) const {
    std::string s;
    for (const auto& w : writes) {
      for (const auto& d : w) {
        if (d.index == index) s += d.text;
      }
    }
    return s;
  }
  std::optional<protocol::FinishReason> finish(int index) const {
    std::optional<protocol::FinishReason> f;
    for (const auto& w : writes) {
      for (const auto& d : w) {
        if (d.index == index && d.finish_reason) f = d.finish_reason;
      }
    }
    return f;
  }

  std::vector<std::vector<protocol::Delta>> writes;
  std::function<Status(size_t n_writes)> on_write;
};

/// Creates and loads a llama.cpp engine through the registered factory.
inline std::shared_ptr<Engine> load_engine(const std::string& path, const std::string& type,
                                           boost::json::object params) {
  EngineRegistry registry;
  llama_cpp::register_llama_cpp(registry);
  ModelConfig cfg;
  cfg.name = "tiny";
  cfg.type = type;
  cfg.path = path;
  cfg.origin = "test";
  cfg.params = std::move(params);
  auto engine = registry.create(cfg);
  if (!engine) {
    ADD_FAILURE() << engine.error().message;
    return nullptr;
  }
  auto status = run((*engine)->load());
  if (!status) {
    ADD_FAILURE() << status.error().message;
    return nullptr;
  }
  return *engine;
}

}  // namespace smmf::engines::test
