#pragma once
/// The native Text Generation Inference API, pure JSON <-> native:
///   POST /generate         {inputs, parameters} -> {generated_text, details:{finish_reason,
///                          generated_tokens, seed, prefill, tokens}}
///   POST /generate_stream  same body -> SSE events {index, token:{id, text, logprob, special},
///                          generated_text (last event only), details (last event only:
///                          finish_reason, generated_tokens, seed, input_length)}
/// Finish reasons: "length" -> length; "eos_token" and "stop_sequence" -> stop.
/// TGI keeps a matched stop sequence at the end of the text; OpenAI does not, so StopTrimmer
/// holds back what could be the start of one and drops it when the generation stops on it.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "protocol/openai_types.h"

namespace smmf::engines::tgi {

/// Body of /generate(_stream). `default_max_new_tokens` (> 0) applies when the request sets
/// no max_tokens. OpenAI temperature 0 (greedy) becomes do_sample=false; TGI's strict ranges
/// (temperature > 0, 0 < top_p < 1, top_k > 0) are respected by leaving neutral values out.
boost::json::object generate_body(const std::string& prompt, const protocol::GenerationParams& g,
                                  int default_max_new_tokens);

std::optional<protocol::FinishReason> finish_from_tgi(std::string_view s);

/// One /generate answer or the last stream event's details.
struct TgiOutput {
  std::string text;
  std::optional<protocol::FinishReason> finish;
  bool stopped_on_sequence = false;
  int generated_tokens = 0;
  int prompt_tokens = 0;  ///< from details.prefill or input_length when present
};
Result<TgiOutput> parse_generate_response(const boost::json::value& v);

/// One /generate_stream event: a token, and on the last one the details.
struct TgiStreamEvent {
  std::string text;  ///< the token's text; empty for special tokens (e.g. </s>)
  bool last = false;
  TgiOutput details;  ///< set when `last`
};
/// Errors in the stream ({"error": ...}) become an Error keeping the message.
Result<TgiStreamEvent> parse_stream_event(const boost::json::value& v, std::string_view upstream);

/// Holds back streamed text that may begin a stop sequence (UTF-8 safe).
class StopTrimmer {
 public:
  explicit StopTrimmer(std::vector<std::string> stops);
  /// Adds text; returns what can be sent now.
  std::string push(std::string_view text);
  /// The end: returns the rest, without a trailing stop sequence when `stopped_on_sequence`.
  std::string finish(bool stopped_on_sequence);

 private:
  std::vector<std::string> stops_;
  size_t hold_ = 0;
  std::string pending_;
};

/// Removes one trailing stop sequence of `stops` from `text` (non-streamed answers).
void trim_stop(std::string& text, const std::vector<std::string>& stops);

}  // namespace smmf::engines::tgi
