#include "protocol/rerank_json.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace smmf::protocol {
namespace json = boost::json;

namespace {

const json::value* field(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return nullptr;
  return &it->value();
}

std::optional<double> number_of(const json::value& v) {
  if (v.is_double()) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return std::nullopt;
}

}  // namespace

Result<RerankRequest> parse_rerank_request(const json::value& body, const ParseLimits& limits) {
  if (!body.is_object()) return Error::invalid("the request body must be a JSON object");
  const json::object& o = body.get_object();
  RerankRequest req;
  const json::value* model = field(o, "model");
  if (!model) return Error::invalid("'model' is required", "model");
  if (!model->is_string()) return Error::invalid("'model' must be a string", "model");
  req.model = model->get_string();
  if (req.model.empty()) return Error::invalid("'model' is required", "model");

  const json::value* query = field(o, "query");
  if (!query) return Error::invalid("'query' is required", "query");
  if (!query->is_string()) return Error::invalid("'query' must be a string", "query");
  req.query = query->get_string();
  if (req.query.empty()) return Error::invalid("'query' must not be empty", "query");

  const json::value* docs = field(o, "documents");
  if (!docs) return Error::invalid("'documents' is required", "documents");
  if (!docs->is_array())
    return Error::invalid("'documents' must be an array of strings or {\"text\": ...} objects",
                          "documents");
  const auto& arr = docs->get_array();
  if (arr.empty()) return Error::invalid("'documents' must not be empty", "documents");
  if (arr.size() > limits.max_inputs)
    return Error::invalid(fmt::format("'documents' may hold at most {} items", limits.max_inputs),
                          "documents");
  for (size_t i = 0; i < arr.size(); ++i) {
    const json::value& d = arr[i];
    const json::value* text = &d;
    if (d.is_object()) text = field(d.get_object(), "text");
    if (!text || !text->is_string())
      return Error::invalid(
          fmt::format("'documents[{}]' must be a string or an object with a string 'text'", i),
          "documents");
    if (text->get_string().empty())
      return Error::invalid(fmt::format("'documents[{}]' must not be empty", i), "documents");
    req.documents.emplace_back(text->get_string());
  }

  if (const json::value* n = field(o, "top_n")) {
    std::optional<double> d = number_of(*n);
    if (!d || std::floor(*d) != *d) return Error::invalid("'top_n' must be an integer", "top_n");
    if (*d < 1) return Error::invalid("'top_n' must be at least 1", "top_n");
    req.top_n = static_cast<int>(std::min(*d, static_cast<double>(arr.size())));
  }
  if (const json::value* r = field(o, "return_documents")) {
    if (!r->is_bool())
      return Error::invalid("'return_documents' must be a boolean", "return_documents");
    req.return_documents = r->get_bool();
  }
  return req;
}

json::object rerank_response_json(std::string_view id, const RerankRequest& req,
                                  const RerankResult& scores) {
  std::vector<RerankScore> sorted = scores.results;
  std::stable_sort(sorted.begin(), sorted.end(), [](const RerankScore& a, const RerankScore& b) {
    if (a.relevance_score != b.relevance_score) return a.relevance_score > b.relevance_score;
    return a.index < b.index;
  });
  if (req.top_n && static_cast<size_t>(*req.top_n) < sorted.size()) sorted.resize(*req.top_n);
  json::array results;
  for (const auto& s : sorted) {
    json::object r;
    r["index"] = s.index;
    r["relevance_score"] = s.relevance_score;
    if (req.return_documents && s.index >= 0 &&
        static_cast<size_t>(s.index) < req.documents.size()) {
      json::object doc;
      doc["text"] = req.documents[s.index];
      r["document"] = std::move(doc);
    }
    results.push_back(std::move(r));
  }
  json::object usage;
  usage["total_tokens"] = scores.prompt_tokens;
  usage["prompt_tokens"] = scores.prompt_tokens;
  json::object out;
  out["id"] = id;
  out["object"] = "rerank";
  out["model"] = req.model;
  out["results"] = std::move(results);
  out["usage"] = std::move(usage);
  return out;
}

json::object rerank_request_json(const RerankRequest& req, std::string_view model) {
  json::array docs;
  for (const auto& d : req.documents) docs.emplace_back(d);
  json::object o;
  o["model"] = model;
  o["query"] = req.query;
  o["documents"] = std::move(docs);
  o["top_n"] = req.documents.size();
  o["return_documents"] = false;
  return o;
}

Result<RerankResult> parse_rerank_response(const json::value& v, size_t documents) {
  auto bad = [](std::string_view why) {
    return Error::unavailable(fmt::format("invalid rerank answer: {}", why));
  };
  if (!v.is_object()) return bad("not a JSON object");
  const json::object& o = v.get_object();
  const json::value* results = field(o, "results");
  if (!results || !results->is_array()) return bad("no 'results' array");
  RerankResult out;
  out.results.resize(documents);
  std::vector<bool> seen(documents, false);
  for (const auto& r : results->get_array()) {
    if (!r.is_object()) return bad("a result is not an object");
    const json::value* idx = field(r.get_object(), "index");
    const json::value* score = field(r.get_object(), "relevance_score");
    std::optional<double> i = idx ? number_of(*idx) : std::nullopt;
    std::optional<double> s = score ? number_of(*score) : std::nullopt;
    if (!i || !s) return bad("a result lacks 'index' or 'relevance_score'");
    if (*i < 0 || *i >= static_cast<double>(documents) || seen[static_cast<size_t>(*i)])
      return bad(fmt::format("index {} is out of range or repeated", *i));
    seen[static_cast<size_t>(*i)] = true;
    out.results[static_cast<size_t>(*i)] = RerankScore{static_cast<int>(*i), *s};
  }
  if (std::find(seen.begin(), seen.end(), false) != seen.end())
    return bad(fmt::format("{} results for {} documents", results->get_array().size(), documents));
  if (const json::value* usage = field(o, "usage"); usage && usage->is_object()) {
    const json::value* p = field(usage->get_object(), "prompt_tokens");
    if (!p) p = field(usage->get_object(), "total_tokens");
    if (p)
      if (auto n = number_of(*p)) out.prompt_tokens = static_cast<int>(*n);
  }
  return out;
}

}  // namespace smmf::protocol
