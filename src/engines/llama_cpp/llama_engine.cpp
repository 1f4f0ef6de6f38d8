#include "engines/llama_cpp/llama_engine.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cmath>

#include "engines/llama_cpp/generate_call.h"
#include "engines/llama_cpp/model_runtime.h"
#include "engines/llama_cpp/pooled_call.h"
#include "engines/llama_cpp/rerank_call.h"

namespace smmf::engines::llama_cpp {
namespace {

std::string_view serves(protocol::ModelType t) {
  switch (t) {
    case protocol::ModelType::kLlm:
      return "chat and completions";
    case protocol::ModelType::kEmbedding:
      return "embeddings";
    case protocol::ModelType::kReranker:
      return "reranking";
  }
  return "nothing";
}

// Truncates to `dims` (0 = keep all) and scales to unit length.
void truncate_normalize(std::vector<float>& v, int dims) {
  if (dims > 0 && static_cast<size_t>(dims) < v.size()) v.resize(static_cast<size_t>(dims));
  double sum = 0.0;
  for (float x : v) sum += static_cast<double>(x) * x;
  if (sum <= 0.0) return;
  const auto scale = static_cast<float>(1.0 / std::sqrt(sum));
  for (float& x : v) x *= scale;
}

}  // namespace

LlamaEngine::LlamaEngine(LlamaParams params) : params_(std::move(params)) {}

LlamaEngine::~LlamaEngine() {
  std::shared_ptr<ModelRuntime> rt;
  {
    std::lock_guard lock(mutex_);
    rt = std::move(runtime_);
  }
  if (rt) {
    rt->stop(nullptr);
    rt->join();
  }
}

EngineInfo LlamaEngine::info() const {
  EngineInfo info{"llama.cpp", params_.type, 0, 0};
  std::lock_guard lock(mutex_);
  if (runtime_) {
    info.context_length = runtime_->context_length();
    info.embedding_size = runtime_->embedding_size();
  }
  return info;
}

Status LlamaEngine::health() const {
  if (state_.load() == State::kReady) return {};
  return Error::unavailable("the model is not loaded");
}

asio::awaitable<Status> LlamaEngine::load() {
  auto self = shared_from_this();
  State expected = State::kCreated;
  if (!state_.compare_exchange_strong(expected, State::kLoading)) {
    if (expected == State::kReady) co_return Status{};
    co_return Error::unavailable("the model is already being loaded or unloaded");
  }
  auto loaded = std::make_shared<Mailbox<Status>>();
  auto rt = ModelRuntime::start(params_, [loaded](Status s) { loaded->push(std::move(s)); });
  std::vector<Status> outcome;
  co_await loaded->wait(outcome);
  if (!outcome.front()) {
    rt->join();  // the thread has freed everything and is exiting
    state_ = State::kCreated;
    spdlog::error("llama.cpp: {}", outcome.front().error().message);
    co_return outcome.front();
  }
  {
    std::lock_guard lock(mutex_);
    runtime_ = rt;
  }
  state_ = State::kReady;
  spdlog::info("llama.cpp: loaded {} ({}, context {} per sequence{})", params_.path,
               protocol::to_string(params_.type), rt->context_length(),
               params_.type == protocol::ModelType::kLlm
                   ? fmt::format(", chat template {}{}", rt->tokenizer().chat_format_name(),
                                 rt->tokenizer().uses_fallback_template() ? " (fallback)" : "")
                   : std::string{});
  co_return Status{};
}

asio::awaitable<void> LlamaEngine::unload() {
  auto self = shared_from_this();
  State expected = State::kReady;
  if (!state_.compare_exchange_strong(expected, State::kStopping)) co_return;
  std::shared_ptr<ModelRuntime> rt;
  {
    std::lock_guard lock(mutex_);
    rt = std::move(runtime_);
  }
  auto exited = std::make_shared<Mailbox<int>>();
  rt->stop([exited] { exited->push(0); });
  std::vector<int> done;
  co_await exited->wait(done);
  rt->join();
  state_ = State::kCreated;
  spdlog::info("llama.cpp: unloaded {}", params_.path);
}

Result<std::shared_ptr<ModelRuntime>> LlamaEngine::runtime_for(protocol::ModelType wanted,
                                                               std::string_view what) const {
  if (params_.type != wanted) {
    return Error::unsupported(fmt::format("this is a {} model: it serves {}, not {}",
                                          protocol::to_string(params_.type), serves(params_.type),
                                          what));
  }
  std::lock_guard lock(mutex_);
  if (state_.load() != State::kReady || !runtime_) {
    return Error::unavailable("the model is not loaded");
  }
  return runtime_;
}

asio::awaitable<Result<protocol::GenerationResult>> LlamaEngine::chat(
    const protocol::ChatRequest& req, DeltaSink* sink, const CallContext& ctx) {
  auto self = shared_from_this();
  auto rt = runtime_for(protocol::ModelType::kLlm, "chat completions");
  if (!rt) co_return rt.error();
  if (req.messages.empty()) co_return Error::invalid("messages must not be empty", "messages");
  // The template's special tokens (<|im_start|>, ...) must become tokens, not text.
  const auto& tok = (*rt)->tokenizer();
  GenerationPlan plan;
  plan.prompts.push_back(tok.tokenize(tok.render_chat(req.messages), true, true));
  plan.param = "messages";
  co_return co_await run_generation(**rt, params_, std::move(plan), req.gen, sink, ctx);
}

asio::awaitable<Result<protocol::GenerationResult>> LlamaEngine::complete(
    const protocol::CompletionRequest& req, DeltaSink* sink, const CallContext& ctx) {
  auto self = shared_from_this();
  auto rt = runtime_for(protocol::ModelType::kLlm, "completions");
  if (!rt) co_return rt.error();
  if (req.prompts.empty()) co_return Error::invalid("prompt must not be empty", "prompt");
  const auto& tok = (*rt)->tokenizer();
  GenerationPlan plan;
  for (const auto& prompt : req.prompts) plan.prompts.push_back(tok.tokenize(prompt, true, false));
  if (req.echo) plan.echo = req.prompts;
  plan.param = "prompt";
  co_return co_await run_generation(**rt, params_, std::move(plan), req.gen, sink, ctx);
}

asio::awaitable<Result<protocol::EmbeddingResult>> LlamaEngine::embed(
    const protocol::EmbeddingRequest& req, const CallContext& ctx) {
  auto self = shared_from_this();
  auto rt = runtime_for(protocol::ModelType::kEmbedding, "embeddings");
  if (!rt) co_return rt.error();
  EmbeddingLoop& loop = *(*rt)->embeddings();
  if (req.inputs.empty()) co_return Error::invalid("input must not be empty", "input");
  const int dims = req.dimensions.value_or(0);
  if (req.dimensions && (dims < 1 || dims > loop.embedding_size())) {
    co_return Error::invalid(
        fmt::format("dimensions must be between 1 and {} for this model", loop.embedding_size()),
        "dimensions");
  }
  protocol::EmbeddingResult result;
  std::vector<std::vector<llama_token>> inputs;
  inputs.reserve(req.inputs.size());
  for (size_t i = 0; i < req.inputs.size(); ++i) {
    auto tokens = (*rt)->tokenizer().tokenize(req.inputs[i], true, false);
    if (req.inputs[i].empty() || tokens.empty()) {
      co_return Error::invalid(fmt::format("input[{}] is empty", i), "input");
    }
    if (tokens.size() > static_cast<size_t>(loop.max_input_tokens())) {
      co_return Error::invalid(
          fmt::format("input[{}] has {} tokens but the model's context per input is {}", i,
                      tokens.size(), loop.max_input_tokens()),
          "input");
    }
    result.prompt_tokens += static_cast<int>(tokens.size());
    inputs.push_back(std::move(tokens));
  }
  auto pooled = co_await run_pooled(loop, std::move(inputs), req.priority, ctx);
  if (!pooled) co_return pooled.error();
  result.embeddings = std::move(*pooled);
  for (auto& e : result.embeddings) truncate_normalize(e, dims);
  co_return result;
}

asio::awaitable<Result<protocol::RerankResult>> LlamaEngine::rerank(
    const protocol::RerankRequest& req, const CallContext& ctx) {
  auto self = shared_from_this();
  auto rt = runtime_for(protocol::ModelType::kReranker, "reranking");
  if (!rt) co_return rt.error();
  co_return co_await run_rerank(**rt, req, ctx);
}

Result<std::shared_ptr<Engine>> LlamaEngineFactory::create(const ModelConfig& cfg) const {
  auto params = parse_llama_params(cfg);
  if (!params) return params.error();
  return std::shared_ptr<Engine>(std::make_shared<LlamaEngine>(std::move(*params)));
}

void register_llama_cpp(EngineRegistry& registry) {
  registry.add(std::make_unique<LlamaEngineFactory>());
}

}  // namespace smmf::engines::llama_cpp
