#include "protocol/openai_client_json.h"

#include "protocol/json_text.h"
#include "protocol/response_format_json.h"

#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace smmf::protocol {
namespace json = boost::json;

namespace {

void put_generation(JsonObjectText& o, const GenerationParams& g, bool stream,
                    const UpstreamDialect& d) {
  using F = UpstreamDialect;
  auto keep = [&](uint32_t field) { return (d.omit & field) == 0; };
  const auto& s = g.sampling;
  if (g.max_tokens) o.integer(d.max_tokens_field, *g.max_tokens);
  if (s.temperature) o.number("temperature", std::min(*s.temperature, d.temperature_max));
  if (s.top_p) o.number("top_p", *s.top_p);
  if (s.top_k && keep(F::kTopK)) o.integer("top_k", *s.top_k);
  if (s.min_p && keep(F::kMinP)) o.number("min_p", *s.min_p);
  if (s.typical_p && keep(F::kTypicalP)) o.number("typical_p", *s.typical_p);
  if (s.presence_penalty != 0 && keep(F::kPenalties))
    o.number("presence_penalty", s.presence_penalty);
  if (s.frequency_penalty != 0 && keep(F::kPenalties))
    o.number("frequency_penalty", s.frequency_penalty);
  if (s.repetition_penalty != 1 && keep(F::kRepetitionPenalty))
    o.number("repetition_penalty", s.repetition_penalty);
  if (s.seed && keep(F::kSeed)) o.integer(d.seed_field, *s.seed);
  if (!s.logit_bias.empty() && keep(F::kLogitBias)) {
    JsonObjectText bias(o.key("logit_bias"));
    const auto& lb = s.logit_bias;
    for (size_t i = 0; i < lb.size(); ++i) {
      // A token listed twice keeps its last bias, as in an object built key by key.
      bool later = false;
      for (size_t j = i + 1; j < lb.size() && !later; ++j) later = lb[j].first == lb[i].first;
      if (!later) bias.number(std::to_string(lb[i].first), lb[i].second);
    }
    bias.close();
  }
  if (!g.stop.empty()) {
    std::string& out = o.key("stop");
    out += '[';
    for (size_t i = 0; i < g.stop.size(); ++i) {
      if (i) out += ',';
      append_json_string(out, g.stop[i]);
    }
    out += ']';
  }
  if (g.n != 1) o.integer("n", g.n);
  if (g.response_format.type != ResponseFormat::Type::kText)
    o.raw("response_format", json::serialize(response_format_json(g.response_format)));
  if (!g.grammar.empty()) o.string("grammar", g.grammar);
  if (g.priority != 0) o.integer("priority", g.priority);  // vLLM and SMMF; others ignore it
  if (!g.user.empty() && keep(F::kUser)) o.string("user", g.user);
  if (stream) {
    o.boolean("stream", true);
    if (d.stream_usage) o.raw("stream_options", R"({"include_usage":true})");
  }
}

const json::object* object_at(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v ? v->if_object() : nullptr;
}

int int_at(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v ? clamped_int(*v) : 0;
}

std::optional<Usage> usage_of(const json::object& o) {
  const json::object* u = object_at(o, "usage");
  if (!u)
    if (const json::object* xg = object_at(o, "x_groq")) u = object_at(*xg, "usage");
  if (!u) return std::nullopt;
  Usage usage;
  usage.prompt_tokens = int_at(*u, "prompt_tokens");
  usage.completion_tokens = int_at(*u, "completion_tokens");
  if (const json::object* d = object_at(*u, "prompt_tokens_details"))
    usage.cached_tokens = int_at(*d, "cached_tokens");
  return usage;
}

std::string string_at(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

Result<const json::object*> top_object(const json::value& v, std::string_view what) {
  if (!v.is_object())
    return Error::unavailable(fmt::format("upstream {} is not a JSON object", what));
  return &v.get_object();
}

bool decode_base64_floats(std::string_view in, std::vector<float>& out) {
  static constexpr auto kTable = [] {
    std::array<int8_t, 256> t{};
    t.fill(-1);
    const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i) t[static_cast<uint8_t>(a[i])] = static_cast<int8_t>(i);
    return t;
  }();
  std::string bytes;
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = in.find('=');
  if (pad != std::string_view::npos) {
    // Padding ends the data: at most two '=' and nothing after them.
    if (in.size() - pad > 2 || in.find_first_not_of('=', pad) != std::string_view::npos)
      return false;
    in = in.substr(0, pad);
  }
  for (char c : in) {
    int8_t d = kTable[static_cast<uint8_t>(c)];
    if (d < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  // 6 leftover bits mean a truncated quantum ("A"); 2 or 4 are the padding of a full one.
  if (bits >= 6 || bytes.size() % sizeof(float) != 0) return false;
  out.resize(bytes.size() / sizeof(float));
  if (!bytes.empty()) std::memcpy(out.data(), bytes.data(), bytes.size());
  return true;
}

}  // namespace

int clamped_int(const json::value& v) {
  constexpr int64_t kMin = std::numeric_limits<int>::min(), kMax = std::numeric_limits<int>::max();
  if (v.is_int64()) return static_cast<int>(std::clamp<int64_t>(v.get_int64(), kMin, kMax));
  if (v.is_uint64()) return static_cast<int>(std::min<uint64_t>(v.get_uint64(), kMax));
  if (v.is_double()) {
    double d = v.get_double();
    if (std::isnan(d)) return 0;
    return static_cast<int>(std::clamp(d, static_cast<double>(kMin), static_cast<double>(kMax)));
  }
  return 0;
}

int64_t clamped_int64(const json::value& v) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) return static_cast<int64_t>(std::min<uint64_t>(v.get_uint64(), kMax));
  if (v.is_double()) {
    const double d = v.get_double();
    if (std::isnan(d)) return 0;
    constexpr double kLimit = 9223372036854775808.0;  // 2^63: the first double beyond the range
    if (d >= kLimit) return kMax;
    if (d < -kLimit) return std::numeric_limits<int64_t>::min();
    return static_cast<int64_t>(d);
  }
  return 0;
}

