#include "engines/remote/remote_params.h"

#include <fmt/format.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "protocol/openai_client_json.h"

namespace smmf::engines::remote {
namespace json = boost::json;

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  return s;
}

Result<std::chrono::milliseconds> positive_ms(const json::value& v) {
  if (!v.is_int64() || v.get_int64() <= 0)
    return Error::invalid("must be a positive number of milliseconds");
  return std::chrono::milliseconds(v.get_int64());
}

}  // namespace

Error bad_param(const ModelConfig& cfg, std::string_view key, std::string_view why) {
  return Error::invalid(fmt::format("{}: params.{} {}", cfg.origin, key, why),
                        fmt::format("params.{}", key));
}

Result<RemoteParams> parse_remote_params(const ModelConfig& cfg, std::string_view engine,
                                         const net::ClientOptions& defaults,
                                         const ExtraKey& extra) {
  RemoteParams p;
  p.upstream_model = cfg.name;
  p.client = defaults;
  std::string api_key_file;
  std::optional<std::string> proxy;
  std::optional<std::string> no_proxy;
  bool has_key = false;
  for (const auto& [k, v] : cfg.params) {
    auto str = [&]() -> Result<std::string> {
      if (!v.is_string()) return bad_param(cfg, k, "must be a string");
      return std::string(v.get_string());
    };
    if (k == "headers") {
      if (!v.is_object()) return bad_param(cfg, k, "must be a table of strings");
      for (const auto& [hk, hv] : v.get_object()) {
        if (!hv.is_string()) return bad_param(cfg, k, "must be a table of strings");
        p.headers.emplace_back(std::string(hk), std::string(hv.get_string()));
      }
    } else if (k == "context_length") {
      if (!v.is_int64() || v.get_int64() < 0)
        return bad_param(cfg, k, "must be a non-negative integer");
      p.context_length = static_cast<int>(v.get_int64());
    } else if (k == "tls_verify") {
      if (!v.is_bool()) return bad_param(cfg, k, "must be a boolean");
      p.client.verify_tls = v.get_bool();
    } else if (k == "connect_timeout_ms" || k == "first_byte_timeout_ms" ||
               k == "idle_timeout_ms" || k == "timeout_ms") {
      auto ms = positive_ms(v);
      if (!ms) return bad_param(cfg, k, ms.error().message);
      if (k == "connect_timeout_ms")
        p.client.connect_timeout = *ms;
      else if (k == "first_byte_timeout_ms")
        p.client.first_byte_timeout = *ms;
      else if (k == "idle_timeout_ms")
        p.client.idle_timeout = *ms;
      else
        p.client.total_timeout = *ms;
    } else if (k == "base_url" || k == "upstream_model" || k == "api_key" || k == "api_key_file" ||
               k == "proxy" || k == "no_proxy" || k == "ca_file") {
      auto s = str();
      if (!s) return s.error();
      if (k == "base_url") {
        p.base_url = std::move(*s);
      } else if (k == "upstream_model") {
        if (s->empty()) return bad_param(cfg, k, "must not be empty");
        p.upstream_model = std::move(*s);
      } else if (k == "api_key") {
        p.api_key = std::move(*s);
        has_key = true;
      } else if (k == "api_key_file") {
        api_key_file = std::move(*s);
      } else if (k == "proxy") {
        proxy = std::move(*s);
      } else if (k == "no_proxy") {
        no_proxy = std::move(*s);
      } else {
        if (::access(s->c_str(), R_OK) != 0) return bad_param(cfg, k, "is not a readable file");
        p.client.ca_file = std::move(*s);
      }
    } else {
      auto used = extra(k, v);
      if (!used) return used.error();
      if (!*used)
        return bad_param(cfg, k, fmt::format("is not a known setting of the {} engine", engine));
    }
  }
  if (has_key && !api_key_file.empty())
    return bad_param(cfg, "api_key_file", "and params.api_key are exclusive");
  if (!api_key_file.empty()) {
    std::ifstream in(api_key_file, std::ios::binary);
    if (!in) return bad_param(cfg, "api_key_file", "is not a readable file");
    std::stringstream ss;
    ss << in.rdbuf();
    p.api_key = std::string(trim(ss.str()));
    if (p.api_key.empty()) return bad_param(cfg, "api_key_file", "is empty");
  }
  if (proxy && *proxy != "none" && !proxy->empty()) {
    auto ps = net::ProxySettings::single(*proxy, no_proxy.value_or(""));
    if (!ps) return bad_param(cfg, "proxy", ps.error().message);
    p.client.proxy = std::move(*ps);
  } else if (proxy) {
    p.client.proxy = {};  // "none" or "": always direct
  } else {
    auto ps = net::ProxySettings::from_env();
    if (!ps) return Error::invalid(fmt::format("{}: {}", cfg.origin, ps.error().message));
    p.client.proxy = std::move(*ps);
    if (no_proxy) p.client.proxy.no_proxy = *no_proxy;
  }
  return p;
}

std::shared_ptr<net::HttpClient> make_client(const net::HttpClient& shared,
                                             net::ClientOptions opts) {
  opts.keep_idle_timers = shared.options().keep_idle_timers;  // a server's, or a CLI's
  return std::make_shared<net::HttpClient>(shared.executor(), std::move(opts));
}

std::string redact(std::string text, std::string_view secret) {
  if (secret.size() < 4) return text;
  for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at))
    text.replace(at, secret.size(), "[redacted]");
  return text;
}

Error upstream_failure(unsigned status, std::string_view body, std::string_view upstream,
                       std::string_view secret) {
  Error e = protocol::upstream_error(status, body, upstream);
  e.message = redact(std::move(e.message), secret);
  return e;
}

int estimate_tokens(std::string_view text) {
  return static_cast<int>((text.size() + 3) / 4);
}

asio::awaitable<Result<bool>> relay_sse(net::ResponseStream& stream, DeltaSink& sink,
                                        const CallContext& ctx, std::string upstream,
                                        SseHandler on_event) {
  protocol::SseParser parser;
  std::vector<protocol::SseEvent> events;
  std::vector<protocol::Delta> deltas;
  bool complete = false;
  while (!complete) {
    if (ctx.cancel->cancelled()) co_return Error::cancelled("the client went away");
    auto piece = co_await stream.read();
    if (!piece) co_return piece.error();
    if (piece->empty()) break;
    if (!parser.feed(*piece, events))
      co_return Error::unavailable(fmt::format("{} sent an oversized stream event", upstream));
    deltas.clear();
    for (const auto& ev : events) {
      auto r = on_event(ev, deltas);
      if (!r) co_return r.error();
      if (*r) {
        complete = true;
        break;
      }
    }
    events.clear();
    if (!deltas.empty()) {
      auto st = co_await sink.write(deltas);
      if (!st) co_return st.error();
    }
  }
  co_return complete;
}

}  // namespace smmf::engines::remote
