#pragma once
/// Native types of the OpenAI-compatible API. Parsed and validated at the edge (openai_json.h);
/// everything behind the gateway (engines, workers) works on these types, never on JSON.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace smmf::protocol {

enum class ModelType { kLlm, kEmbedding, kReranker };
std::string_view to_string(ModelType t);
std::optional<ModelType> model_type_from_string(std::string_view s);

struct ChatMessage {
  std::string role;  ///< system | user | assistant | tool | developer
  std::string content;
  std::string name;  ///< optional participant name

  bool operator==(const ChatMessage&) const = default;
};

/// Sampling knobs; unset optionals take the engine's defaults.
struct SamplingParams {
  std::optional<float> temperature;  ///< 0 means greedy
  std::optional<float> top_p;
  std::optional<int> top_k;
  std::optional<float> min_p;
  std::optional<float> typical_p;
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  float repetition_penalty = 1.0f;
  std::optional<uint32_t> seed;
  std::vector<std::pair<int32_t, float>> logit_bias;  ///< token id -> bias

  bool operator==(const SamplingParams&) const = default;
};

/// OpenAI's response_format. For kJsonSchema, `schema` is the JSON Schema as JSON text (kept
/// as text: engines compile it to their own constraint, e.g. a llama.cpp grammar).
struct ResponseFormat {
  enum class Type { kText, kJsonObject, kJsonSchema };
  Type type = Type::kText;
  std::string name;    ///< json_schema.name
  std::string schema;  ///< json_schema.schema, serialized; empty for kText / kJsonObject
  bool strict = false;

  bool operator==(const ResponseFormat&) const = default;
};

/// What every generating request shares.
struct GenerationParams {
  std::optional<int> max_tokens;  ///< max_tokens or max_completion_tokens
  std::vector<std::string> stop;  ///< up to 4 stop strings
  SamplingParams sampling;
  int n = 1;  ///< number of choices
  bool stream = false;
  bool include_usage = false;  ///< stream_options.include_usage
  std::string user;
  ResponseFormat response_format;
  std::string grammar;  ///< raw GBNF (llama-server's extension); exclusive with a JSON format
  int priority = 0;     ///< queue order when the model is busy: higher first, FIFO within one

  bool operator==(const GenerationParams&) const = default;
};

struct ChatRequest {
  std::string model;
  std::vector<ChatMessage> messages;
  GenerationParams gen;

  bool operator==(const ChatRequest&) const = default;
};

struct CompletionRequest {
  std::string model;
  std::vector<std::string> prompts;  ///< "prompt" as a string or an array of strings
  bool echo = false;
  GenerationParams gen;
};

enum class EncodingFormat { kFloat, kBase64 };

struct EmbeddingRequest {
  std::string model;
  std::vector<std::string> inputs;
  EncodingFormat encoding_format = EncodingFormat::kFloat;
  std::optional<int> dimensions;
  std::string user;
  int priority = 0;  ///< queue order when the model is busy: higher first, FIFO within one
};

enum class FinishReason { kStop, kLength };
std::string_view to_string(FinishReason r);

struct Usage {
  int prompt_tokens = 0;
  int completion_tokens = 0;
  int cached_tokens = 0;  ///< prompt tokens served from the prefix cache
  int total() const { return prompt_tokens + completion_tokens; }
};

/// A piece of a streamed generation. `index` is the choice; `finish_reason` is set on a choice's
/// last delta (whose text may be empty).
struct Delta {
  int index = 0;
  std::string text;
  std::optional<FinishReason> finish_reason;
};

struct Choice {
  int index = 0;
  std::string text;
  FinishReason finish_reason = FinishReason::kStop;
};

/// Where an in-process engine spent a call's time (all zero when not reported, e.g. by HTTP
/// engines, whose far side traces itself).
struct EngineTimings {
  int64_t queue_us = 0;   ///< submitted -> first sequence admitted to a slot
  int64_t prompt_us = 0;  ///< admitted -> first token sampled (prompt processing)
  int64_t decode_us = 0;  ///< first token -> last token
  bool reported() const { return queue_us > 0 || prompt_us > 0 || decode_us > 0; }
};

/// The outcome of a chat or completion call (non-streamed text, or only usage when streamed).
struct GenerationResult {
  std::vector<Choice> choices;
  Usage usage;
  EngineTimings timings;
};

/// POST /v1/rerank (the Cohere/Jina shape): score `documents` against `query`.
struct RerankRequest {
  std::string model;
  std::string query;
  std::vector<std::string> documents;
  std::optional<int> top_n;      ///< keep the best n (default: all)
  bool return_documents = true;  ///< echo each document's text in the result
};

struct RerankScore {
  int index = 0;  ///< position in the request's documents
  double relevance_score = 0.0;
};

/// Engines return one score per document in input order; the gateway sorts and cuts to top_n.
struct RerankResult {
  std::vector<RerankScore> results;
  int prompt_tokens = 0;
};

struct EmbeddingResult {
  std::vector<std::vector<float>> embeddings;  ///< one per input, in input order
  int prompt_tokens = 0;
};

/// One entry of GET /v1/models.
struct ModelCard {
  std::string id;
  ModelType type = ModelType::kLlm;
  std::string owned_by = "smmf";
  int64_t created = 0;
  int context_length = 0;
};

}  // namespace smmf::protocol
