// make_tiny_model: writes deterministic random-weight GGUF models for tests and benchmarks.
//   make_tiny_model --arch llama --out tiny-chat.gguf
//   make_tiny_model --arch bert --out tiny-embed.gguf
//   make_tiny_model --arch chatglm --type f16 --n-embd 32 --chat-template chatglm3 --out glm.gguf
// Architectures: llama, bert, baichuan, internlm2, qwen, qwen2, falcon, chatglm (arch.cpp).
// A composition root: parses flags, resolves defaults from the arch table, calls write_model().
#include <llama.h>
#include <CLI/CLI.hpp>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "arch.h"
#include "model_writer.h"
#include "vocab.h"

#ifndef SMMF_LLAMA_VOCAB_DIR
#define SMMF_LLAMA_VOCAB_DIR ""
#endif

namespace smmf::tools {
namespace {

struct CliOptions {
  std::string arch;
  std::string out;
  std::string vocab;
  uint64_t seed = 42;
  HParams hparams;  ///< 0 = the arch's default
  std::string type = "f32";
  std::string chat_template;
  std::string chat_template_file;
  std::string name;
  std::string pooling;
  bool tie_embeddings = false;
};

constexpr std::array kPoolings = {Pooling::kMean, Pooling::kCls, Pooling::kLast, Pooling::kRank};

// The vocab directory: $SMMF_VOCAB_DIR, else the llama.cpp install this tool was built against.
std::filesystem::path vocab_dir() {
  if (const char* env = std::getenv("SMMF_VOCAB_DIR"); env && *env) return env;
  return SMMF_LLAMA_VOCAB_DIR;
}

// Accepts a path, a file name in the vocab directory, or a short name ("qwen2").
std::string resolve_vocab(const std::string& arg, std::string_view arch_default) {
  namespace fs = std::filesystem;
  if (arg.empty()) return (vocab_dir() / arch_default).string();
  if (fs::exists(arg)) return arg;
  for (const fs::path& candidate :
       {vocab_dir() / arg, vocab_dir() / ("ggml-vocab-" + arg + ".gguf")}) {
    if (fs::exists(candidate)) return candidate.string();
  }
  throw std::runtime_error("vocab not found: " + arg + " (looked in " + vocab_dir().string() + ")");
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// llama.cpp logs every vocab load at length; keep only its warnings and errors.
void quiet_llama_log(ggml_log_level level, const char* text, void* /*user_data*/) {
  if (level == GGML_LOG_LEVEL_WARN || level == GGML_LOG_LEVEL_ERROR) std::cerr << text;
}

uint32_t or_default(uint32_t value, uint32_t fallback) {
  return value != 0 ? value : fallback;
}

int run(const CliOptions& cli) {
  const ArchSpec* arch = find_arch(cli.arch);
  if (arch == nullptr) throw std::runtime_error("unknown --arch " + cli.arch);

  llama_log_set(quiet_llama_log, nullptr);
  const Vocab vocab = Vocab::load(resolve_vocab(cli.vocab, arch->default_vocab));

  ModelConfig config;
  config.arch = std::string(arch->name);
  const HParams& d = arch->defaults;
  HParams& hp = config.hparams;
  hp.n_embd = or_default(cli.hparams.n_embd, d.n_embd);
  hp.n_layer = or_default(cli.hparams.n_layer, d.n_layer);
  hp.n_head = or_default(cli.hparams.n_head, d.n_head);
  // Without --n-head-kv: the arch default if --n-head is default too, else plain multi-head.
  hp.n_head_kv =
      or_default(cli.hparams.n_head_kv, cli.hparams.n_head != 0 ? hp.n_head : d.n_head_kv);
  hp.n_ff = or_default(cli.hparams.n_ff, d.n_ff);
  hp.n_ctx = or_default(cli.hparams.n_ctx, d.n_ctx);
  config.n_vocab = vocab.n_tokens();
  config.n_token_types = vocab.n_token_types() != 0 ? vocab.n_token_types() : 2;
  config.pooling = arch->default_pooling;
  if (!cli.pooling.empty()) {
    if (arch->default_pooling == Pooling::kNone) {
      throw std::runtime_error("--pooling does not apply to --arch " + cli.arch);
    }
    for (const Pooling p : kPoolings) {
      if (to_string(p) == cli.pooling) config.pooling = p;
    }
  }

  if (cli.tie_embeddings && !arch->tieable) {
    throw std::runtime_error("--tie-embeddings does not apply to --arch " + cli.arch);
  }
  config.tie_embeddings = cli.tie_embeddings;

  WriteOptions options;
  options.out_path = cli.out;
  options.seed = cli.seed;
  options.type = cli.type == "f16" ? GGML_TYPE_F16 : GGML_TYPE_F32;
  options.name = cli.name.empty() ? "tiny-" + cli.arch : cli.name;
  if (!cli.chat_template_file.empty()) {
    options.chat_template = read_file(cli.chat_template_file);
  } else if (!cli.chat_template.empty()) {
    options.chat_template = cli.chat_template;
  }

  const WriteStats stats = write_model(*arch, config, vocab, options);
  std::cout << cli.out << ": " << arch->name << ", " << stats.n_params << " parameters, "
            << stats.n_tensors << " tensors, " << stats.file_bytes << " bytes\n"
            << "  n_embd " << hp.n_embd << ", n_layer " << hp.n_layer << ", n_head " << hp.n_head
            << ", n_head_kv " << hp.n_head_kv << ", n_ff " << hp.n_ff << ", n_ctx " << hp.n_ctx
            << ", type " << cli.type << ", seed " << cli.seed
            << (config.pooling != Pooling::kNone ? ", pooling " : "")
            << (config.pooling != Pooling::kNone ? to_string(config.pooling) : "") << "\n"
            << "  vocab " << vocab.path() << " (" << vocab.tokenizer_model() << ", "
            << vocab.n_tokens() << " tokens, " << stats.n_zeroed_rows << " output rows zeroed)\n";
  return 0;
}

}  // namespace
}  // namespace smmf::tools

int main(int argc, char** argv) {
  using smmf::tools::CliOptions;
  CliOptions cli;
  CLI::App app{
      "Writes a deterministic random-weight GGUF model (same seed and options, same bytes)."};
  std::string arch_names;
  for (const auto& spec : smmf::tools::arch_table()) {
    arch_names += (arch_names.empty() ? "" : "|") + std::string(spec.name);
  }
  app.add_option("--arch", cli.arch, arch_names)->required();
  app.add_option("--out", cli.out, "output .gguf file")->required();
  app.add_option("--vocab", cli.vocab,
                 "vocab-only GGUF whose tokenizer is copied: a path, a file in the vocab "
                 "directory, or a short name like qwen2 (default: per arch)");
  app.add_option("--seed", cli.seed, "random seed")->capture_default_str();
  app.add_option("--n-embd", cli.hparams.n_embd, "embedding width (default: per arch)");
  app.add_option("--n-layer", cli.hparams.n_layer, "number of blocks (default: per arch)");
  app.add_option("--n-head", cli.hparams.n_head, "attention heads (default: per arch)");
  app.add_option("--n-head-kv", cli.hparams.n_head_kv,
                 "key/value heads (default: per arch, or --n-head if that is given)");
  app.add_option("--n-ff", cli.hparams.n_ff, "feed-forward width (default: per arch)");
  app.add_option("--n-ctx", cli.hparams.n_ctx, "training context length (default: per arch)");
  app.add_option("--type", cli.type, "weight type of matrices")
      ->check(CLI::IsMember({"f32", "f16"}))
      ->capture_default_str();
  auto* tmpl = app.add_option(
      "--chat-template", cli.chat_template,
      "chat template: Jinja, or a name llama.cpp or SMMF knows (default: per arch, else "
      "the vocab's)");
  app.add_option("--chat-template-file", cli.chat_template_file, "read the chat template from FILE")
      ->check(CLI::ExistingFile)
      ->excludes(tmpl);
  app.add_option("--name", cli.name, "general.name (default: tiny-<arch>)");
  app.add_option("--pooling", cli.pooling, "embedding pooling (bert; default mean)")
      ->check(CLI::IsMember({"mean", "cls", "last", "rank"}));
  app.add_flag("--tie-embeddings", cli.tie_embeddings,
               "llama, qwen2, falcon, chatglm: use token_embd as the output projection (half the "
               "parameters, but greedy "
               "output repeats tokens far more)");
  CLI11_PARSE(app, argc, argv);

  try {
    return smmf::tools::run(cli);
  } catch (const std::exception& e) {
    std::cerr << "make_tiny_model: " << e.what() << "\n";
    return 1;
  }
}
