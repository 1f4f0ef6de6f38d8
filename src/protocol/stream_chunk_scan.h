#pragma once
/// A light reader of OpenAI stream chunks for relaying them as they are: one pass over the
/// bytes, no tree, no allocation beyond the deltas' text. It finds the chunk's top-level members
/// (to forward all but id/object/created/model/usage, which the relaying server writes itself)
/// and the native deltas it carries (for traces and metrics). Chunks it does not fully
/// understand, or that carry usage or an error, are flagged for the full parser
/// (parse_stream_chunk), which stays the reference for their meaning.
/// Pure, no I/O; the views point into the scanned data and live as long as it does.
#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/openai_types.h"

namespace smmf::protocol {

/// One scanned upstream chunk: the members to forward, as raw JSON text (`"key":value`).
struct StreamChunkView {
  static constexpr size_t kMaxKept = 8;
  std::array<std::string_view, kMaxKept> kept{};
  size_t n_kept = 0;
  size_t n_choices = 0;
  /// Carries usage (top-level, in a choice, or Groq's x_groq) or an error: the caller should
  /// read it with the full parser too (it can still be relayed with this view).
  bool needs_full_parse = false;
};

/// Scans `data` (one SSE event's data). Returns false when it is not a JSON object of the
/// expected shape or has too many members; `out` and `deltas` are then unspecified (the caller
/// falls back to the full parser). On success appends the chunk's deltas (choices with text or
/// a finish reason, as parse_stream_chunk would) to `deltas`.
bool scan_stream_chunk(std::string_view data, StreamChunkView& out, std::vector<Delta>& deltas);

/// Reads a non-streamed chat.completion or text_completion the same way, into what
/// parse_generation_response would make of it: choices (index, message.content or text, finish
/// reason) and usage. Returns false (`out` unspecified) for anything it does not fully
/// understand: not an object, no "choices", a number that is not an int, a non-string text, an
/// "error" or Groq's "x_groq"; the caller then uses the full parser.
bool scan_generation_response(std::string_view body, GenerationResult& out);

/// The head every relayed chunk starts with: `{"id":..,"object":..,"created":..,"model":..`.
std::string relayed_chunk_head(std::string_view id, std::string_view object, int64_t created,
                               std::string_view model);

/// Appends `chunk` as one SSE event: `head`, the kept members, `"usage":null` when
/// `usage_null`, then `}`.
void append_relayed_chunk(std::string& out, std::string_view head, const StreamChunkView& chunk,
                          bool usage_null);

}  // namespace smmf::protocol
