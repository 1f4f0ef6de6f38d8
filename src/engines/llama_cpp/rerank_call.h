#pragma once
/// Reranking on a model loaded with rank pooling (type "reranker"): each (query, document) pair
/// becomes one sequence, formatted as llama-server formats it, and every pair of a call goes
/// through the embedding loop together (several pairs per decode). The score of a pair is the
/// first output of the model's classification head (raw, as llama-server reports it: a logit
/// for single-label rerankers; higher is more relevant).
/// Threading: rerank_prompt() is pure and thread-safe; run_rerank() is a coroutine on the
/// caller's executor.
#include <llama.h>

#include <string>
#include <string_view>
#include <vector>

#include "engines/engine.h"
#include "engines/llama_cpp/model_runtime.h"

namespace smmf::engines::llama_cpp {

/// With the model's "rerank" template: the template with {query} and {document} replaced,
/// tokenized with special tokens parsed. Without: [BOS] query [EOS] [SEP] document [EOS], each
/// special token only where the vocabulary adds it (EOS falls back to SEP).
std::vector<llama_token> rerank_prompt(const Tokenizer& tok, std::string_view rerank_template,
                                       std::string_view query, std::string_view document);

/// One score per document, in document order. Errors: kInvalidArgument for an empty query or
/// document (param "query" / "documents") or a pair longer than the model's input limit
/// (param "documents"); the loop's errors.
asio::awaitable<Result<protocol::RerankResult>> run_rerank(ModelRuntime& runtime,
                                                           const protocol::RerankRequest& req,
                                                           const CallContext& ctx);

}  // namespace smmf::engines::llama_cpp
