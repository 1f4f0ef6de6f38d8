#include "observability/feedback_store.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fmt/format.h>
#include <sqlite3.h>

#include "observability/span.h"

namespace smmf::observability {
namespace json = boost::json;

Result<Feedback> parse_feedback(const json::value& body) {
  const json::object* o = body.if_object();
  if (!o) return Error::invalid("the body must be a JSON object");
  for (const auto& [k, v] : *o) {
    (void)v;
    if (k != "response_id" && k != "trace_id" && k != "score" && k != "reasons" && k != "comment")
      return Error::invalid(fmt::format("unknown field '{}'", std::string_view(k)), std::string(k));
  }
  Feedback f;
  for (auto key : {"response_id", "trace_id"}) {
    auto* v = o->if_contains(key);
    if (!v || v->is_null()) continue;
    if (!v->is_string() || v->get_string().empty() || v->get_string().size() > kMaxFeedbackIdChars)
      return Error::invalid(fmt::format("'{}' must be a non-empty string of at most {} characters",
                                        key, kMaxFeedbackIdChars),
                            key);
    (std::string_view(key) == "trace_id" ? f.trace_id : f.response_id) = v->get_string();
  }
  if (f.response_id.empty() && f.trace_id.empty())
    return Error::invalid("one of 'response_id' or 'trace_id' is required", "response_id");
  if (!f.trace_id.empty()) {
    bool hex = f.trace_id.size() == 32;
    for (char c : f.trace_id) hex = hex && std::isxdigit(static_cast<unsigned char>(c));
    if (!hex) return Error::invalid("'trace_id' must be 32 hexadecimal digits", "trace_id");
  }
  const json::value* score = o->if_contains("score");
  if (!score) return Error::invalid("'score' is required: 1 to 5, \"up\" or \"down\"", "score");
  if (score->is_string() && (score->get_string() == "up" || score->get_string() == "down")) {
    f.thumb = score->get_string();
  } else if (score->is_int64() && score->get_int64() >= 1 && score->get_int64() <= 5) {
    f.score = static_cast<int>(score->get_int64());
  } else if (score->is_uint64() && score->get_uint64() >= 1 && score->get_uint64() <= 5) {
    f.score = static_cast<int>(score->get_uint64());
  } else {
    return Error::invalid("'score' must be an integer from 1 to 5, \"up\" or \"down\"", "score");
  }
  if (auto* r = o->if_contains("reasons"); r && !r->is_null()) {
    if (!r->is_array() || r->get_array().size() > kMaxFeedbackReasons)
      return Error::invalid(
          fmt::format("'reasons' must be an array of at most {} strings", kMaxFeedbackReasons),
          "reasons");
    size_t i = 0;
    for (const auto& e : r->get_array()) {
      if (!e.is_string() || e.get_string().size() > kMaxFeedbackReasonChars)
        return Error::invalid(fmt::format("'reasons[{}]' must be a string of at most {} "
                                          "characters",
                                          i, kMaxFeedbackReasonChars),
                              fmt::format("reasons[{}]", i));
      f.reasons.emplace_back(e.get_string());
      ++i;
    }
  }
  if (auto* c = o->if_contains("comment"); c && !c->is_null()) {
    if (!c->is_string() || c->get_string().size() > kMaxFeedbackCommentChars)
      return Error::invalid(fmt::format("'comment' must be a string of at most {} characters",
                                        kMaxFeedbackCommentChars),
                            "comment");
    f.comment = c->get_string();
  }
  return f;
}

json::object feedback_json(const Feedback& f) {
  json::object o;
  o["id"] = f.id;
  o["object"] = "feedback";
  o["created_us"] = f.created_us;
  o["response_id"] = f.response_id.empty() ? json::value(nullptr) : json::value(f.response_id);
  o["trace_id"] = f.trace_id.empty() ? json::value(nullptr) : json::value(f.trace_id);
  if (f.score)
    o["score"] = *f.score;
  else
    o["score"] = f.thumb;
  json::array reasons;
  for (const auto& r : f.reasons) reasons.emplace_back(r);
  o["reasons"] = std::move(reasons);
  o["comment"] = f.comment;
  return o;
}

namespace {

Error sql_error(sqlite3* db, std::string_view what) {
  return Error::internal(fmt::format("feedback database: {}: {}", what, sqlite3_errmsg(db)));
}

/// A prepared statement finalized on scope exit.
struct Stmt {
  sqlite3_stmt* s = nullptr;
  ~Stmt() { sqlite3_finalize(s); }
};

void bind_text(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

std::string column_text(sqlite3_stmt* s, int i) {
  auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s, i))) : std::string();
}

}  // namespace

