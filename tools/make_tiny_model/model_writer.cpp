#include "model_writer.h"

#include <llama.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "random.h"

namespace smmf::tools {
namespace {

int64_t element_count(const TensorSpec& spec) {
  int64_t n = 1;
  for (const int64_t d : spec.ne) n *= d;
  return n;
}

std::vector<float> initial_values(const TensorSpec& spec, uint64_t seed) {
  std::vector<float> values(static_cast<size_t>(element_count(spec)));
  switch (spec.init) {
    case Init::kOnes:
      std::fill(values.begin(), values.end(), 1.0f);
      break;
    case Init::kZeros:
      break;
    case Init::kNormal: {
      // std 1/sqrt(fan-in) keeps activations near unit scale through every layer; much smaller
      // weights let the tied embedding dominate and the model repeats the last prompt token.
      const double std_dev = 1.0 / std::sqrt(static_cast<double>(spec.ne[0]));
      NormalRng rng(tensor_seed(seed, spec.name));
      for (float& v : values) v = static_cast<float>(rng.next() * std_dev);
    } break;
  }
  return values;
}

std::vector<uint8_t> encode(const std::vector<float>& values, ggml_type type) {
  std::vector<uint8_t> bytes;
  if (type == GGML_TYPE_F16) {
    bytes.resize(values.size() * sizeof(ggml_fp16_t));
    ggml_fp32_to_fp16_row(values.data(), reinterpret_cast<ggml_fp16_t*>(bytes.data()),
                          static_cast<int64_t>(values.size()));
  } else {
    bytes.resize(values.size() * sizeof(float));
    std::memcpy(bytes.data(), values.data(), bytes.size());
  }
  return bytes;
}

}  // namespace

void validate_hparams(const ArchSpec& arch, const HParams& hp) {
  const auto fail = [&](const std::string& why) {
    throw std::runtime_error(std::string(arch.name) + ": " + why);
  };
  if (hp.n_embd == 0 || hp.n_layer == 0 || hp.n_head == 0 || hp.n_head_kv == 0 || hp.n_ff == 0 ||
      hp.n_ctx == 0) {
    fail("every hyperparameter must be positive");
  }
  if (hp.n_embd % hp.n_head != 0) fail("--n-embd must be a multiple of --n-head");
  if (hp.n_head % hp.n_head_kv != 0) fail("--n-head must be a multiple of --n-head-kv");
  if (!arch.grouped_kv && hp.n_head_kv != hp.n_head) fail("--n-head-kv must equal --n-head");
  if ((hp.n_embd / hp.n_head) % arch.head_dim_multiple != 0) {
    fail("the head dimension (--n-embd / --n-head) must be a multiple of " +
         std::to_string(arch.head_dim_multiple) + " for RoPE");
  }
}

WriteStats write_model(const ArchSpec& arch, const ModelConfig& config, const Vocab& vocab,
                       const WriteOptions& options) {
  validate_hparams(arch, config.hparams);
  const ModelLayout layout = arch.layout(config);
  const std::vector<bool> masked =
      arch.generative ? vocab.ungeneratable_tokens() : std::vector<bool>{};

  GgufWriter writer(layout.tensors.size());
  writer.set("general.architecture", std::string(arch.name));
  writer.set("general.name", options.name);
  const bool f16 = options.type == GGML_TYPE_F16;
  writer.set("general.file_type",
             static_cast<uint32_t>(f16 ? LLAMA_FTYPE_MOSTLY_F16 : LLAMA_FTYPE_ALL_F32));
  for (const KvSpec& kv : layout.kv) writer.set(kv.key, kv.value);
  writer.copy_keys(vocab.metadata(), "tokenizer.");
  if (options.chat_template) {
    writer.set("tokenizer.chat_template", *options.chat_template);
  } else if (!arch.default_chat_template.empty()) {
    writer.set("tokenizer.chat_template", std::string(arch.default_chat_template));
  }

  WriteStats stats;
  for (const TensorSpec& spec : layout.tensors) {
    std::vector<float> values = initial_values(spec, options.seed);
    if (spec.token_rows && !masked.empty()) {
      const auto row = static_cast<size_t>(spec.ne[0]);
      for (size_t id = 0; id < masked.size(); ++id) {
        if (!masked[id]) continue;
        std::fill_n(values.begin() + static_cast<std::ptrdiff_t>(id * row), row, 0.0f);
        ++stats.n_zeroed_rows;
      }
    }
    const ggml_type type =
        (f16 && spec.ne.size() > 1 && !spec.keep_f32) ? GGML_TYPE_F16 : GGML_TYPE_F32;
    writer.add_tensor(spec.name, spec.ne, type, encode(values, type));
    stats.n_params += element_count(spec);
    ++stats.n_tensors;
  }
  writer.write(options.out_path);
  stats.file_bytes = std::filesystem::file_size(options.out_path);
  return stats;
}

}  // namespace smmf::tools
