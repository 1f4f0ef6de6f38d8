#pragma once
/// Incremental detokenized text: UTF-8 safe emission and stop strings that span tokens.
/// Pure classes, no llama.cpp. Not thread-safe: one instance per generated choice, used by the
/// inference thread only. Output is always well-formed UTF-8.
#include <string>
#include <string_view>
#include <vector>

namespace smmf::engines::llama_cpp {

/// Turns arbitrary byte pieces into well-formed UTF-8: a sequence split across pieces is held
/// back until complete; bytes that can never form a valid sequence become U+FFFD.
class Utf8Assembler {
 public:
  /// Appends the complete characters now available to `out`.
  void push(std::string_view bytes, std::string& out);
  /// End of text: an incomplete trailing sequence is dropped.
  void finish() { tail_.clear(); }
  /// Bytes held back (an incomplete sequence, at most 3).
  std::string_view pending() const { return tail_; }

 private:
  std::string tail_;
};

/// Finds stop strings in a stream of text. Text that might be the start of a stop string is held
/// back; when a stop string completes, the text before it is emitted and the rest discarded.
class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops);

  /// Appends text safe to emit to `out`; returns true when a stop string completed (the stop
  /// string itself is never emitted; later calls emit nothing).
  bool push(std::string_view text, std::string& out);
  /// End of text without a stop: emits the held-back text.
  void finish(std::string& out);
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  bool stopped_ = false;
};

/// Utf8Assembler then StopMatcher: the per-choice text pipeline of a generation.
class TextStream {
 public:
  explicit TextStream(std::vector<std::string> stops = {}) : stops_(std::move(stops)) {}

  /// Feeds the bytes of one token; appends emit-ready text to `out`; true when a stop completed.
  bool push(std::string_view piece, std::string& out);
  /// End of generation (EOS, length): appends what was held back (complete characters only).
  void finish(std::string& out);
  bool stopped() const { return stops_.stopped(); }

 private:
  Utf8Assembler utf8_;
  StopMatcher stops_;
  std::string scratch_;
};

/// Length of the longest prefix of `s` that is well-formed UTF-8 up to an incomplete (but so far
/// valid) sequence at its end.
size_t utf8_complete_prefix(std::string_view s);

}  // namespace smmf::engines::llama_cpp
