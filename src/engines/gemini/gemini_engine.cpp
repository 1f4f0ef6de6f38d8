#include "engines/gemini/gemini_engine.h"

#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

#include "engines/gemini/gemini_json.h"
#include "engines/remote/remote_params.h"

namespace smmf::engines::gemini {
namespace json = boost::json;
using protocol::GenerationResult;

GeminiEngine::GeminiEngine(std::shared_ptr<net::HttpClient> client, GeminiOptions opts)
    : client_(std::move(client)), opts_(std::move(opts)) {}

EngineInfo GeminiEngine::info() const {
  return EngineInfo{"gemini", opts_.type, opts_.context_length, 0};
}
asio::awaitable<Status> GeminiEngine::load() {
  co_return Status{};
}
asio::awaitable<void> GeminiEngine::unload() {
  co_return;
}
Status GeminiEngine::health() const {
  return {};
}

net::ClientRequest GeminiEngine::make_request(std::string target, std::string body,
                                              const CallContext& ctx) const {
  auto req = net::ClientRequest::post(std::move(target), std::move(body));
  if (!opts_.api_key.empty()) req.headers.emplace_back("x-goog-api-key", opts_.api_key);
  for (const auto& h : opts_.headers) req.headers.push_back(h);
  if (!ctx.request_id.empty()) req.headers.emplace_back("x-request-id", ctx.request_id);
  req.cancel = ctx.cancel;
  return req;
}

asio::awaitable<Result<GenerationResult>> GeminiEngine::chat(const protocol::ChatRequest& req,
                                                             DeltaSink* sink,
                                                             const CallContext& ctx) {
  auto body = generate_request(req);
  if (!body) co_return body.error();
  std::string target =
      "/" + opts_.model_path + (sink ? ":streamGenerateContent?alt=sse" : ":generateContent");
  auto creq = make_request(std::move(target), json::serialize(*body), ctx);
  int prompt_estimate = 0;
  for (const auto& m : req.messages) prompt_estimate += remote::estimate_tokens(m.content) + 4;

  std::string upstream = opts_.base.origin();
  auto opened = co_await client_->open(opts_.base, std::move(creq));
  if (!opened) co_return opened.error().error;
  auto& stream = **opened;
  if (stream.status() != 200) {
    auto err_body = co_await stream.read_all();
    std::string text = err_body ? std::move(*err_body) : std::string();
    co_return remote::upstream_failure(stream.status(), text, upstream, opts_.api_key);
  }

  GenerationResult result;
  std::optional<protocol::Usage> usage;
  size_t out_bytes = 0;
  if (!sink) {
    auto all = co_await stream.read_all();
    if (!all) co_return all.error();
    boost::system::error_code ec;
    auto v = json::parse(*all, ec);
    if (ec) co_return Error::unavailable(fmt::format("{} answered invalid JSON", upstream));
    auto d = decode_response(v);
    if (!d) co_return d.error();
    for (auto& delta : d->deltas) {
      out_bytes += delta.text.size();
      result.choices.push_back(
          protocol::Choice{delta.index, std::move(delta.text),
                           delta.finish_reason.value_or(protocol::FinishReason::kStop)});
    }
    std::sort(result.choices.begin(), result.choices.end(),
              [](const auto& a, const auto& b) { return a.index < b.index; });
    usage = d->usage;
  } else {
    remote::SseHandler handler = [&](const protocol::SseEvent& ev,
                                     std::vector<protocol::Delta>& out) -> Result<bool> {
      boost::system::error_code ec;
      auto v = json::parse(ev.data, ec);
      if (ec) return Error::unavailable(fmt::format("{} sent an invalid stream chunk", upstream));
      if (v.is_object() && v.get_object().contains("error"))
        return remote::upstream_failure(502, ev.data, upstream, opts_.api_key);
      auto d = decode_response(v);
      if (!d) return d.error();
      if (d->usage) usage = d->usage;
      for (auto& delta : d->deltas) {
        out_bytes += delta.text.size();
        if (delta.finish_reason)
          result.choices.push_back(protocol::Choice{delta.index, {}, *delta.finish_reason});
        out.push_back(std::move(delta));
      }
      return false;  // Gemini ends the stream by ending the body
    };
    auto relayed = co_await remote::relay_sse(stream, *sink, ctx, upstream, handler);
    if (!relayed) co_return relayed.error();
    if (result.choices.empty())
      co_return Error::unavailable(
          fmt::format("{} ended the stream before a finishReason", upstream));
  }
  if (usage) {
    result.usage = *usage;
  } else {
    result.usage.prompt_tokens = prompt_estimate;
    result.usage.completion_tokens = static_cast<int>((out_bytes + 3) / 4);
  }
  co_return result;
}

asio::awaitable<Result<GenerationResult>> GeminiEngine::complete(
    const protocol::CompletionRequest& req, DeltaSink* sink, const CallContext& ctx) {
  (void)req;
  (void)sink;
  (void)ctx;
  co_return Error::unsupported("the gemini engine serves /v1/chat/completions and /v1/embeddings");
}

asio::awaitable<Result<protocol::EmbeddingResult>> GeminiEngine::embed(
    const protocol::EmbeddingRequest& req, const CallContext& ctx) {
  auto body = json::serialize(embed_request(req, opts_.model_path));
  auto creq = make_request("/" + opts_.model_path + ":batchEmbedContents", std::move(body), ctx);
  std::string upstream = opts_.base.origin();
  auto res = co_await client_->send(opts_.base, std::move(creq));
  if (!res) co_return res.error().error;
  if (res->status != 200)
    co_return remote::upstream_failure(res->status, res->body, upstream, opts_.api_key);
  boost::system::error_code ec;
  auto v = json::parse(res->body, ec);
  if (ec) co_return Error::unavailable(fmt::format("{} answered invalid JSON", upstream));
  auto out = parse_embed_response(v, req.inputs.size());
  if (!out) co_return out.error();
  // The API reports no token counts for embeddings.
  for (const auto& in : req.inputs) out->prompt_tokens += remote::estimate_tokens(in);
  co_return out;
}

namespace {

class Factory : public EngineFactory {
 public:
  explicit Factory(std::shared_ptr<net::HttpClient> client) : client_(std::move(client)) {}
  std::string name() const override { return "gemini"; }

