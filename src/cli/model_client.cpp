#include "cli/model_client.h"

#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdlib>

#include <cctype>

namespace smmf::cli {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

std::string string_member(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

/// The message inside {"error":{"message":...}} (or {"error":"..."}); empty when there is none.
std::string body_error_message(const json::value& body) {
  const json::object* o = body.if_object();
  if (!o) return {};
  const json::value* e = o->if_contains("error");
  if (!e) return {};
  if (e->is_string()) return std::string(e->get_string());
  if (const json::object* eo = e->if_object()) return string_member(*eo, "message");
  return {};
}

Error transport_error(const net::ClientError& e, const net::Url& url) {
  if (e.before_response) return Error::unavailable(unreachable_message("controller", url, e));
  return Error::unavailable(
      fmt::format("the controller at {} broke off its answer: {}", url.origin(), e.error.message));
}

bool is_success(unsigned status) {
  return status >= 200 && status < 300;
}

int64_t int_member(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v && v->is_int64()) return v->get_int64();
  if (v && v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  return 0;
}

/// A controller's relay answer: {"model","results":[{"worker","address","status","body"}]}.
void read_relay_results(const json::array& results, ActionReply& reply) {
  for (const auto& r : results) {
    const json::object* ro = r.if_object();
    if (!ro) continue;
    auto status = static_cast<unsigned>(int_member(*ro, "status"));
    if (is_success(status)) {
      ++reply.succeeded;
      continue;
    }
    const json::value* body = ro->if_contains("body");
    std::string message = body ? body_error_message(*body) : std::string();
    if (message.empty()) message = fmt::format("HTTP {}", status);
    reply.failures.push_back(fmt::format("worker {}: {}", string_member(*ro, "worker"), message));
  }
}

ActionReply action_reply(unsigned status, const std::string& text) {
  ActionReply reply;
  reply.ok = is_success(status);
  boost::system::error_code ec;
  json::value body = json::parse(text, ec);
  const json::object* o = ec ? nullptr : body.if_object();
  const json::value* results = o ? o->if_contains("results") : nullptr;
  if (results && results->is_array())
    read_relay_results(results->get_array(), reply);
  else if (reply.ok)
    reply.succeeded = 1;  // a worker (or `smmf serve`) answering for itself
  if (!reply.ok) reply.error = error_message(status, text);
  return reply;
}

std::string action_target(const ActionRequest& req) {
  std::string target =
      fmt::format("/api/v1/models/{}/{}", net::encode_component(req.model), to_string(req.action));
  if (!req.worker.empty()) target += "?worker=" + net::encode_component(req.worker);
  return target;
}

std::string scale_body(int replicas) {
  json::object o;
  o["replicas"] = replicas;
  return json::serialize(o);
}

}  // namespace

net::ClientOptions client_options_with_key(const std::string& api_key_flag) {
  net::ClientOptions opts;
  std::string key = api_key_flag;
  if (const char* env = std::getenv("SMMF_API_KEY"); key.empty() && env) key = env;
  if (!key.empty()) opts.default_headers.emplace_back("Authorization", "Bearer " + key);
  return opts;
}

BlockingRunner::BlockingRunner(net::ClientOptions opts)
    : http_(std::make_shared<net::HttpClient>(ioc_.get_executor(), std::move(opts))) {}

BlockingRunner::~BlockingRunner() {
  http_.reset();  // pooled connections go before the io_context they were made on
}

std::string_view to_string(ModelAction a) {
  switch (a) {
    case ModelAction::kStart:
      return "start";
    case ModelAction::kStop:
      return "stop";
    case ModelAction::kRestart:
      return "restart";
    case ModelAction::kScale:
      return "scale";
  }
  return "?";
}

std::string error_message(unsigned status, std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (!ec) {
    if (std::string m = body_error_message(v); !m.empty()) return m;
  }
  std::string text(body.substr(0, 200));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.pop_back();
  if (text.empty()) return fmt::format("HTTP {}", status);
  return fmt::format("HTTP {}: {}", status, text);
}

std::string unreachable_message(std::string_view what, const net::Url& url,
                                const net::ClientError& e) {
  // The client's message often repeats the address ("cannot connect to URL: reason").
  std::string_view detail = e.error.message;
  const std::string repeated = fmt::format("cannot connect to {}: ", url.origin());
  if (detail.starts_with(repeated)) detail.remove_prefix(repeated.size());
  return fmt::format("cannot reach the {} at {}: {}", what, url.origin(), detail);
}

asio::awaitable<Result<json::array>> list_instances(net::HttpClient& http,
                                                    const net::Url& controller, std::string model) {
  std::string target = "/api/v1/instances";
  if (!model.empty()) target += "?model=" + net::encode_component(model);
  net::ClientRequest request = net::ClientRequest::get(std::move(target));
  auto res = co_await http.send(controller, std::move(request));
  if (!res) co_return transport_error(res.error(), controller);
  if (res->status != 200)
    co_return Error::unavailable(fmt::format("the controller at {} answered: {}",
                                             controller.origin(),
                                             error_message(res->status, res->body)));
  boost::system::error_code ec;
  json::value body = json::parse(res->body, ec);
  const json::object* o = ec ? nullptr : body.if_object();
  const json::value* data = o ? o->if_contains("data") : nullptr;
  if (!data || !data->is_array())
    co_return Error::unavailable(fmt::format(
        "the controller at {} answered without a 'data' array: is it an smmf controller?",
        controller.origin()));
  co_return data->get_array();
}

asio::awaitable<Result<ActionReply>> model_action(net::HttpClient& http, const net::Url& controller,
                                                  ActionRequest req) {
  std::string body = req.action == ModelAction::kScale ? scale_body(req.replicas) : std::string();
  // Named locals, not temporaries, in co_await expressions: GCC 12 may destroy those twice.
  net::ClientRequest request = net::ClientRequest::post(action_target(req), std::move(body));
  auto res = co_await http.send(controller, std::move(request));
  if (!res) co_return transport_error(res.error(), controller);
  co_return action_reply(res->status, res->body);
}

}  // namespace smmf::cli
