#include "engines/llama_cpp/model_runtime.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <map>
#include <string>
#include <string_view>

namespace smmf::engines::llama_cpp {
namespace {

constexpr int kDefaultParallelLlm = 4;
constexpr int kDefaultParallelEmbedding = 16;
constexpr int kDefaultCtxPerSequence = 4096;
constexpr int kDefaultBatch = 2048;
constexpr int kDefaultUbatch = 512;

ggml_type cache_type(const std::string& name) {
  static const std::map<std::string, ggml_type, std::less<>> kTypes = {
      {"f32", GGML_TYPE_F32},   {"f16", GGML_TYPE_F16},   {"bf16", GGML_TYPE_BF16},
      {"q8_0", GGML_TYPE_Q8_0}, {"q4_0", GGML_TYPE_Q4_0}, {"q4_1", GGML_TYPE_Q4_1},
      {"q5_0", GGML_TYPE_Q5_0}, {"q5_1", GGML_TYPE_Q5_1}, {"iq4_nl", GGML_TYPE_IQ4_NL}};
  auto it = kTypes.find(name);
  return it == kTypes.end() ? GGML_TYPE_F16 : it->second;  // parse_llama_params checked it
}

llama_load_mode load_mode(const LlamaParams& p) {
  if (!p.mmap && !p.mlock) return LLAMA_LOAD_MODE_AUTO;
  const bool mmap = p.mmap.value_or(true);
  const bool mlock = p.mlock.value_or(false);
  if (mmap && mlock) return LLAMA_LOAD_MODE_MMAP_MLOCK;
  if (mmap) return LLAMA_LOAD_MODE_MMAP;
  if (mlock) return LLAMA_LOAD_MODE_MLOCK;
  return LLAMA_LOAD_MODE_NONE;
}

int default_threads() {
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

// One decode so that the first request does not pay for graph allocation and page faults.
void warm_up(llama_context* ctx, const llama_vocab* vocab) {
  llama_token t = llama_vocab_bos(vocab);
  if (t == LLAMA_TOKEN_NULL) t = 0;
  Batch batch(1);
  batch.add(t, 0, 0, true);
  if (llama_decode(ctx, batch.get()) != 0) spdlog::debug("llama.cpp: warm-up decode failed");
  if (llama_memory_t mem = llama_get_memory(ctx)) llama_memory_clear(mem, true);
  llama_synchronize(ctx);
}

// Rank pooling on a model without a classification head scores with the first component of an
// embedding: legal for llama.cpp, meaningless for clients. Reranker GGUFs declare rank pooling.
void warn_unless_reranker(const llama_model* model, const std::string& path) {
  char arch[64] = {};
  char pooling[16] = {};
  if (llama_model_meta_val_str(model, "general.architecture", arch, sizeof(arch)) < 0) return;
  const std::string key = std::string(arch) + ".pooling_type";
  const bool rank = llama_model_meta_val_str(model, key.c_str(), pooling, sizeof(pooling)) >= 0 &&
                    std::string_view(pooling) == std::to_string(LLAMA_POOLING_TYPE_RANK);
  if (!rank) {
    spdlog::warn(
        "llama.cpp: '{}' does not declare rank pooling ({} is '{}'): as a reranker its scores "
        "may be meaningless",
        path, key, pooling);
  }
}

}  // namespace

std::shared_ptr<ModelRuntime> ModelRuntime::start(const LlamaParams& params,
                                                  std::function<void(Status)> on_loaded) {
  std::shared_ptr<ModelRuntime> rt(new ModelRuntime(params));
  rt->thread_ = std::thread(
      [raw = rt.get(), cb = std::move(on_loaded)]() mutable { raw->thread_main(std::move(cb)); });
  return rt;
}

ModelRuntime::~ModelRuntime() {
  stop(nullptr);
  join();
}

void ModelRuntime::stop(std::function<void()> on_exit) {
  bool exited = false;
  {
    std::lock_guard lock(mutex_);
    stop_requested_ = true;
    if (generation_) generation_->stop();
    if (embeddings_) embeddings_->stop();
    exited = exited_;
    if (!exited) on_exit_ = std::move(on_exit);
  }
  if (exited && on_exit) on_exit();
}

void ModelRuntime::join() {
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void ModelRuntime::thread_main(std::function<void(Status)> on_loaded) {
  Status status;
  try {
    status = open();
  } catch (const std::exception& e) {
    status = Error::internal(fmt::format("loading {} failed: {}", params_.path, e.what()));
  }
  if (!status) {
    // Free what was built before reporting, so the caller's join() is instant.
    std::lock_guard lock(mutex_);
    generation_.reset();
    embeddings_.reset();
    pools_.reset();
    tokenizer_.reset();
    model_.reset();
  }
  on_loaded(status);
  if (status) {
    if (generation_) generation_->run();
    if (embeddings_) embeddings_->run();
  }
  std::function<void()> on_exit;
  {
    std::lock_guard lock(mutex_);
    exited_ = true;
    on_exit = std::move(on_exit_);
  }
  if (on_exit) on_exit();
}

Status ModelRuntime::open() {
  init_llama_backend();
  auto mp = llama_model_default_params();
  mp.n_gpu_layers = params_.n_gpu_layers;
  mp.load_mode = load_mode(params_);
  model_.reset(llama_model_load_from_file(params_.path.c_str(), mp));
  if (!model_) {
    return Error::internal(fmt::format(
        "llama.cpp could not load '{}' (not a GGUF model, or an unsupported architecture)",
        params_.path));
  }
  tokenizer_.emplace(model_.get(), params_.type == protocol::ModelType::kLlm,
                     params_.chat_template);
  vocab_size_ = llama_vocab_n_tokens(tokenizer_->vocab());
  embedding_size_ = llama_model_n_embd_out(model_.get());
  if (params_.type == protocol::ModelType::kReranker) {
    if (const char* t = llama_model_chat_template(model_.get(), "rerank")) rerank_template_ = t;
    warn_unless_reranker(model_.get(), params_.path);
  }

  auto ctx = create_context();
  if (!ctx) return ctx.error();
  pools_ = std::make_unique<CpuThreadPools>(ctx->get(), llama_n_threads(ctx->get()),
                                            llama_n_threads_batch(ctx->get()));
  warm_up(ctx->get(), tokenizer_->vocab());
  context_length_ = static_cast<int>(llama_n_ctx_seq(ctx->get()));

  std::lock_guard lock(mutex_);
  if (params_.type == protocol::ModelType::kLlm) {
    generation_ = std::make_unique<InferenceLoop>(std::move(*ctx), *tokenizer_,
                                                  LoopOptions{params_.max_queue});
    if (stop_requested_) generation_->stop();
  } else {
    embeddings_ = std::make_unique<EmbeddingLoop>(std::move(*ctx), params_.max_queue);
    if (stop_requested_) embeddings_->stop();
  }
  return {};
}

Result<ContextPtr> ModelRuntime::create_context() {
  const bool llm = params_.type == protocol::ModelType::kLlm;
  const int n_ctx_train = std::max(1, llama_model_n_ctx_train(model_.get()));
  auto cp = llama_context_default_params();
  cp.n_threads = params_.threads > 0 ? params_.threads : default_threads();
  cp.n_threads_batch = params_.threads_batch > 0 ? params_.threads_batch : cp.n_threads;
  cp.flash_attn_type = params_.flash_attn == FlashAttn::kOn    ? LLAMA_FLASH_ATTN_TYPE_ENABLED
                       : params_.flash_attn == FlashAttn::kOff ? LLAMA_FLASH_ATTN_TYPE_DISABLED
                                                               : LLAMA_FLASH_ATTN_TYPE_AUTO;
  cp.type_k = cache_type(params_.cache_type_k);
  cp.type_v = cache_type(params_.cache_type_v);
  cp.no_perf = true;
  if (llm) {
    const int parallel = params_.parallel > 0 ? params_.parallel : kDefaultParallelLlm;
    const int n_ctx = params_.ctx_size > 0
                          ? params_.ctx_size
                          : parallel * std::min(n_ctx_train, kDefaultCtxPerSequence);
    const int n_batch =
        std::max(params_.batch_size > 0 ? params_.batch_size : kDefaultBatch, parallel);
    cp.n_ctx = static_cast<uint32_t>(n_ctx);
    cp.n_batch = static_cast<uint32_t>(n_batch);
    cp.n_ubatch = static_cast<uint32_t>(
        std::min(params_.ubatch_size > 0 ? params_.ubatch_size : kDefaultUbatch, n_batch));
    cp.n_seq_max = static_cast<uint32_t>(parallel);
    cp.kv_unified = params_.kv_unified;
    cp.embeddings = false;
  } else {
    // Every input is one sequence in one physical batch (non-causal models need that), and
    // every sequence may use the whole context: one unified KV buffer.
    const int parallel = params_.parallel > 0 ? params_.parallel : kDefaultParallelEmbedding;
    const int n_ctx = params_.ctx_size > 0 ? params_.ctx_size : n_ctx_train;
    const int n_batch = params_.batch_size > 0 ? params_.batch_size : n_ctx;
    cp.n_ctx = static_cast<uint32_t>(std::max(n_ctx, n_batch));
    cp.n_batch = static_cast<uint32_t>(n_batch);
    cp.n_ubatch = static_cast<uint32_t>(n_batch);
    cp.n_seq_max = static_cast<uint32_t>(parallel);
    cp.kv_unified = true;
    cp.embeddings = true;
    cp.pooling_type = params_.type == protocol::ModelType::kReranker
                          ? LLAMA_POOLING_TYPE_RANK
                          : LLAMA_POOLING_TYPE_UNSPECIFIED;
  }
  ContextPtr ctx(llama_init_from_model(model_.get(), cp));
  if (!ctx) {
    return Error::internal(fmt::format(
        "llama.cpp could not create a context for '{}' (n_ctx {}, n_batch {}, n_seq_max {}); "
        "check ctx_size, batch_size, parallel and cache types",
        params_.path, cp.n_ctx, cp.n_batch, cp.n_seq_max));
  }
  if (!llm && llama_pooling_type(ctx.get()) == LLAMA_POOLING_TYPE_NONE) {
    return Error::invalid(
        fmt::format(
            "'{}' has no pooling type (mean, cls, last or rank): it cannot serve embeddings",
            params_.path),
        "type");
  }
  return ctx;
}

}  // namespace smmf::engines::llama_cpp