std::optional<FinishReason> finish_reason_from_string(std::string_view s) {
  if (s == "length") return FinishReason::kLength;
  if (s.empty()) return std::nullopt;
  // stop, eos, end_turn, tool_calls, content_filter: the choice ended.
  return FinishReason::kStop;
}

std::string chat_request_text(const ChatRequest& r, std::string_view model, bool stream,
                              const UpstreamDialect& dialect) {
  std::string out;
  size_t text = 0;
  for (const auto& m : r.messages) text += m.content.size() + m.role.size() + m.name.size();
  out.reserve(256 + model.size() + text + text / 8 + 40 * r.messages.size());
  {
    JsonPiece<> p(out);
    p.lit(R"({"model":)").string(model).lit(R"(,"messages":[)");
    for (size_t i = 0; i < r.messages.size(); ++i) {
      const auto& m = r.messages[i];
      if (i) p.lit(",");
      p.lit(R"({"role":)").string(m.role).lit(R"(,"content":)").string(m.content);
      if (!m.name.empty()) p.lit(R"(,"name":)").string(m.name);
      p.lit("}");
    }
    p.lit("]");
  }
  JsonObjectText o(out, 2);  // continues after "model" and "messages"
  put_generation(o, r.gen, stream, dialect);
  o.close();
  return out;
}

std::string completion_request_text(const CompletionRequest& r, std::string_view model, bool stream,
                                    const UpstreamDialect& dialect) {
  std::string out;
  JsonObjectText o(out);
  o.string("model", model);
  if (r.prompts.size() == 1) {
    o.string("prompt", r.prompts[0]);
  } else {
    o.key("prompt") += '[';
    for (size_t i = 0; i < r.prompts.size(); ++i) {
      if (i) out += ',';
      append_json_string(out, r.prompts[i]);
    }
    out += ']';
  }
  if (r.echo) o.boolean("echo", true);
  put_generation(o, r.gen, stream, dialect);
  o.close();
  return out;
}

json::object embedding_request_json(const EmbeddingRequest& r, std::string_view model) {
  json::array input;
  for (const auto& x : r.inputs) input.push_back(json::string(x));
  json::object o{{"model", model}, {"input", std::move(input)}, {"encoding_format", "base64"}};
  if (r.dimensions) o["dimensions"] = *r.dimensions;
  if (!r.user.empty()) o["user"] = r.user;
  if (r.priority != 0) o["priority"] = r.priority;
  return o;
}

