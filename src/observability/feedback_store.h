#pragma once
/// User feedback on answers (POST /v1/feedback), stored durably in SQLite (WAL, synchronous
/// FULL: a stored record survives a crash) and joined to traces by trace id or response id.
/// Threading: thread-safe (one connection behind a mutex). Blocking (disk): call off the I/O
/// threads. Errors: InvalidArgument for bad feedback (with `param`), Internal for SQLite.
#include <boost/json/value.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"

struct sqlite3;

namespace smmf::observability {

struct Feedback {
  int64_t id = 0;
  int64_t created_us = 0;
  std::string response_id;
  std::string trace_id;
  std::optional<int> score;  ///< 1..5
  std::string thumb;         ///< "up" | "down" | ""
  std::vector<std::string> reasons;
  std::string comment;
};

/// Limits of one record (documented in docs/observability.md).
inline constexpr size_t kMaxFeedbackReasons = 20;
inline constexpr size_t kMaxFeedbackReasonChars = 200;
inline constexpr size_t kMaxFeedbackCommentChars = 4000;
inline constexpr size_t kMaxFeedbackIdChars = 128;

/// Validates a request body `{response_id | trace_id, score: 1-5 | "up" | "down", reasons,
/// comment}`.
Result<Feedback> parse_feedback(const boost::json::value& body);
boost::json::object feedback_json(const Feedback& f);

class FeedbackStore {
 public:
  /// Opens (creating) the database file and its table.
  static Result<std::unique_ptr<FeedbackStore>> open(const std::string& path);
  ~FeedbackStore();
  FeedbackStore(const FeedbackStore&) = delete;
  FeedbackStore& operator=(const FeedbackStore&) = delete;

  /// Stores `f` (id and created_us are set) and returns it.
  Result<Feedback> add(Feedback f);
  /// Records for a trace id or a response id (either may be empty), oldest first.
  Result<std::vector<Feedback>> find(const std::string& trace_id, const std::string& response_id);

 private:
  explicit FeedbackStore(sqlite3* db) : db_(db) {}
  std::mutex mu_;
  sqlite3* db_;
};

}  // namespace smmf::observability
