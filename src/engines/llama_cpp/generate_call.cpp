#include "engines/llama_cpp/generate_call.h"

#include <fmt/format.h>

#include <algorithm>

#include "engines/llama_cpp/grammar.h"

namespace smmf::engines::llama_cpp {
namespace {

constexpr int kMaxChoices = 128;

// However the coroutine ends (result, error, sink gone, frame destroyed), the inference loop
// drops whatever is still queued or running for this call within one step.
struct AbandonOnExit {
  std::shared_ptr<GenCall> call;
  ~AbandonOnExit() { call->abandoned.store(true, std::memory_order_relaxed); }
};

// Phases of a finished call from the inference thread's stamps (a phase never seen is 0).
protocol::EngineTimings timings_of(const GenCall& call, int64_t submitted, int64_t done) {
  const int64_t admitted = call.admitted_ns.load(std::memory_order_relaxed);
  const int64_t first = call.first_token_ns.load(std::memory_order_relaxed);
  protocol::EngineTimings t;
  if (admitted == 0) return t;
  t.queue_us = std::max<int64_t>(0, admitted - submitted) / 1000;
  if (first == 0) return t;
  t.prompt_us = std::max<int64_t>(0, first - admitted) / 1000;
  t.decode_us = std::max<int64_t>(0, done - first) / 1000;
  return t;
}

}  // namespace

Result<SamplingConfig> resolve_sampling(const protocol::SamplingParams& s,
                                        std::optional<uint32_t> default_seed, int choice,
                                        int vocab_size) {
  SamplingConfig c;
  if (s.temperature) c.temperature = *s.temperature;
  if (s.top_k) c.top_k = *s.top_k;
  if (s.top_p) c.top_p = *s.top_p;
  if (s.min_p) c.min_p = *s.min_p;
  if (s.typical_p) c.typical_p = *s.typical_p;
  c.repeat_penalty = s.repetition_penalty;
  c.frequency_penalty = s.frequency_penalty;
  c.presence_penalty = s.presence_penalty;
  if (auto seed = s.seed ? s.seed : default_seed) c.seed = *seed + static_cast<uint32_t>(choice);
  c.logit_bias.reserve(s.logit_bias.size());
  for (const auto& [token, bias] : s.logit_bias) {
    if (token < 0 || token >= vocab_size) {
      return Error::invalid(fmt::format("logit_bias: token {} is not in the model's vocabulary "
                                        "(0 to {})",
                                        token, vocab_size - 1),
                            "logit_bias");
    }
    c.logit_bias.push_back({token, bias});
  }
  return c;
}

asio::awaitable<Result<protocol::GenerationResult>> run_generation(
    ModelRuntime& runtime, const LlamaParams& params, GenerationPlan plan,
    const protocol::GenerationParams& gen, DeltaSink* sink, const CallContext& ctx) {
  InferenceLoop& loop = *runtime.generation();
  const int n = gen.n;
  if (n < 1 || n > kMaxChoices) {
    co_return Error::invalid(fmt::format("n must be between 1 and {}", kMaxChoices), "n");
  }
  if (gen.max_tokens && *gen.max_tokens < 0) {
    co_return Error::invalid("max_tokens must not be negative", "max_tokens");
  }
  protocol::GenerationResult result;
  const auto n_ctx = static_cast<size_t>(loop.context_per_sequence());
  std::vector<std::shared_ptr<const std::vector<llama_token>>> prompts;
  for (auto& prompt : plan.prompts) {
    if (prompt.empty()) co_return Error::invalid("the prompt is empty", plan.param);
    if (prompt.size() >= n_ctx) {
      co_return Error::invalid(
          fmt::format("the prompt has {} tokens but the model's context per sequence is {}",
                      prompt.size(), n_ctx),
          plan.param);
    }
    result.usage.prompt_tokens += static_cast<int>(prompt.size());
    prompts.push_back(std::make_shared<const std::vector<llama_token>>(std::move(prompt)));
  }
  const int total = static_cast<int>(prompts.size()) * n;
  if (total > loop.slots() + params.max_queue) {  // would be refused however idle the model is
    co_return Error::invalid(
        fmt::format("{} prompts x n = {} sequences exceed what this model can take at once ({})",
                    prompts.size(), total, loop.slots() + params.max_queue),
        "n");
  }
  const int max_tokens = gen.max_tokens ? *gen.max_tokens : params.max_tokens.value_or(-1);

  std::vector<protocol::Choice> choices(static_cast<size_t>(total));
  for (int i = 0; i < total; ++i) {
    choices[i].index = i;
    if (!plan.echo.empty()) choices[i].text = plan.echo[static_cast<size_t>(i / n)];
  }
  if (max_tokens == 0) {  // nothing to generate: echo (if any) is the whole answer
    for (auto& c : choices) c.finish_reason = protocol::FinishReason::kLength;
    if (sink == nullptr) {
      result.choices = std::move(choices);
      co_return result;
    }
    std::vector<protocol::Delta> deltas;
    for (auto& c : choices) deltas.push_back({c.index, std::move(c.text), c.finish_reason});
    if (auto st = co_await sink->write(deltas); !st) co_return st.error();
    co_return result;
  }

  auto grammar = grammar_for(gen, runtime.tokenizer().vocab());
  if (!grammar) co_return grammar.error();

  auto call = std::make_shared<GenCall>(ctx.cancel);
  std::vector<GenJob> jobs;
  jobs.reserve(static_cast<size_t>(total));
  for (size_t p = 0; p < prompts.size(); ++p) {
    for (int i = 0; i < n; ++i) {
      auto sampling = resolve_sampling(gen.sampling, params.seed, i, runtime.vocab_size());
      if (!sampling) co_return sampling.error();
      sampling->grammar = *grammar;
      jobs.push_back(GenJob{call, prompts[p], static_cast<int>(p) * n + i, std::move(*sampling),
                            max_tokens, gen.stop, gen.priority});
    }
  }
  const int64_t submitted_ns = steady_ns();
  if (auto st = loop.submit(std::move(jobs)); !st) co_return st.error();
  AbandonOnExit guard{call};

  std::vector<protocol::Delta> deltas;
  if (sink != nullptr && !plan.echo.empty()) {
    for (auto& c : choices) deltas.push_back({c.index, std::move(c.text), {}});
    if (auto st = co_await sink->write(deltas); !st) co_return st.error();
  }

  std::vector<GenEvent> events;
  std::vector<int> delta_of(static_cast<size_t>(total), -1);  // choice -> its delta this wake-up
  std::vector<int> cached(prompts.size(), 0);
  int remaining = total;
  while (remaining > 0) {
    events.clear();
    co_await call->events.wait(events);
    deltas.clear();
    for (auto& ev : events) {
      if (ev.error) co_return *ev.error;
      if (ev.finish) {
        --remaining;
        result.usage.completion_tokens += ev.completion_tokens;
        auto& c = cached[static_cast<size_t>(ev.index / n)];
        c = std::max(c, ev.cached_tokens);
      }
      if (sink == nullptr) {
        choices[ev.index].text += ev.text;
        if (ev.finish) choices[ev.index].finish_reason = *ev.finish;
        continue;
      }
      // Everything a choice produced since the last wake-up goes out as one delta.
      int& d = delta_of[static_cast<size_t>(ev.index)];
      if (d < 0) {
        d = static_cast<int>(deltas.size());
        deltas.push_back({ev.index, std::move(ev.text), ev.finish});
      } else {
        deltas[d].text += ev.text;
        if (ev.finish) deltas[d].finish_reason = ev.finish;
      }
    }
    if (sink == nullptr || deltas.empty()) continue;
    for (const auto& d : deltas) delta_of[static_cast<size_t>(d.index)] = -1;
    std::erase_if(deltas,
                  [](const protocol::Delta& d) { return d.text.empty() && !d.finish_reason; });
    if (deltas.empty()) continue;
    if (auto st = co_await sink->write(deltas); !st) co_return st.error();
  }
  for (int c : cached) result.usage.cached_tokens += c;
  result.usage.cached_tokens = std::min(result.usage.cached_tokens, result.usage.prompt_tokens);
  if (sink == nullptr) result.choices = std::move(choices);
  result.timings = timings_of(*call, submitted_ns, steady_ns());
  co_return result;
}

}  // namespace smmf::engines::llama_cpp
