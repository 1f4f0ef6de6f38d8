#include "engines/tgi/tei_engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace smmf::engines::tgi {
namespace json = boost::json;

namespace {

std::optional<double> number_of(const json::value& v) {
  if (v.is_double()) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return std::nullopt;
}

int compute_tokens(const net::http::fields& h) {
  auto it = h.find("x-compute-tokens");
  if (it == h.end()) return 0;
  try {
    return std::stoi(std::string(it->value()));
  } catch (...) {
    return 0;
  }
}

}  // namespace

Result<protocol::EmbeddingResult> parse_tei_embeddings(const json::value& v, size_t inputs) {
  auto bad = [](std::string_view why) {
    return Error::unavailable(fmt::format("invalid TEI /embed answer: {}", why));
  };
  if (!v.is_array()) return bad("not an array");
  const auto& arr = v.get_array();
  if (arr.size() != inputs) return bad(fmt::format("{} vectors for {} inputs", arr.size(), inputs));
  protocol::EmbeddingResult out;
  for (const auto& row : arr) {
    if (!row.is_array() || row.get_array().empty()) return bad("a vector is not a number array");
    std::vector<float> vec;
    vec.reserve(row.get_array().size());
    for (const auto& x : row.get_array()) {
      auto d = number_of(x);
      if (!d) return bad("a vector holds a non-number");
      vec.push_back(static_cast<float>(*d));
    }
    out.embeddings.push_back(std::move(vec));
  }
  return out;
}

Result<protocol::RerankResult> parse_tei_rerank(const json::value& v, size_t documents) {
  auto bad = [](std::string_view why) {
    return Error::unavailable(fmt::format("invalid TEI /rerank answer: {}", why));
  };
  if (!v.is_array()) return bad("not an array");
  protocol::RerankResult out;
  out.results.resize(documents);
  std::vector<bool> seen(documents, false);
  for (const auto& r : v.get_array()) {
    const json::object* o = r.if_object();
    const json::value* idx = o ? o->if_contains("index") : nullptr;
    const json::value* score = o ? o->if_contains("score") : nullptr;
    auto i = idx ? number_of(*idx) : std::nullopt;
    auto s = score ? number_of(*score) : std::nullopt;
    if (!i || !s) return bad("a result lacks 'index' or 'score'");
    if (*i < 0 || *i >= static_cast<double>(documents) || seen[static_cast<size_t>(*i)])
      return bad(fmt::format("index {} is out of range or repeated", *i));
    seen[static_cast<size_t>(*i)] = true;
    out.results[static_cast<size_t>(*i)] = protocol::RerankScore{static_cast<int>(*i), *s};
  }
  if (std::find(seen.begin(), seen.end(), false) != seen.end())
    return bad(fmt::format("{} results for {} documents", v.get_array().size(), documents));
  return out;
}

TeiEngine::TeiEngine(std::shared_ptr<net::HttpClient> client, TeiOptions opts)
    : upstream_(std::move(client), opts.upstream), opts_(std::move(opts)) {}

EngineInfo TeiEngine::info() const {
  return EngineInfo{"tei", opts_.type, opts_.context_length, 0};
}

asio::awaitable<Status> TeiEngine::load() {
  co_return co_await upstream_.check_health();
}
asio::awaitable<void> TeiEngine::unload() {
  co_return;
}
Status TeiEngine::health() const {
  return {};
}

asio::awaitable<Result<protocol::GenerationResult>> TeiEngine::chat(const protocol::ChatRequest&,
                                                                    DeltaSink*,
                                                                    const CallContext&) {
  co_return Error::unsupported("the tei engine does not generate text; use engine = \"tgi\"");
}

asio::awaitable<Result<protocol::GenerationResult>> TeiEngine::complete(
    const protocol::CompletionRequest&, DeltaSink*, const CallContext&) {
  co_return Error::unsupported("the tei engine does not generate text; use engine = \"tgi\"");
}

asio::awaitable<Result<protocol::EmbeddingResult>> TeiEngine::embed(
    const protocol::EmbeddingRequest& req, const CallContext& ctx) {
  if (req.dimensions)
    co_return Error::unsupported("the tei engine does not shorten embeddings ('dimensions')",
                                 "dimensions");
  json::array inputs;
  for (const auto& s : req.inputs) inputs.emplace_back(s);
  json::object body;
  body["inputs"] = std::move(inputs);
  body["normalize"] = opts_.normalize;
  body["truncate"] = opts_.truncate;
  auto answer = co_await upstream_.call("/embed", body, ctx);
  if (!answer) co_return answer.error();
  auto out = parse_tei_embeddings(answer->body, req.inputs.size());
  if (!out) co_return out.error();
  out->prompt_tokens = compute_tokens(answer->headers);
  co_return out;
}

asio::awaitable<Result<protocol::RerankResult>> TeiEngine::rerank(
    const protocol::RerankRequest& req, const CallContext& ctx) {
  json::array texts;
  for (const auto& s : req.documents) texts.emplace_back(s);
  json::object body;
  body["query"] = req.query;
  body["texts"] = std::move(texts);
  body["raw_scores"] = opts_.raw_scores;
  body["return_text"] = false;
  body["truncate"] = opts_.truncate;
  auto answer = co_await upstream_.call("/rerank", body, ctx);
  if (!answer) co_return answer.error();
  auto out = parse_tei_rerank(answer->body, req.documents.size());
  if (!out) co_return out.error();
  out->prompt_tokens = compute_tokens(answer->headers);
  co_return out;
}

namespace {

class TeiFactory : public EngineFactory {
 public:
  explicit TeiFactory(std::shared_ptr<net::HttpClient> client) : client_(std::move(client)) {}
  std::string name() const override { return "tei"; }

  Result<std::shared_ptr<Engine>> create(const ModelConfig& cfg) const override {
    TeiOptions o;
    if (cfg.type == "embedding")
      o.type = protocol::ModelType::kEmbedding;
    else if (cfg.type == "reranker")
      o.type = protocol::ModelType::kReranker;
    else
      return Error::invalid(fmt::format("{}: the tei engine serves type = \"embedding\" or "
                                        "\"reranker\" models (use engine = \"tgi\" for llm)",
                                        cfg.origin),
                            "type");
    json::object params = cfg.params;
    auto up = take_upstream_params(cfg, params);
    if (!up) return up.error();
    o.upstream = std::move(*up);
    for (const auto& [k, v] : params) {
      if (k == "normalize" || k == "truncate" || k == "raw_scores") {
        if (!v.is_bool()) return bad_param(cfg, k, "must be a boolean");
        (k == "normalize"  ? o.normalize
         : k == "truncate" ? o.truncate
                           : o.raw_scores) = v.get_bool();
      } else if (k == "context_length") {
        if (!v.is_int64() || v.get_int64() < 0)
          return bad_param(cfg, k, "must be a non-negative integer");
        o.context_length = static_cast<int>(v.get_int64());
      } else {
        return unknown_param(cfg, "tei", k);
      }
    }
    return std::shared_ptr<Engine>(std::make_shared<TeiEngine>(client_, std::move(o)));
  }

 private:
  std::shared_ptr<net::HttpClient> client_;
};

}  // namespace

void register_tei(EngineRegistry& registry, std::shared_ptr<net::HttpClient> client) {
  registry.add(std::make_unique<TeiFactory>(std::move(client)));
}

}  // namespace smmf::engines::tgi
