#include "engines/tgi/tgi_engine.h"

#include <fmt/format.h>
#include <boost/json/parse.hpp>

#include "engines/tgi/tgi_json.h"
#include "protocol/openai_client_json.h"
#include "protocol/sse.h"

namespace smmf::engines::tgi {
namespace json = boost::json;
using protocol::GenerationResult;

namespace {

openai_compat::OpenAiEngineOptions messages_options(const TgiOptions& o) {
  openai_compat::OpenAiEngineOptions m;
  m.base = o.upstream.base;
  m.base.path += "/v1";
  m.upstream_model = "tgi";  // TGI serves one model and ignores the name
  m.api_key = o.upstream.api_key;
  m.headers = o.upstream.headers;
  m.context_length = o.context_length;
  return m;
}

int header_int(const net::http::fields& h, std::string_view name) {
  auto it = h.find(name);
  if (it == h.end()) return 0;
  try {
    return std::stoi(std::string(it->value()));
  } catch (...) {
    return 0;
  }
}

}  // namespace

TgiEngine::TgiEngine(std::shared_ptr<net::HttpClient> client, TgiOptions opts)
    : upstream_(client, opts.upstream),
      opts_(std::move(opts)),
      messages_(std::move(client), messages_options(opts_)) {}

EngineInfo TgiEngine::info() const {
  return EngineInfo{"tgi", protocol::ModelType::kLlm, opts_.context_length, 0};
}

asio::awaitable<Status> TgiEngine::load() {
  co_return co_await upstream_.check_health();
}
asio::awaitable<void> TgiEngine::unload() {
  co_return;
}
Status TgiEngine::health() const {
  return {};
}

asio::awaitable<Result<GenerationResult>> TgiEngine::chat(const protocol::ChatRequest& req,
                                                          DeltaSink* sink, const CallContext& ctx) {
  co_return co_await messages_.chat(req, sink, ctx);
}

asio::awaitable<Result<protocol::EmbeddingResult>> TgiEngine::embed(
    const protocol::EmbeddingRequest& req, const CallContext& ctx) {
  (void)req;
  (void)ctx;
  co_return Error::unsupported("the tgi engine does not embed; use engine = \"tei\"");
}

asio::awaitable<Result<GenerationResult>> TgiEngine::complete(
    const protocol::CompletionRequest& req, DeltaSink* sink, const CallContext& ctx) {
  GenerationResult result;
  int index = 0;
  for (const auto& prompt : req.prompts) {
    for (int c = 0; c < req.gen.n; ++c, ++index) {
      auto choice = co_await generate_one(prompt, req.gen, index, sink, ctx, result.usage);
      if (!choice) co_return choice.error();
      if (req.echo && !sink) choice->text = prompt + choice->text;
      result.choices.push_back(std::move(*choice));
    }
  }
  co_return result;
}

asio::awaitable<Result<protocol::Choice>> TgiEngine::generate_one(
    const std::string& prompt, const protocol::GenerationParams& g, int index, DeltaSink* sink,
    const CallContext& ctx, protocol::Usage& usage) {
  if (ctx.cancel->cancelled()) co_return Error::cancelled("the client went away");
  if (sink) co_return co_await stream_one(prompt, g, index, *sink, ctx, usage);
  auto answer =
      co_await upstream_.call("/generate", generate_body(prompt, g, opts_.max_new_tokens), ctx);
  if (!answer) co_return answer.error();
  auto out = parse_generate_response(answer->body);
  if (!out) co_return out.error();
  if (out->stopped_on_sequence) trim_stop(out->text, g.stop);
  int prompt_tokens = header_int(answer->headers, "x-prompt-tokens");
  usage.prompt_tokens += prompt_tokens ? prompt_tokens : out->prompt_tokens;
  int generated = header_int(answer->headers, "x-generated-tokens");
  usage.completion_tokens += generated ? generated : out->generated_tokens;
  co_return protocol::Choice{index, std::move(out->text),
                             out->finish.value_or(protocol::FinishReason::kStop)};
}

asio::awaitable<Result<protocol::Choice>> TgiEngine::stream_one(const std::string& prompt,
                                                                const protocol::GenerationParams& g,
                                                                int index, DeltaSink& sink,
                                                                const CallContext& ctx,
                                                                protocol::Usage& usage) {
  std::string upstream = opts_.upstream.base.origin();
  auto body = generate_body(prompt, g, opts_.max_new_tokens);
  auto opened = co_await upstream_.client().open(opts_.upstream.base,
                                                 upstream_.post("/generate_stream", body, ctx));
  if (!opened) co_return opened.error().error;
  auto& stream = **opened;
  if (stream.status() != 200) {
    auto err_body = co_await stream.read_all();
    std::string text = err_body ? std::move(*err_body) : std::string();
    Error e = protocol::upstream_error(stream.status(), text, upstream);
    if (stream.status() == 424) {
      e.code = ErrorCode::kUnavailable;
      e.http_status = 0;  // answered as 503
    }
    co_return e;
  }
  protocol::SseParser parser;
  std::vector<protocol::SseEvent> events;
  StopTrimmer trimmer(g.stop);
  std::vector<protocol::Delta> deltas;
  for (;;) {
    if (ctx.cancel->cancelled()) co_return Error::cancelled("the client went away");
    auto piece = co_await stream.read();
    if (!piece) co_return piece.error();
    if (piece->empty())
      co_return Error::unavailable(fmt::format("{} ended the stream early", upstream));
    if (!parser.feed(*piece, events))
      co_return Error::unavailable(fmt::format("{} sent an oversized stream event", upstream));
    deltas.clear();
    std::optional<TgiOutput> last;
    for (const auto& e : events) {
      boost::system::error_code ec;
      auto v = json::parse(e.data, ec);
      if (ec)
        co_return Error::unavailable(fmt::format("{} sent an invalid stream event", upstream));
      auto ev = parse_stream_event(v, upstream);
      if (!ev) co_return ev.error();
      std::string text = trimmer.push(ev->text);
      if (!text.empty()) deltas.push_back(protocol::Delta{index, std::move(text), std::nullopt});
      if (ev->last) {
        last = std::move(ev->details);
        break;
      }
    }
    events.clear();
    if (last) {
      auto finish = last->finish.value_or(protocol::FinishReason::kStop);
      deltas.push_back(protocol::Delta{index, trimmer.finish(last->stopped_on_sequence), finish});
      if (auto st = co_await sink.write(deltas); !st) co_return st.error();
      usage.prompt_tokens += last->prompt_tokens;
      usage.completion_tokens += last->generated_tokens;
      co_return protocol::Choice{index, {}, finish};
    }
    if (!deltas.empty()) {
      if (auto st = co_await sink.write(deltas); !st) co_return st.error();
    }
  }
}

namespace {

class TgiFactory : public EngineFactory {
 public:
  explicit TgiFactory(std::shared_ptr<net::HttpClient> client) : client_(std::move(client)) {}
  std::string name() const override { return "tgi"; }

