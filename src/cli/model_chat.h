#pragma once
/// `smmf model chat`: an interactive streaming chat REPL against an OpenAI-compatible API, for
/// trying and debugging a model. Reads lines from an istream (a TTY or a pipe), keeps the
/// conversation, streams each reply (POST /v1/chat/completions, stream + include_usage) and
/// prints it token by token, then a footer with tokens, latency and speed.
///
/// Threading: runs on the calling thread (its own single-threaded io_context).
/// Errors: server and connection errors are printed as "error: <message>" and the REPL goes on;
/// the failed turn is dropped from the conversation.
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "protocol/openai_types.h"

namespace smmf::cli {

struct ChatOptions {
  std::string model;
  std::string api;      ///< base URL of the API; empty = $SMMF_API, else http://127.0.0.1:8000
  std::string api_key;  ///< empty = $SMMF_API_KEY, else none
  std::string system;
  std::optional<int> max_tokens;
  std::optional<float> temperature;
};

/// The API URL: the flag, else $SMMF_API, else the default.
std::string api_url(const std::string& flag);

/// The conversation and the REPL's commands, without I/O.
class Conversation {
 public:
  explicit Conversation(std::string system = {}) : system_(std::move(system)) {}
  /// The messages of the next request: the system prompt (when set), the turns, then `user`.
  std::vector<protocol::ChatMessage> with(const std::string& user) const;
  void add_turn(std::string user, std::string assistant);
  void clear() { turns_.clear(); }
  void set_system(std::string system) { system_ = std::move(system); }
  const std::string& system() const { return system_; }
  size_t turns() const { return turns_.size(); }

 private:
  std::string system_;
  std::vector<std::pair<std::string, std::string>> turns_;
};

/// What one streamed reply produced.
struct ReplyStats {
  std::string text;
  int completion_tokens = 0;  ///< from usage; the number of text deltas when usage is missing
  bool usage_reported = false;
  std::optional<protocol::FinishReason> finish;
  double seconds = 0;  ///< request sent -> stream done
};

/// "[16 tokens, 0.21 s, 76 tok/s]" (plus ", finish: length" when the reply was cut off).
std::string format_footer(const ReplyStats& s);

/// Runs the REPL until /exit or end of input. Returns the exit code (0; 2 for a bad --api URL).
int run_chat(const ChatOptions& opts, std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace smmf::cli
