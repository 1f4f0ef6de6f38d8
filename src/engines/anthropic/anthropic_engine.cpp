#include "engines/anthropic/anthropic_engine.h"

#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "engines/anthropic/anthropic_json.h"
#include "engines/remote/remote_params.h"

namespace smmf::engines::anthropic {
namespace json = boost::json;
using protocol::GenerationResult;

AnthropicEngine::AnthropicEngine(std::shared_ptr<net::HttpClient> client, AnthropicOptions opts)
    : client_(std::move(client)), opts_(std::move(opts)) {}

EngineInfo AnthropicEngine::info() const {
  return EngineInfo{"anthropic", protocol::ModelType::kLlm, opts_.context_length, 0};
}
asio::awaitable<Status> AnthropicEngine::load() {
  co_return Status{};
}
asio::awaitable<void> AnthropicEngine::unload() {
  co_return;
}
Status AnthropicEngine::health() const {
  return {};
}

asio::awaitable<Result<GenerationResult>> AnthropicEngine::chat(const protocol::ChatRequest& req,
                                                                DeltaSink* sink,
                                                                const CallContext& ctx) {
  auto body =
      messages_request(req, opts_.upstream_model, opts_.default_max_tokens, sink != nullptr);
  if (!body) co_return body.error();
  auto creq = net::ClientRequest::post("/v1/messages", json::serialize(*body));
  if (!opts_.api_key.empty()) creq.headers.emplace_back("x-api-key", opts_.api_key);
  creq.headers.emplace_back("anthropic-version", opts_.version);
  for (const auto& h : opts_.headers) creq.headers.push_back(h);
  if (!ctx.request_id.empty()) creq.headers.emplace_back("x-request-id", ctx.request_id);
  if (sink) creq.headers.emplace_back("accept", "text/event-stream");
  creq.cancel = ctx.cancel;

  std::string upstream = opts_.base.origin();
  auto opened = co_await client_->open(opts_.base, std::move(creq));
  if (!opened) co_return opened.error().error;
  auto& stream = **opened;
  if (stream.status() != 200) {
    auto err_body = co_await stream.read_all();
    std::string text = err_body ? std::move(*err_body) : std::string();
    co_return remote::upstream_failure(stream.status(), text, upstream, opts_.api_key);
  }
  if (!sink) {
    auto all = co_await stream.read_all();
    if (!all) co_return all.error();
    boost::system::error_code ec;
    auto v = json::parse(*all, ec);
    if (ec) co_return Error::unavailable(fmt::format("{} answered invalid JSON", upstream));
    co_return parse_messages_response(v);
  }

  StreamDecoder decoder(upstream);
  protocol::FinishReason finish = protocol::FinishReason::kStop;
  remote::SseHandler handler = [&](const protocol::SseEvent& ev,
                                   std::vector<protocol::Delta>& out) -> Result<bool> {
    size_t before = out.size();
    auto r = decoder.on_event(ev.event, ev.data, out);
    for (size_t i = before; i < out.size(); ++i)
      if (out[i].finish_reason) finish = *out[i].finish_reason;
    return r;
  };
  auto relayed = co_await remote::relay_sse(stream, *sink, ctx, upstream, handler);
  if (!relayed) {
    Error e = relayed.error();
    e.message = remote::redact(std::move(e.message), opts_.api_key);
    co_return e;
  }
  if (!*relayed)
    co_return Error::unavailable(fmt::format("{} ended the stream before message_stop", upstream));
  GenerationResult result;
  result.choices.push_back(protocol::Choice{0, {}, finish});
  result.usage = decoder.usage();
  co_return result;
}

asio::awaitable<Result<GenerationResult>> AnthropicEngine::complete(
    const protocol::CompletionRequest& req, DeltaSink* sink, const CallContext& ctx) {
  (void)req;
  (void)sink;
  (void)ctx;
  co_return Error::unsupported(
      "the anthropic engine serves /v1/chat/completions only (the Messages API has no text "
      "completion)");
}

asio::awaitable<Result<protocol::EmbeddingResult>> AnthropicEngine::embed(
    const protocol::EmbeddingRequest& req, const CallContext& ctx) {
  (void)req;
  (void)ctx;
  co_return Error::unsupported("Anthropic has no embeddings API");
}

namespace {

class Factory : public EngineFactory {
 public:
  explicit Factory(std::shared_ptr<net::HttpClient> client) : client_(std::move(client)) {}
  std::string name() const override { return "anthropic"; }

  Result<std::shared_ptr<Engine>> create(const ModelConfig& cfg) const override {
    if (cfg.type != "llm")
      return Error::invalid(
          fmt::format("{}: the anthropic engine serves type \"llm\" only", cfg.origin), "type");
    AnthropicOptions o;
    auto extra = [&](std::string_view k, const json::value& v) -> Result<bool> {
      if (k == "anthropic_version") {
        if (!v.is_string() || v.get_string().empty())
          return remote::bad_param(cfg, k, "must be a non-empty string");
        o.version = v.get_string();
        return true;
      }
      if (k == "max_tokens") {
        if (!v.is_int64() || v.get_int64() < 1 || v.get_int64() > 1'000'000)
          return remote::bad_param(cfg, k, "must be an integer in [1, 1000000]");
        o.default_max_tokens = static_cast<int>(v.get_int64());
        return true;
      }
      return false;
    };
    auto rp = remote::parse_remote_params(cfg, "anthropic", client_->options(), extra);
    if (!rp) return rp.error();
    auto url = net::parse_url(rp->base_url.empty() ? "https://api.anthropic.com" : rp->base_url);
    if (!url) return remote::bad_param(cfg, "base_url", url.error().message);
    if (url->path.ends_with("/v1")) url->path.resize(url->path.size() - 3);
    o.base = std::move(*url);
    o.upstream_model = rp->upstream_model;
    o.api_key = rp->api_key;
    o.headers = rp->headers;
    o.context_length = rp->context_length;
    if (o.api_key.empty())
      return remote::bad_param(cfg, "api_key", "(or params.api_key_file) is required");
    return std::shared_ptr<Engine>(
        std::make_shared<AnthropicEngine>(remote::make_client(*client_, rp->client), std::move(o)));
  }

 private:
  std::shared_ptr<net::HttpClient> client_;
};

}  // namespace

void register_anthropic(EngineRegistry& registry, std::shared_ptr<net::HttpClient> client) {
  registry.add(std::make_unique<Factory>(std::move(client)));
}

}  // namespace smmf::engines::anthropic
