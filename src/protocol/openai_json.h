#pragma once
/// JSON <-> native OpenAI types. Parsing validates as OpenAI does and names the offending
/// parameter in the error; serialization produces exactly the shapes the `openai` SDKs expect.
/// Pure functions, thread-safe, no I/O.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <span>
#include <string>
#include <string_view>

#include "common/error.h"
#include "protocol/openai_types.h"

namespace smmf::protocol {

/// Limits applied while parsing (documented in docs/configuration.md).
struct ParseLimits {
  int max_n = 16;            ///< most choices per request
  int max_stop = 4;          ///< most stop strings (OpenAI's limit)
  size_t max_inputs = 2048;  ///< most embedding inputs or prompts per request
};

/// Parses a body into JSON; malformed JSON is InvalidArgument.
/// `sp` is where the value's memory comes from: a per-request monotonic_resource turns the
/// dozens of allocations of a parse into one or two (the value must not outlive it).
Result<boost::json::value> parse_json(std::string_view body, boost::json::storage_ptr sp = {});

Result<ChatRequest> parse_chat_request(const boost::json::value& body, const ParseLimits& = {});
/// The common chat request read straight from its text, without a JSON tree: what
/// parse_chat_request(parse_json(body)) gives, for the bodies it fully understands (model,
/// messages with string content, stream, stream_options, max_tokens, max_completion_tokens,
/// temperature, top_p, n, user, stop; no nulls, no \u escapes outside the strings it reads,
/// numbers short enough to convert exactly). Returns false (`out` unspecified) for anything
/// else, valid or not: the caller then uses the full parser, which stays the reference for
/// every error. Checked against it by a unit test and a fuzz target.
bool scan_chat_request(std::string_view body, const ParseLimits& limits, ChatRequest& out);
Result<CompletionRequest> parse_completion_request(const boost::json::value& body,
                                                   const ParseLimits& = {});
Result<EmbeddingRequest> parse_embedding_request(const boost::json::value& body,
                                                 const ParseLimits& = {});

/// Identity of one response: shared by every chunk of a stream.
struct ResponseMeta {
  std::string id;
  int64_t created = 0;
  std::string model;
};

boost::json::object usage_json(const Usage& u, boost::json::storage_ptr sp = {});
/// A non-streamed chat.completion, as JSON text (written directly: the hot path of every
/// non-streaming call).
std::string chat_response_text(const ResponseMeta& m, const GenerationResult& r);
/// One streamed chat chunk. `first` adds role "assistant" to the delta.
boost::json::object chat_chunk_json(const ResponseMeta& m, const Delta& d, bool first,
                                    bool include_usage);
/// A non-streamed text_completion, as JSON text.
std::string completion_response_text(const ResponseMeta& m, const GenerationResult& r);
boost::json::object completion_chunk_json(const ResponseMeta& m, const Delta& d,
                                          bool include_usage);
/// The final chunk of a stream that asked for usage: empty choices, usage set.
boost::json::object usage_chunk_json(const ResponseMeta& m, std::string_view object,
                                     const Usage& u);
boost::json::object embedding_response_json(const std::string& model, const EmbeddingResult& r,
                                            EncodingFormat format);
boost::json::object models_json(std::span<const ModelCard> models);
boost::json::object model_json(const ModelCard& card);

/// {"error":{"message","type","param","code"}}; empty param/code serialize as null.
boost::json::object error_json(std::string_view message, std::string_view type,
                               std::string_view param, std::string_view code);

/// Standard base64 of the little-endian bytes of the floats (OpenAI's encoding_format=base64).
std::string floats_to_base64(std::span<const float> v);

}  // namespace smmf::protocol
