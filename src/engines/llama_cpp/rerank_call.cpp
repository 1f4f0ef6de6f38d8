#include "engines/llama_cpp/rerank_call.h"

#include <fmt/format.h>

#include "engines/llama_cpp/pooled_call.h"

namespace smmf::engines::llama_cpp {
namespace {

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
}

}  // namespace

std::vector<llama_token> rerank_prompt(const Tokenizer& tok, std::string_view rerank_template,
                                       std::string_view query, std::string_view document) {
  if (!rerank_template.empty()) {
    std::string prompt(rerank_template);
    replace_all(prompt, "{query}", query);
    replace_all(prompt, "{document}", document);
    return tok.tokenize(prompt, false, true);
  }
  const llama_vocab* vocab = tok.vocab();
  llama_token eos = llama_vocab_eos(vocab);
  if (eos == LLAMA_TOKEN_NULL) eos = llama_vocab_sep(vocab);
  const bool add_eos = llama_vocab_get_add_eos(vocab) && eos != LLAMA_TOKEN_NULL;
  std::vector<llama_token> out;
  if (llama_vocab_get_add_bos(vocab)) out.push_back(llama_vocab_bos(vocab));
  auto q = tok.tokenize(query, false, false);
  out.insert(out.end(), q.begin(), q.end());
  if (add_eos) out.push_back(eos);
  if (llama_vocab_get_add_sep(vocab)) out.push_back(llama_vocab_sep(vocab));
  auto d = tok.tokenize(document, false, false);
  out.insert(out.end(), d.begin(), d.end());
  if (add_eos) out.push_back(eos);
  return out;
}

asio::awaitable<Result<protocol::RerankResult>> run_rerank(ModelRuntime& runtime,
                                                           const protocol::RerankRequest& req,
                                                           const CallContext& ctx) {
  EmbeddingLoop& loop = *runtime.embeddings();
  if (req.query.empty()) co_return Error::invalid("query must not be empty", "query");
  if (req.documents.empty()) co_return Error::invalid("documents must not be empty", "documents");
  protocol::RerankResult result;
  std::vector<std::vector<llama_token>> inputs;
  inputs.reserve(req.documents.size());
  const auto limit = static_cast<size_t>(loop.max_input_tokens());
  for (size_t i = 0; i < req.documents.size(); ++i) {
    if (req.documents[i].empty()) {
      co_return Error::invalid(fmt::format("documents[{}] is empty", i), "documents");
    }
    auto tokens =
        rerank_prompt(runtime.tokenizer(), runtime.rerank_template(), req.query, req.documents[i]);
    if (tokens.size() > limit) {
      co_return Error::invalid(
          fmt::format("the query with documents[{}] has {} tokens but the model's context per "
                      "input is {}",
                      i, tokens.size(), limit),
          "documents");
    }
    result.prompt_tokens += static_cast<int>(tokens.size());
    inputs.push_back(std::move(tokens));
  }
  auto pooled = co_await run_pooled(loop, std::move(inputs), 0, ctx);
  if (!pooled) co_return pooled.error();
  result.results.reserve(pooled->size());
  for (size_t i = 0; i < pooled->size(); ++i) {
    const auto& out = (*pooled)[i];
    if (out.empty()) co_return Error::internal("the model returned no rerank score");
    result.results.push_back({static_cast<int>(i), static_cast<double>(out.front())});
  }
  co_return result;
}

}  // namespace smmf::engines::llama_cpp