Result<std::unique_ptr<FeedbackStore>> FeedbackStore::open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Error::invalid(
        fmt::format("observability.feedback_db '{}' cannot be opened: {}", path, msg),
        "observability.feedback_db");
  }
  std::unique_ptr<FeedbackStore> store(new FeedbackStore(db));
  const char* schema =
      "PRAGMA journal_mode=WAL;"
      "PRAGMA synchronous=FULL;"
      "PRAGMA busy_timeout=5000;"
      "CREATE TABLE IF NOT EXISTS feedback ("
      " id INTEGER PRIMARY KEY AUTOINCREMENT,"
      " created_us INTEGER NOT NULL,"
      " response_id TEXT NOT NULL DEFAULT '',"
      " trace_id TEXT NOT NULL DEFAULT '',"
      " score INTEGER,"
      " thumb TEXT NOT NULL DEFAULT '',"
      " reasons TEXT NOT NULL DEFAULT '[]',"
      " comment TEXT NOT NULL DEFAULT '');"
      "CREATE INDEX IF NOT EXISTS feedback_trace ON feedback(trace_id);"
      "CREATE INDEX IF NOT EXISTS feedback_response ON feedback(response_id);";
  char* err = nullptr;
  if (sqlite3_exec(db, schema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return Error::invalid(
        fmt::format("observability.feedback_db '{}': cannot create the table: {}", path, msg),
        "observability.feedback_db");
  }
  return store;
}

FeedbackStore::~FeedbackStore() {
  sqlite3_close(db_);
}

Result<Feedback> FeedbackStore::add(Feedback f) {
  std::lock_guard lock(mu_);
  Stmt st;
  if (sqlite3_prepare_v2(db_,
                         "INSERT INTO feedback (created_us, response_id, trace_id, score, thumb, "
                         "reasons, comment) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         -1, &st.s, nullptr) != SQLITE_OK)
    return sql_error(db_, "prepare");
  f.created_us = unix_micros();
  json::array reasons;
  for (const auto& r : f.reasons) reasons.emplace_back(r);
  sqlite3_bind_int64(st.s, 1, f.created_us);
  bind_text(st.s, 2, f.response_id);
  bind_text(st.s, 3, f.trace_id);
  if (f.score)
    sqlite3_bind_int(st.s, 4, *f.score);
  else
    sqlite3_bind_null(st.s, 4);
  bind_text(st.s, 5, f.thumb);
  bind_text(st.s, 6, json::serialize(reasons));
  bind_text(st.s, 7, f.comment);
  if (sqlite3_step(st.s) != SQLITE_DONE) return sql_error(db_, "insert");
  f.id = sqlite3_last_insert_rowid(db_);
  return f;
}

Result<std::vector<Feedback>> FeedbackStore::find(const std::string& trace_id,
                                                  const std::string& response_id) {
  std::lock_guard lock(mu_);
  Stmt st;
  if (sqlite3_prepare_v2(db_,
                         "SELECT id, created_us, response_id, trace_id, score, thumb, reasons, "
                         "comment FROM feedback WHERE (trace_id <> '' AND trace_id = ?) OR "
                         "(response_id <> '' AND response_id = ?) ORDER BY id",
                         -1, &st.s, nullptr) != SQLITE_OK)
    return sql_error(db_, "prepare");
  bind_text(st.s, 1, trace_id);
  bind_text(st.s, 2, response_id);
  std::vector<Feedback> out;
  int rc;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
    Feedback f;
    f.id = sqlite3_column_int64(st.s, 0);
    f.created_us = sqlite3_column_int64(st.s, 1);
    f.response_id = column_text(st.s, 2);
    f.trace_id = column_text(st.s, 3);
    if (sqlite3_column_type(st.s, 4) != SQLITE_NULL) f.score = sqlite3_column_int(st.s, 4);
    f.thumb = column_text(st.s, 5);
    boost::system::error_code ec;
    auto reasons = json::parse(column_text(st.s, 6), ec);
    if (!ec && reasons.is_array())
      for (const auto& r : reasons.get_array())
        if (r.is_string()) f.reasons.emplace_back(r.get_string());
    f.comment = column_text(st.s, 7);
    out.push_back(std::move(f));
  }
  if (rc != SQLITE_DONE) return sql_error(db_, "select");
  return out;
}

}  // namespace smmf::observability
