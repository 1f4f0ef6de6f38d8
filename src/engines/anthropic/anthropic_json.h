#pragma once
/// Anthropic Messages API <-> SMMF's native types (pure, no I/O; a stream decoder belongs to one
/// stream). Requests: system and developer messages become `system`, consecutive messages of one
/// role are merged (the API wants user/assistant turns), stop -> stop_sequences, max_tokens
/// (required by the API; the engine's default when the client sets none), temperature, top_p,
/// top_k, user -> metadata.user_id. OpenAI-only knobs (penalties, seed, logit_bias) are dropped.
/// Responses: text blocks joined; stop_reason end_turn / stop_sequence / tool_use -> stop,
/// max_tokens -> length; usage input_tokens (+ cache reads and writes) / output_tokens.
#include <boost/json/object.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "protocol/openai_types.h"

namespace smmf::engines::anthropic {

/// The /v1/messages body. Errors (InvalidArgument / Unsupported) name the request param.
Result<boost::json::object> messages_request(const protocol::ChatRequest& r, std::string_view model,
                                             int default_max_tokens, bool stream);

Result<protocol::GenerationResult> parse_messages_response(const boost::json::value& v);

/// The HTTP status Anthropic uses for an error `type` (in a mid-stream `event: error`).
unsigned status_of_error_type(std::string_view type);

/// Decodes the event stream: message_start (input usage), content_block_start / _delta / _stop
/// (text_delta pieces), message_delta (stop_reason, output usage), message_stop (the end), ping,
/// and error (mapped to an Error keeping Anthropic's status and message).
class StreamDecoder {
 public:
  explicit StreamDecoder(std::string upstream) : upstream_(std::move(upstream)) {}
  /// One SSE event; appends deltas; true once message_stop arrived.
  Result<bool> on_event(std::string_view event, std::string_view data,
                        std::vector<protocol::Delta>& out);
  const protocol::Usage& usage() const { return usage_; }

 private:
  std::string upstream_;
  protocol::Usage usage_;
  bool finished_ = false;
};

}  // namespace smmf::engines::anthropic