  Result<std::shared_ptr<Engine>> create(const ModelConfig& cfg) const override {
    if (cfg.type != "llm")
      return Error::invalid(fmt::format("{}: the tgi engine serves type = \"llm\" models (use "
                                        "engine = \"tei\" for embeddings and rerankers)",
                                        cfg.origin),
                            "type");
    json::object params = cfg.params;
    auto up = take_upstream_params(cfg, params);
    if (!up) return up.error();
    TgiOptions o;
    o.upstream = std::move(*up);
    for (const auto& [k, v] : params) {
      if (k == "max_new_tokens" || k == "context_length") {
        if (!v.is_int64() || v.get_int64() < 0)
          return bad_param(cfg, k, "must be a non-negative integer");
        (k == "max_new_tokens" ? o.max_new_tokens : o.context_length) =
            static_cast<int>(v.get_int64());
      } else {
        return unknown_param(cfg, "tgi", k);
      }
    }
    return std::shared_ptr<Engine>(std::make_shared<TgiEngine>(client_, std::move(o)));
  }

 private:
  std::shared_ptr<net::HttpClient> client_;
};

}  // namespace

void register_tgi(EngineRegistry& registry, std::shared_ptr<net::HttpClient> client) {
  registry.add(std::make_unique<TgiFactory>(std::move(client)));
}

}  // namespace smmf::engines::tgi
