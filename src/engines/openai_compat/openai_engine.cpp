#include "engines/openai_compat/openai_engine.h"

#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "protocol/openai_client_json.h"
#include "protocol/sse.h"

namespace smmf::engines::openai_compat {
namespace json = boost::json;
using protocol::GenerationResult;

OpenAiEngine::OpenAiEngine(std::shared_ptr<net::HttpClient> client, OpenAiEngineOptions opts)
    : client_(std::move(client)), opts_(std::move(opts)) {}

EngineInfo OpenAiEngine::info() const {
  return EngineInfo{"openai_compat", opts_.type, opts_.context_length, 0};
}

asio::awaitable<Status> OpenAiEngine::load() {
  co_return Status{};
}
asio::awaitable<void> OpenAiEngine::unload() {
  co_return;
}
Status OpenAiEngine::health() const {
  return {};
}

net::ClientRequest OpenAiEngine::make_request(std::string target, std::string body,
                                              const CallContext& ctx) const {
  auto req = net::ClientRequest::post(std::move(target), std::move(body));
  if (!opts_.api_key.empty())
    req.headers.emplace_back(opts_.auth_header, opts_.auth_prefix + opts_.api_key);
  for (const auto& h : opts_.headers) req.headers.push_back(h);
  if (!ctx.request_id.empty()) req.headers.emplace_back("x-request-id", ctx.request_id);
  return req;
}

asio::awaitable<Result<GenerationResult>> OpenAiEngine::chat(const protocol::ChatRequest& req,
                                                             DeltaSink* sink,
                                                             const CallContext& ctx) {
  auto body = json::serialize(protocol::chat_request_json(req, opts_.upstream_model, sink));
  co_return co_await generate("/chat/completions", std::move(body), sink, ctx);
}

asio::awaitable<Result<GenerationResult>> OpenAiEngine::complete(
    const protocol::CompletionRequest& req, DeltaSink* sink, const CallContext& ctx) {
  auto body = json::serialize(protocol::completion_request_json(req, opts_.upstream_model, sink));
  co_return co_await generate("/completions", std::move(body), sink, ctx);
}

asio::awaitable<Result<GenerationResult>> OpenAiEngine::generate(std::string target,
                                                                 std::string body, DeltaSink* sink,
                                                                 const CallContext& ctx) {
  std::string upstream = opts_.base.origin();
  auto opened =
      co_await client_->open(opts_.base, make_request(std::move(target), std::move(body), ctx));
  if (!opened) co_return opened.error().error;
  auto& stream = **opened;
  if (stream.status() != 200) {
    auto err_body = co_await stream.read_all();
    std::string text = err_body ? std::move(*err_body) : std::string();
    co_return protocol::upstream_error(stream.status(), text, upstream);
  }

  if (!sink) {
    auto all = co_await stream.read_all();
    if (!all) co_return all.error();
    boost::system::error_code ec;
    auto v = json::parse(*all, ec);
    if (ec) co_return Error::unavailable(fmt::format("{} answered invalid JSON", upstream));
    co_return protocol::parse_generation_response(v);
  }

  GenerationResult result;
  protocol::SseParser parser;
  std::vector<protocol::SseEvent> events;
  std::vector<protocol::Delta> deltas;
  bool done = false;
  while (!done) {
    if (ctx.cancel->cancelled()) co_return Error::cancelled("the client went away");
    auto piece = co_await stream.read();
    if (!piece) co_return piece.error();
    if (piece->empty()) {
      // Some servers close without [DONE]; that is an early end only if no choice finished.
      if (result.choices.empty())
        co_return Error::unavailable(fmt::format("{} ended the stream early", upstream));
      break;
    }
    if (!parser.feed(*piece, events))
      co_return Error::unavailable(fmt::format("{} sent an oversized stream event", upstream));
    deltas.clear();
    for (const auto& ev : events) {
      if (ev.data == "[DONE]") {
        done = true;
        break;
      }
      boost::system::error_code ec;
      auto v = json::parse(ev.data, ec);
      if (ec)
        co_return Error::unavailable(fmt::format("{} sent an invalid stream chunk", upstream));
      if (ev.event == "error" || (v.is_object() && v.get_object().contains("error")))
        co_return protocol::upstream_error(502, ev.data, upstream);
      auto chunk = protocol::parse_stream_chunk(v);
      if (!chunk) co_return chunk.error();
      if (chunk->usage) result.usage = *chunk->usage;
      for (auto& d : chunk->deltas) {
        if (d.finish_reason) result.choices.push_back({d.index, {}, *d.finish_reason});
        deltas.push_back(std::move(d));
      }
    }
    events.clear();
    if (!deltas.empty()) {
      if (auto st = co_await sink->write(deltas); !st) co_return st.error();
    }
  }
  co_return result;
}

asio::awaitable<Result<protocol::EmbeddingResult>> OpenAiEngine::embed(
    const protocol::EmbeddingRequest& req, const CallContext& ctx) {
  auto body = json::serialize(protocol::embedding_request_json(req, opts_.upstream_model));
  auto res = co_await client_->send(opts_.base, make_request("/embeddings", std::move(body), ctx));
  if (!res) co_return res.error().error;
  if (res->status != 200)
    co_return protocol::upstream_error(res->status, res->body, opts_.base.origin());
  boost::system::error_code ec;
  auto v = json::parse(res->body, ec);
  if (ec)
    co_return Error::unavailable(fmt::format("{} answered invalid JSON", opts_.base.origin()));
  co_return protocol::parse_embedding_response(v);
}

namespace {

class Factory : public EngineFactory {
 public:
  explicit Factory(std::shared_ptr<net::HttpClient> client) : client_(std::move(client)) {}
  std::string name() const override { return "openai_compat"; }

