#include "engines/anthropic/anthropic_json.h"

#include <fmt/format.h>
#include <boost/json/parse.hpp>

#include "protocol/openai_client_json.h"

namespace smmf::engines::anthropic {
namespace json = boost::json;
using protocol::FinishReason;

namespace {

const json::object* obj(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  return v ? v->if_object() : nullptr;
}
std::string str(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}
int num(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  return v ? protocol::clamped_int(*v) : 0;
}

// input_tokens counts only uncached input; cache reads and writes are input too.
void read_usage(const json::object& u, protocol::Usage& usage, bool input) {
  if (input) {
    usage.cached_tokens = num(u, "cache_read_input_tokens");
    usage.prompt_tokens = protocol::clamped_sum(
        {num(u, "input_tokens"), usage.cached_tokens, num(u, "cache_creation_input_tokens")});
  }
  if (u.contains("output_tokens")) usage.completion_tokens = num(u, "output_tokens");
}

std::optional<FinishReason> finish_of(std::string_view stop_reason) {
  if (stop_reason.empty()) return std::nullopt;
  if (stop_reason == "max_tokens") return FinishReason::kLength;
  return FinishReason::kStop;  // end_turn, stop_sequence, tool_use, pause_turn, refusal
}

json::object message(std::string_view role, std::string text) {
  json::object m;
  m["role"] = role;
  m["content"] = std::move(text);
  return m;
}

}  // namespace

Result<json::object> messages_request(const protocol::ChatRequest& r, std::string_view model,
                                      int default_max_tokens, bool stream) {
  if (r.gen.n != 1) return Error::unsupported("the anthropic engine supports only n = 1", "n");
  std::string system;
  json::array messages;
  std::string last_role;
  for (size_t i = 0; i < r.messages.size(); ++i) {
    const auto& m = r.messages[i];
    if (m.role == "system" || m.role == "developer") {
      if (!system.empty()) system += "\n\n";
      system += m.content;
      continue;
    }
    if (m.role != "user" && m.role != "assistant")
      return Error::unsupported(
          fmt::format("role '{}' is not supported by the anthropic engine", m.role),
          fmt::format("messages[{}].role", i));
    if (m.role == last_role) {
      // The API wants alternating turns: merge consecutive messages of one role.
      json::string& prev = messages.back().as_object()["content"].as_string();
      prev.append("\n\n");
      prev.append(m.content);
      continue;
    }
    messages.push_back(message(m.role, m.content));
    last_role = m.role;
  }
  if (messages.empty())
    return Error::invalid("messages must hold at least one user or assistant message", "messages");
  json::object o;
  o["model"] = model;
  o["messages"] = std::move(messages);
  o["max_tokens"] = r.gen.max_tokens.value_or(default_max_tokens);
  if (!system.empty()) o["system"] = system;
  const auto& s = r.gen.sampling;
  if (s.temperature) o["temperature"] = *s.temperature;
  if (s.top_p) o["top_p"] = *s.top_p;
  if (s.top_k) o["top_k"] = *s.top_k;
  if (!r.gen.stop.empty()) {
    json::array stop;
    for (const auto& x : r.gen.stop) stop.push_back(json::string(x));
    o["stop_sequences"] = std::move(stop);
  }
  if (!r.gen.user.empty()) {
    json::object meta;
    meta["user_id"] = r.gen.user;
    o["metadata"] = std::move(meta);
  }
  if (stream) o["stream"] = true;
  return o;
}

Result<protocol::GenerationResult> parse_messages_response(const json::value& v) {
  const json::object* top = v.if_object();
  if (!top) return Error::unavailable("anthropic response is not a JSON object");
  const json::value* content = top->if_contains("content");
  if (!content || !content->is_array())
    return Error::unavailable("anthropic response has no 'content' array");
  protocol::Choice c;
  for (const auto& block : content->get_array()) {
    const json::object* b = block.if_object();
    if (b && str(*b, "type") == "text") c.text += str(*b, "text");
  }
  c.finish_reason = finish_of(str(*top, "stop_reason")).value_or(FinishReason::kStop);
  protocol::GenerationResult out;
  out.choices.push_back(std::move(c));
  if (const json::object* u = obj(*top, "usage")) read_usage(*u, out.usage, true);
  return out;
}

unsigned status_of_error_type(std::string_view type) {
  struct Row {
    std::string_view type;
    unsigned status;
  };
  static constexpr Row kRows[] = {
      {"invalid_request_error", 400}, {"authentication_error", 401},
      {"billing_error", 402},         {"permission_error", 403},
      {"not_found_error", 404},       {"request_too_large", 413},
      {"rate_limit_error", 429},      {"api_error", 500},
      {"timeout_error", 504},         {"overloaded_error", 529},
  };
  for (const auto& r : kRows)
    if (r.type == type) return r.status;
  return 502;
}

Result<bool> StreamDecoder::on_event(std::string_view event, std::string_view data,
                                     std::vector<protocol::Delta>& out) {
  boost::system::error_code ec;
  json::value v = json::parse(data, ec);
  if (ec || !v.is_object())
    return Error::unavailable(fmt::format("{} sent an invalid stream event", upstream_));
  const json::object& o = v.get_object();
  std::string type = str(o, "type");
  if (type.empty()) type = event;
  if (type == "error") {
    std::string etype;
    if (const json::object* e = obj(o, "error")) etype = str(*e, "type");
    return protocol::upstream_error(status_of_error_type(etype), data, upstream_);
  }
  if (type == "message_start") {
    if (const json::object* m = obj(o, "message"))
      if (const json::object* u = obj(*m, "usage")) read_usage(*u, usage_, true);
  } else if (type == "content_block_start") {
    if (const json::object* b = obj(o, "content_block"))
      if (str(*b, "type") == "text" && !str(*b, "text").empty())
        out.push_back(protocol::Delta{0, str(*b, "text"), std::nullopt});
  } else if (type == "content_block_delta") {
    if (const json::object* d = obj(o, "delta"))
      if (str(*d, "type") == "text_delta")
        out.push_back(protocol::Delta{0, str(*d, "text"), std::nullopt});
  } else if (type == "message_delta") {
    if (const json::object* u = obj(o, "usage"))
      read_usage(*u, usage_, u->contains("input_tokens"));
    if (const json::object* d = obj(o, "delta"))
      if (auto f = finish_of(str(*d, "stop_reason")); f && !finished_) {
        out.push_back(protocol::Delta{0, "", f});
        finished_ = true;
      }
  } else if (type == "message_stop") {
    if (!finished_) out.push_back(protocol::Delta{0, "", FinishReason::kStop});
    finished_ = true;
    return true;
  }
  // ping, content_block_stop and unknown (future) events carry nothing we relay.
  return false;
}

}  // namespace smmf::engines::anthropic
