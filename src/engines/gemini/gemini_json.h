#pragma once
/// Google Gemini API (generativelanguage.googleapis.com) <-> SMMF's native types; pure, no I/O.
/// Requests: system and developer messages -> systemInstruction, user -> "user", assistant ->
/// "model", consecutive messages of one role merged into one content of several parts;
/// generationConfig gets stopSequences, maxOutputTokens, temperature, topP, topK,
/// candidateCount (n), seed, presencePenalty, frequencyPenalty. Responses and stream chunks
/// (each a GenerateContentResponse): candidates' text parts, finishReason STOP -> stop,
/// MAX_TOKENS -> length (SAFETY, RECITATION, ... -> stop), usageMetadata -> usage. A prompt
/// blocked by promptFeedback.blockReason is an InvalidArgument error.
#include <boost/json/object.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "protocol/openai_client_json.h"
#include "protocol/openai_types.h"

namespace smmf::engines::gemini {

/// "gemini-2.0-flash" -> "models/gemini-2.0-flash"; names with a collection prefix are kept.
std::string model_path(std::string_view model);

Result<boost::json::object> generate_request(const protocol::ChatRequest& r);

/// A whole response, or one stream chunk (`stream` = true: deltas of text, not whole texts).
struct Decoded {
  std::vector<protocol::Delta> deltas;  ///< text and finish reason per candidate index
  std::optional<protocol::Usage> usage;
};
Result<Decoded> decode_response(const boost::json::value& v);

/// :batchEmbedContents for `model_path`.
boost::json::object embed_request(const protocol::EmbeddingRequest& r, std::string_view model_path);
Result<protocol::EmbeddingResult> parse_embed_response(const boost::json::value& v,
                                                       size_t expected);

}  // namespace smmf::engines::gemini