  Result<std::shared_ptr<Engine>> create(const ModelConfig& cfg) const override {
    OpenAiEngineOptions o;
    o.type = protocol::model_type_from_string(cfg.type).value_or(protocol::ModelType::kLlm);
    o.upstream_model = cfg.name;
    auto bad = [&](std::string_view key, std::string_view why) {
      return Error::invalid(fmt::format("{}: params.{} {}", cfg.origin, key, why),
                            fmt::format("params.{}", key));
    };
    std::string base_url;
    for (const auto& [k, v] : cfg.params) {
      if (k == "headers") {
        if (!v.is_object()) return bad(k, "must be a table of strings");
        for (const auto& [hk, hv] : v.get_object()) {
          if (!hv.is_string()) return bad(k, "must be a table of strings");
          o.headers.emplace_back(std::string(hk), std::string(hv.get_string()));
        }
        continue;
      }
      if (k == "context_length") {
        if (!v.is_int64() || v.get_int64() < 0) return bad(k, "must be a non-negative integer");
        o.context_length = static_cast<int>(v.get_int64());
        continue;
      }
      if (!v.is_string()) return bad(k, "must be a string");
      std::string s(v.get_string());
      if (k == "base_url")
        base_url = s;
      else if (k == "api_key")
        o.api_key = s;
      else if (k == "upstream_model")
        o.upstream_model = s;
      else if (k == "auth_header")
        o.auth_header = s;
      else if (k == "auth_prefix")
        o.auth_prefix = s;
      else
        return bad(k, "is not a known setting of the openai_compat engine");
    }
    if (base_url.empty()) return bad("base_url", "is required");
    auto url = net::parse_url(base_url);
    if (!url) return bad("base_url", url.error().message);
    o.base = std::move(*url);
    return std::shared_ptr<Engine>(std::make_shared<OpenAiEngine>(client_, std::move(o)));
  }

 private:
  std::shared_ptr<net::HttpClient> client_;
};

}  // namespace

void register_openai_compat(EngineRegistry& registry, std::shared_ptr<net::HttpClient> client) {
  registry.add(std::make_unique<Factory>(std::move(client)));
}

}  // namespace smmf::engines::openai_compat