  Result<std::shared_ptr<Engine>> create(const ModelConfig& cfg) const override {
    auto type = protocol::model_type_from_string(cfg.type).value_or(protocol::ModelType::kLlm);
    if (type == protocol::ModelType::kReranker)
      return Error::invalid(
          fmt::format("{}: the gemini engine serves type \"llm\" or \"embedding\"", cfg.origin),
          "type");
    auto none = [](std::string_view, const json::value&) -> Result<bool> { return false; };
    auto rp = remote::parse_remote_params(cfg, "gemini", client_->options(), none);
    if (!rp) return rp.error();
    auto url = net::parse_url(
        rp->base_url.empty() ? "https://generativelanguage.googleapis.com/v1beta" : rp->base_url);
    if (!url) return remote::bad_param(cfg, "base_url", url.error().message);
    GeminiOptions o;
    o.base = std::move(*url);
    o.type = type;
    o.model_path = model_path(rp->upstream_model);
    o.api_key = rp->api_key;
    o.headers = rp->headers;
    o.context_length = rp->context_length;
    if (o.api_key.empty())
      return remote::bad_param(cfg, "api_key", "(or params.api_key_file) is required");
    return std::shared_ptr<Engine>(
        std::make_shared<GeminiEngine>(remote::make_client(*client_, rp->client), std::move(o)));
  }

 private:
  std::shared_ptr<net::HttpClient> client_;
};

}  // namespace

void register_gemini(EngineRegistry& registry, std::shared_ptr<net::HttpClient> client) {
  registry.add(std::make_unique<Factory>(std::move(client)));
}

}  // namespace smmf::engines::gemini
