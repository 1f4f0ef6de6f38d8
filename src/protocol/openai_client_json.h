#pragma once
/// The client direction of the OpenAI protocol: native requests to JSON bodies for an
/// upstream, and upstream responses, stream chunks and error bodies back to native types.
/// Tolerant of what real servers add or omit (extra fields, missing usage, null content).
#include <boost/json/object.hpp>

#include <optional>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "protocol/openai_types.h"

namespace smmf::protocol {

/// `model` replaces the request's model (the upstream's id). `stream` asks for SSE and, when
/// set, for usage in the last chunk.
boost::json::object chat_request_json(const ChatRequest& r, std::string_view model, bool stream);
boost::json::object completion_request_json(const CompletionRequest& r, std::string_view model,
                                            bool stream);
boost::json::object embedding_request_json(const EmbeddingRequest& r, std::string_view model);

/// A chat or text completion response (`message.content` or `text`).
Result<GenerationResult> parse_generation_response(const boost::json::value& v);

/// One stream chunk: deltas per choice, and usage when the chunk carries it.
struct ChunkData {
  std::vector<Delta> deltas;
  std::optional<Usage> usage;
};
Result<ChunkData> parse_stream_chunk(const boost::json::value& v);

/// Embeddings response; decodes base64 vectors too.
Result<EmbeddingResult> parse_embedding_response(const boost::json::value& v);

std::optional<FinishReason> finish_reason_from_string(std::string_view s);

/// Turns an upstream's error answer into an Error that keeps its status and message.
/// 5xx and connection-level failures become kUnavailable (retryable elsewhere), 429
/// kResourceExhausted, 401 kUnauthenticated, 403 kPermissionDenied, 404 kNotFound, other 4xx
/// kInvalidArgument.
Error upstream_error(unsigned status, std::string_view body, std::string_view upstream);

}  // namespace smmf::protocol
