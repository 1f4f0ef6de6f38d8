#pragma once
/// JSON of POST /v1/rerank in the Cohere/Jina shape, both directions:
///   request  {model, query, documents: [string | {text}], top_n?, return_documents?}
///   response {id, model, results: [{index, relevance_score, document?: {text}}],
///             usage: {total_tokens, prompt_tokens}}
/// Pure functions, thread-safe, no I/O.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string_view>

#include "common/error.h"
#include "protocol/openai_json.h"
#include "protocol/openai_types.h"

namespace smmf::protocol {

/// Validates as Cohere does: model and a non-empty query are required, documents is a non-empty
/// array (at most limits.max_inputs) of non-empty strings or {text} objects, top_n >= 1.
Result<RerankRequest> parse_rerank_request(const boost::json::value& body,
                                           const ParseLimits& limits = {});

/// The answer to `req`: `scores` (one per document, any order) sorted by relevance_score
/// descending (ties by index), cut to top_n, with each document's text when return_documents.
boost::json::object rerank_response_json(std::string_view id, const RerankRequest& req,
                                         const RerankResult& scores);

/// Client direction (an upstream SMMF worker or a Jina/Cohere-compatible server): asks for every
/// document's score, without documents, so that the caller sorts and cuts.
boost::json::object rerank_request_json(const RerankRequest& req, std::string_view model);
/// Parses an upstream's answer into one score per document in document order; an answer that
/// misses a document or names one twice is kUnavailable.
Result<RerankResult> parse_rerank_response(const boost::json::value& v, size_t documents);

}  // namespace smmf::protocol
