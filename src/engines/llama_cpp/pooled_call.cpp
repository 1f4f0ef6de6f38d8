#include "engines/llama_cpp/pooled_call.h"

namespace smmf::engines::llama_cpp {
namespace {

struct AbandonEmbedOnExit {
  std::shared_ptr<EmbedCall> call;
  ~AbandonEmbedOnExit() { call->abandoned.store(true, std::memory_order_relaxed); }
};

}  // namespace

asio::awaitable<Result<std::vector<std::vector<float>>>> run_pooled(
    EmbeddingLoop& loop, std::vector<std::vector<llama_token>> inputs, int priority,
    const CallContext& ctx) {
  const size_t n = inputs.size();
  auto call = std::make_shared<EmbedCall>(ctx.cancel);
  if (auto st = loop.submit(call, std::move(inputs), priority); !st) co_return st.error();
  AbandonEmbedOnExit guard{call};

  std::vector<std::vector<float>> out(n);
  size_t remaining = n;
  std::vector<EmbedEvent> events;
  while (remaining > 0) {
    events.clear();
    co_await call->events.wait(events);
    for (auto& ev : events) {
      if (ev.error) co_return *ev.error;
      out[static_cast<size_t>(ev.index)] = std::move(ev.embedding);
      --remaining;
    }
  }
  co_return out;
}

}  // namespace smmf::engines::llama_cpp