Result<GenerationResult> parse_generation_response(const json::value& v) {
  auto top = top_object(v, "response");
  if (!top) return top.error();
  const json::value* choices = (*top)->if_contains("choices");
  if (!choices || !choices->is_array())
    return Error::unavailable("upstream response has no 'choices' array");
  GenerationResult r;
  for (const auto& c : choices->get_array()) {
    const json::object* co = c.if_object();
    if (!co) return Error::unavailable("upstream response has a malformed choice");
    Choice choice;
    choice.index = int_at(*co, "index");
    if (const json::object* msg = object_at(*co, "message"))
      choice.text = string_at(*msg, "content");
    else
      choice.text = string_at(*co, "text");
    choice.finish_reason =
        finish_reason_from_string(string_at(*co, "finish_reason")).value_or(FinishReason::kStop);
    r.choices.push_back(std::move(choice));
  }
  if (auto u = usage_of(**top)) r.usage = *u;
  return r;
}

Result<ChunkData> parse_stream_chunk(const json::value& v) {
  auto top = top_object(v, "stream chunk");
  if (!top) return top.error();
  ChunkData out;
  if (const json::value* choices = (*top)->if_contains("choices"); choices && choices->is_array()) {
    for (const auto& c : choices->get_array()) {
      const json::object* co = c.if_object();
      if (!co) continue;
      Delta d;
      d.index = int_at(*co, "index");
      if (const json::object* delta = object_at(*co, "delta"))
        d.text = string_at(*delta, "content");
      else
        d.text = string_at(*co, "text");
      d.finish_reason = finish_reason_from_string(string_at(*co, "finish_reason"));
      if (!d.text.empty() || d.finish_reason) out.deltas.push_back(std::move(d));
      if (auto u = usage_of(*co)) out.usage = *u;  // Moonshot: usage inside the last choice
    }
  }
  if (auto u = usage_of(**top)) out.usage = *u;
  return out;
}

Result<EmbeddingResult> parse_embedding_response(const json::value& v) {
  auto top = top_object(v, "response");
  if (!top) return top.error();
  const json::value* data = (*top)->if_contains("data");
  if (!data || !data->is_array()) return Error::unavailable("upstream response has no 'data'");
  EmbeddingResult r;
  r.embeddings.resize(data->get_array().size());
  for (const auto& item : data->get_array()) {
    const json::object* io = item.if_object();
    if (!io) return Error::unavailable("upstream embedding item is not an object");
    size_t index = static_cast<size_t>(int_at(*io, "index"));
    if (index >= r.embeddings.size())
      return Error::unavailable("upstream embedding index out of range");
    const json::value* e = io->if_contains("embedding");
    auto& vec = r.embeddings[index];
    if (e && e->is_string()) {
      if (!decode_base64_floats(e->get_string(), vec))
        return Error::unavailable("upstream embedding is not valid base64 float32");
    } else if (e && e->is_array()) {
      for (const auto& x : e->get_array()) {
        if (!x.is_number()) return Error::unavailable("upstream embedding has a non-number");
        vec.push_back(static_cast<float>(x.to_number<double>()));
      }
    } else {
      return Error::unavailable("upstream embedding item has no 'embedding'");
    }
  }
  if (auto u = usage_of(**top)) r.prompt_tokens = u->prompt_tokens;
  return r;
}

Error upstream_error(unsigned status, std::string_view body, std::string_view upstream) {
  std::string message;
  std::string param;
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (!ec && v.is_object()) {
    const json::object& o = v.get_object();
    if (const json::object* e = object_at(o, "error")) {
      message = string_at(*e, "message");
      param = string_at(*e, "param");
    } else if (const json::value* es = o.if_contains("error"); es && es->is_string()) {
      message = es->get_string();  // TGI and others: {"error": "..."}
    } else {
      message = string_at(o, "message");
      if (message.empty()) message = string_at(o, "detail");
      if (message.empty()) message = string_at(o, "msg");  // {"code": ..., "msg": "..."}
    }
  }
  if (message.empty()) {
    message = std::string(body.substr(0, 300));
    if (message.empty()) message = fmt::format("HTTP {}", status);
  }
  ErrorCode code = ErrorCode::kInvalidArgument;
  if (status >= 500)
    code = ErrorCode::kUnavailable;
  else if (status == 429)
    code = ErrorCode::kResourceExhausted;
  else if (status == 401)
    code = ErrorCode::kUnauthenticated;
  else if (status == 403)
    code = ErrorCode::kPermissionDenied;
  else if (status == 404)
    code = ErrorCode::kNotFound;
  else if (status == 408)
    code = ErrorCode::kDeadlineExceeded;
  Error e{code, fmt::format("{} (from {})", message, upstream), param};
  e.http_status = static_cast<int>(status);
  return e;
}

}  // namespace smmf::protocol
