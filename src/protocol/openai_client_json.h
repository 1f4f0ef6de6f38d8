#pragma once
/// The client direction of the OpenAI protocol: native requests to JSON bodies for an
/// upstream, and upstream responses, stream chunks and error bodies back to native types.
/// Tolerant of what real servers add or omit (extra fields, missing usage, null content).
#include <boost/json/object.hpp>

#include <initializer_list>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "protocol/openai_types.h"

namespace smmf::protocol {

/// What an upstream accepts beyond the OpenAI core (a provider preset's request quirks, as data).
struct UpstreamDialect {
  /// Request fields an upstream may reject or not know; omitted when set in `omit`.
  enum Field : uint32_t {
    kTopK = 1,
    kMinP = 2,
    kTypicalP = 4,
    kRepetitionPenalty = 8,
    kLogitBias = 16,
    kUser = 32,
    kSeed = 64,
    kPenalties = 128,  ///< presence_penalty and frequency_penalty
  };
  std::string_view max_tokens_field = "max_tokens";  ///< or "max_completion_tokens"
  std::string_view seed_field = "seed";              ///< Mistral: "random_seed"
  bool stream_usage = true;      ///< send stream_options.include_usage when streaming
  float temperature_max = 2.0f;  ///< higher temperatures are clamped to it (some accept 0..1)
  uint32_t omit = 0;             ///< Field bits
};

/// An upstream's number (token count, index) as an int: 0 when `v` is not a number, clamped to
/// int's range (a double such as 1e76 must not be cast: that is undefined behaviour).
int clamped_int(const boost::json::value& v);
/// The same for int64_t (span timestamps, counts read back from files): 0 when not a number, a
/// double clamped to int64_t's range before it is converted.
int64_t clamped_int64(const boost::json::value& v);
/// A sum of token counts, clamped to int's range (each may be INT_MAX already: an upstream's
/// counts are not trusted).
inline int clamped_sum(std::initializer_list<int> counts) {
  int64_t total = 0;
  for (int c : counts) total += c;
  if (total > std::numeric_limits<int>::max()) return std::numeric_limits<int>::max();
  if (total < std::numeric_limits<int>::min()) return std::numeric_limits<int>::min();
  return static_cast<int>(total);
}

/// `model` replaces the request's model (the upstream's id). `stream` asks for SSE and, when the
/// dialect allows, for usage in the last chunk.
/// The request body as JSON text, written directly (no tree: it is on every relayed call's path).
std::string chat_request_text(const ChatRequest& r, std::string_view model, bool stream,
                              const UpstreamDialect& dialect = {});
std::string completion_request_text(const CompletionRequest& r, std::string_view model, bool stream,
                                    const UpstreamDialect& dialect = {});
boost::json::object embedding_request_json(const EmbeddingRequest& r, std::string_view model);

/// A chat or text completion response (`message.content` or `text`).
Result<GenerationResult> parse_generation_response(const boost::json::value& v);

/// One stream chunk: deltas per choice, and usage when the chunk carries it (top-level `usage`,
/// a choice's `usage` as Moonshot sends it, or Groq's `x_groq.usage`).
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
/// kInvalidArgument. Understands OpenAI's `{"error":{"message"}}`, Anthropic's
/// `{"type":"error","error":{...}}`, Gemini's `{"error":{"code","message","status"}}`,
/// `{"error":"..."}`, `{"message"}`, `{"detail"}`, `{"code","msg"}` and non-JSON bodies.
Error upstream_error(unsigned status, std::string_view body, std::string_view upstream);

}  // namespace smmf::protocol
