#include "protocol/openai_json.h"
#include "protocol/json_text.h"

#include "protocol/response_format_json.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fmt/format.h>
#include <cmath>
#include <cstring>

namespace smmf::protocol {
namespace json = boost::json;

namespace {

/// Reads optional typed fields of one JSON object, recording the first error with its parameter.
class FieldReader {
 public:
  FieldReader(const json::object& obj, std::string prefix = {})
      : obj_(obj), prefix_(std::move(prefix)) {
    for (const auto& kv : obj_) present_ |= key_bit(kv.key());
  }

  const json::value* find(std::string_view key) const {
    // Most of the fields looked up are absent: a one-word filter answers those without a
    // search of the object (which compares the key with every member of a small object).
    if ((present_ & key_bit(key)) == 0) return nullptr;
    auto it = obj_.find(key);
    if (it == obj_.end() || it->value().is_null()) return nullptr;
    return &it->value();
  }

  std::optional<double> number(std::string_view key, double lo, double hi) {
    const json::value* v = find(key);
    if (!v || failed()) return std::nullopt;
    double d;
    if (v->is_double())
      d = v->get_double();
    else if (v->is_int64())
      d = static_cast<double>(v->get_int64());
    else if (v->is_uint64())
      d = static_cast<double>(v->get_uint64());
    else
      return fail(key, "must be a number");
    if (!std::isfinite(d) || d < lo || d > hi)
      return fail(key, fmt::format("must be between {} and {}", lo, hi));
    return d;
  }

  std::optional<int64_t> integer(std::string_view key, int64_t lo, int64_t hi) {
    const json::value* v = find(key);
    if (!v || failed()) return std::nullopt;
    int64_t i;
    if (v->is_int64())
      i = v->get_int64();
    else if (v->is_uint64() && v->get_uint64() <= static_cast<uint64_t>(INT64_MAX))
      i = static_cast<int64_t>(v->get_uint64());
    else if (v->is_double() && std::floor(v->get_double()) == v->get_double() &&
             std::abs(v->get_double()) < 9e15)
      i = static_cast<int64_t>(v->get_double());
    else
      return fail(key, "must be an integer");
    if (i < lo || i > hi) return fail(key, fmt::format("must be between {} and {}", lo, hi));
    return i;
  }

  std::optional<bool> boolean(std::string_view key) {
    const json::value* v = find(key);
    if (!v || failed()) return std::nullopt;
    if (!v->is_bool()) return fail(key, "must be a boolean");
    return v->get_bool();
  }

  std::optional<std::string> string(std::string_view key) {
    const json::value* v = find(key);
    if (!v || failed()) return std::nullopt;
    if (!v->is_string()) return fail(key, "must be a string");
    return std::string(v->get_string());
  }

  /// Records an error for `key` and returns nullopt so callers can `return fail(...)`.
  std::nullopt_t fail(std::string_view key, std::string_view what) {
    if (!error_) {
      std::string p = param(key);
      error_ = Error::invalid(fmt::format("'{}' {}", p, what), p);
    }
    return std::nullopt;
  }
  void fail_with(Error e) {
    if (!error_) error_ = std::move(e);
  }
  std::string param(std::string_view key) const {
    return prefix_.empty() ? std::string(key) : fmt::format("{}.{}", prefix_, key);
  }
  bool failed() const { return error_.has_value(); }
  const std::optional<Error>& error() const { return error_; }

 private:
  static uint64_t key_bit(std::string_view k) {
    const size_t h = k.empty() ? 0
                               : k.size() * 31 + static_cast<unsigned char>(k.front()) * 7 +
                                     static_cast<unsigned char>(k.back());
    return uint64_t{1} << (h & 63);
  }

  const json::object& obj_;
  uint64_t present_ = 0;  ///< key_bit of every member
  std::string prefix_;
  std::optional<Error> error_;
};

Result<const json::object*> as_object(const json::value& body) {
  if (!body.is_object()) return Error::invalid("the request body must be a JSON object");
  return &body.get_object();
}

std::string required_model(FieldReader& r) {
  auto model = r.string("model");
  if (!r.failed() && (!model || model->empty())) r.fail("model", "is required");
  return model.value_or("");
}

void read_generation(FieldReader& r, const json::object& obj, const ParseLimits& limits,
                     GenerationParams& g) {
  auto& s = g.sampling;
  if (auto v = r.integer("max_tokens", 1, 1 << 24)) g.max_tokens = static_cast<int>(*v);
  if (auto v = r.integer("max_completion_tokens", 1, 1 << 24)) g.max_tokens = static_cast<int>(*v);
  if (auto v = r.number("temperature", 0, 2)) s.temperature = static_cast<float>(*v);
  if (auto v = r.number("top_p", 0, 1)) s.top_p = static_cast<float>(*v);
  if (auto v = r.integer("top_k", 0, 1 << 20)) s.top_k = static_cast<int>(*v);
  if (auto v = r.number("min_p", 0, 1)) s.min_p = static_cast<float>(*v);
  if (auto v = r.number("typical_p", 0, 1)) s.typical_p = static_cast<float>(*v);
  if (auto v = r.number("presence_penalty", -2, 2)) s.presence_penalty = static_cast<float>(*v);
  if (auto v = r.number("frequency_penalty", -2, 2)) s.frequency_penalty = static_cast<float>(*v);
  if (auto v = r.number("repetition_penalty", 0, 10)) s.repetition_penalty = static_cast<float>(*v);
  if (auto v = r.integer("seed", INT64_MIN, INT64_MAX)) s.seed = static_cast<uint32_t>(*v);
  if (auto v = r.integer("n", 1, limits.max_n)) g.n = static_cast<int>(*v);
  if (auto v = r.boolean("stream")) g.stream = *v;
  if (auto v = r.string("user")) g.user = *v;

  if (const json::value* stop = r.find("stop"); stop && !r.failed()) {
    if (stop->is_string()) {
      if (!stop->get_string().empty()) g.stop.emplace_back(stop->get_string());
    } else if (stop->is_array()) {
      const auto& arr = stop->get_array();
      if (arr.size() > static_cast<size_t>(limits.max_stop))
        r.fail("stop", fmt::format("may hold at most {} strings", limits.max_stop));
      for (const auto& e : arr) {
        if (!e.is_string()) {
          r.fail("stop", "must be a string or an array of strings");
          break;
        }
        if (!e.get_string().empty()) g.stop.emplace_back(e.get_string());
      }
    } else {
      r.fail("stop", "must be a string or an array of strings");
    }
  }

  if (const json::value* opts = r.find("stream_options"); opts && !r.failed()) {
    if (!opts->is_object()) {
      r.fail("stream_options", "must be an object");
    } else if (!g.stream) {
      r.fail("stream_options", "is only allowed when 'stream' is true");
    } else {
      FieldReader o(opts->get_object(), "stream_options");
      if (auto v = o.boolean("include_usage")) g.include_usage = *v;
      if (o.error()) r.fail_with(*o.error());
    }
  }

  if (const json::value* bias = r.find("logit_bias"); bias && !r.failed()) {
    if (!bias->is_object()) {
      r.fail("logit_bias", "must be an object mapping token ids to numbers");
    } else {
      for (const auto& kv : bias->get_object()) {
        char* end = nullptr;
        std::string key(kv.key());
        long id = std::strtol(key.c_str(), &end, 10);
        bool ok_num = kv.value().is_number();
        double b = ok_num ? kv.value().to_number<double>() : 0;
        if (key.empty() || *end != '\0' || id < 0 || id > INT32_MAX || !ok_num || b < -100 ||
            b > 100) {
          r.fail("logit_bias", "must map token ids to numbers between -100 and 100");
          break;
        }
        s.logit_bias.emplace_back(static_cast<int32_t>(id), static_cast<float>(b));
      }
    }
  }

  // Features this server does not implement are rejected rather than silently ignored.
  for (std::string_view key : {"tools", "functions", "tool_choice", "function_call"}) {
    if (auto it = obj.find(key); it != obj.end() && !it->value().is_null() && !r.failed()) {
      bool empty = it->value().is_array() && it->value().get_array().empty();
      bool none = it->value().is_string() && it->value().get_string() == "none";
      if (!empty && !none) r.fail(key, "is not supported by this server");
    }
  }
  if (auto v = r.boolean("logprobs"); v && *v)
    r.fail("logprobs", "is not supported by this server");
  if (const json::value* rf = r.find("response_format"); rf && !r.failed()) {
    auto f = parse_response_format(*rf);
    if (f)
      g.response_format = std::move(*f);
    else
      r.fail_with(f.error());
  }
  if (auto v = r.string("grammar")) g.grammar = *v;
  if (!g.grammar.empty() && g.response_format.type != ResponseFormat::Type::kText)
    r.fail("grammar", "cannot be combined with a JSON response_format");
  if (auto v = r.integer("priority", INT32_MIN, INT32_MAX)) g.priority = static_cast<int>(*v);
}

// messages[i].content; the parameter paths of errors are only built for an error.
Result<std::string> message_content(const json::value* content, size_t msg) {
  if (!content || content->is_null()) return std::string();
  if (content->is_string()) return std::string(content->get_string());
  const std::string param = fmt::format("messages[{}].content", msg);
  if (!content->is_array())
    return Error::invalid(fmt::format("'{}' must be a string or an array of content parts", param),
                          param);
  std::string text;
  size_t i = 0;
  for (const auto& part : content->get_array()) {
    auto path = [&] { return fmt::format("{}[{}]", param, i); };
    const json::object* o = part.if_object();
    const json::value* type = o ? o->if_contains("type") : nullptr;
    if (!type || !type->is_string())
      return Error::invalid(fmt::format("'{}' must be an object with a 'type'", path()), path());
    if (type->get_string() != "text")
      return Error::invalid(fmt::format("'{}': content part type '{}' is not supported", path(),
                                        std::string_view(type->get_string())),
                            path() + ".type");
    const json::value* t = o->if_contains("text");
    if (!t || !t->is_string())
      return Error::invalid(fmt::format("'{}.text' must be a string", path()), path() + ".text");
    text += t->get_string();
    ++i;
  }
  return text;
}

Result<std::vector<std::string>> string_or_strings(const json::value* v, std::string_view key,
                                                   size_t max) {
  std::string k(key);
  if (!v) return Error::invalid(fmt::format("'{}' is required", key), k);
  std::vector<std::string> out;
  if (v->is_string()) {
    out.emplace_back(v->get_string());
  } else if (v->is_array()) {
    const auto& arr = v->get_array();
    if (arr.empty()) return Error::invalid(fmt::format("'{}' must not be empty", key), k);
    if (arr.size() > max)
      return Error::invalid(fmt::format("'{}' may hold at most {} items", key, max), k);
    for (const auto& e : arr) {
      if (!e.is_string())
        return Error::invalid(
            fmt::format("'{}' must be a string or an array of strings (token arrays are not "
                        "supported)",
                        key),
            k);
      out.emplace_back(e.get_string());
    }
  } else {
    return Error::invalid(fmt::format("'{}' must be a string or an array of strings", key), k);
  }
  return out;
}

}  // namespace

Result<json::value> parse_json(std::string_view body, json::storage_ptr sp) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec, std::move(sp));
  if (ec)
    return Error::invalid(fmt::format("the request body is not valid JSON: {}", ec.message()));
  return v;
}

Result<ChatRequest> parse_chat_request(const json::value& body, const ParseLimits& limits) {
  auto obj = as_object(body);
  if (!obj) return obj.error();
  FieldReader r(**obj);
  ChatRequest req;
  req.model = required_model(r);
  read_generation(r, **obj, limits, req.gen);
  if (r.error()) return *r.error();

  const json::value* msgs = r.find("messages");
  if (!msgs || !msgs->is_array() || msgs->get_array().empty())
    return Error::invalid("'messages' must be a non-empty array", "messages");
  req.messages.reserve(msgs->get_array().size());
  size_t i = 0;
  for (const auto& m : msgs->get_array()) {
    const size_t at = i++;
    auto path = [at] { return fmt::format("messages[{}]", at); };
    if (!m.is_object())
      return Error::invalid(fmt::format("'{}' must be an object", path()), path());
    const auto& mo = m.get_object();
    const json::value* role = mo.if_contains("role");
    if (!role || !role->is_string())
      return Error::invalid(fmt::format("'{}.role' is required", path()), path() + ".role");
    std::string_view rv = role->get_string();
    if (rv != "system" && rv != "user" && rv != "assistant" && rv != "developer" && rv != "tool")
      return Error::invalid(
          fmt::format("'{}.role' must be one of system, developer, user, assistant, tool; got '{}'",
                      path(), rv),
          path() + ".role");
    ChatMessage cm;
    cm.role = rv == "developer" ? "system" : std::string(rv);
    auto content = message_content(mo.if_contains("content"), at);
    if (!content) return content.error();
    cm.content = std::move(*content);
    if (const json::value* name = mo.if_contains("name"); name && name->is_string())
      cm.name = name->get_string();
    req.messages.push_back(std::move(cm));
  }
  return req;
}

Result<CompletionRequest> parse_completion_request(const json::value& body,
                                                   const ParseLimits& limits) {
  auto obj = as_object(body);
  if (!obj) return obj.error();
  FieldReader r(**obj);
  CompletionRequest req;
  req.model = required_model(r);
  read_generation(r, **obj, limits, req.gen);
  if (auto v = r.boolean("echo")) req.echo = *v;
  if (auto v = r.string("suffix"); v && !v->empty()) r.fail("suffix", "is not supported");
  if (r.error()) return *r.error();
  auto prompts = string_or_strings(r.find("prompt"), "prompt", limits.max_inputs);
  if (!prompts) return prompts.error();
  req.prompts = std::move(*prompts);
  if (req.prompts.size() * static_cast<size_t>(req.gen.n) > limits.max_inputs)
    return Error::invalid("too many prompts times 'n'", "n");
  return req;
}

Result<EmbeddingRequest> parse_embedding_request(const json::value& body,
                                                 const ParseLimits& limits) {
  auto obj = as_object(body);
  if (!obj) return obj.error();
  FieldReader r(**obj);
  EmbeddingRequest req;
  req.model = required_model(r);
  if (auto v = r.string("encoding_format")) {
    if (*v == "float")
      req.encoding_format = EncodingFormat::kFloat;
    else if (*v == "base64")
      req.encoding_format = EncodingFormat::kBase64;
    else
      r.fail("encoding_format", "must be 'float' or 'base64'");
  }
  if (auto v = r.integer("dimensions", 1, 1 << 20)) req.dimensions = static_cast<int>(*v);
  if (auto v = r.string("user")) req.user = *v;
  if (auto v = r.integer("priority", INT32_MIN, INT32_MAX)) req.priority = static_cast<int>(*v);
  if (r.error()) return *r.error();
  auto inputs = string_or_strings(r.find("input"), "input", limits.max_inputs);
  if (!inputs) return inputs.error();
  for (size_t i = 0; i < inputs->size(); ++i)
    if ((*inputs)[i].empty())
      return Error::invalid(fmt::format("'input[{}]' must not be empty", i), "input");
  req.inputs = std::move(*inputs);
  return req;
}

json::object usage_json(const Usage& u, json::storage_ptr sp) {
  return json::object({{"prompt_tokens", u.prompt_tokens},
                       {"completion_tokens", u.completion_tokens},
                       {"total_tokens", u.total()},
                       {"prompt_tokens_details", {{"cached_tokens", u.cached_tokens}}}},
                      std::move(sp));
}

namespace {

template <size_t N>
void append_usage_text(JsonPiece<N>& out, const Usage& u) {
  out.lit(R"("usage":{"prompt_tokens":)")
      .integer(u.prompt_tokens)
      .lit(R"(,"completion_tokens":)")
      .integer(u.completion_tokens)
      .lit(R"(,"total_tokens":)")
      .integer(u.total())
      .lit(R"(,"prompt_tokens_details":{"cached_tokens":)")
      .integer(u.cached_tokens)
      .lit("}}");
}

// `{"id":..,"object":..,"created":..,"model":..,"choices":[`, the choices by `choice`, then
// `],"usage":{..}}`. `object` is written as it is (a name from the code: nothing to escape).
template <class Choice>
std::string response_text(const ResponseMeta& m, std::string_view object, const GenerationResult& r,
                          Choice choice) {
  std::string out;
  size_t text = 0;
  for (const auto& c : r.choices) text += c.text.size();
  out.reserve(320 + m.id.size() + m.model.size() + text + text / 8);
  JsonPiece<> p(out);
  p.lit(R"({"id":)").string(m.id).lit(R"(,"object":")").raw(object).lit(R"(","created":)");
  p.integer(m.created).lit(R"(,"model":)").string(m.model).lit(R"(,"choices":[)");
  for (size_t i = 0; i < r.choices.size(); ++i) {
    if (i) p.lit(",");
    choice(p, r.choices[i]);
  }
  p.lit("],");
  append_usage_text(p, r.usage);
  p.lit("}");
  p.flush();
  return out;
}

}  // namespace

std::string chat_response_text(const ResponseMeta& m, const GenerationResult& r) {
  return response_text(m, "chat.completion", r, [](JsonPiece<>& p, const Choice& c) {
    p.lit(R"({"index":)").integer(c.index);
    p.lit(R"(,"message":{"role":"assistant","content":)").string(c.text);
    p.lit(R"(},"logprobs":null,"finish_reason":)").string(to_string(c.finish_reason)).lit("}");
  });
}

json::object chat_chunk_json(const ResponseMeta& m, const Delta& d, bool first,
                             bool include_usage) {
  json::object delta;
  if (first) delta["role"] = "assistant";
  if (!d.text.empty() || first) delta["content"] = d.text;
  json::object choice{{"index", d.index}, {"delta", std::move(delta)}, {"logprobs", nullptr}};
  if (d.finish_reason)
    choice["finish_reason"] = to_string(*d.finish_reason);
  else
    choice["finish_reason"] = nullptr;
  json::object out{{"id", m.id},
                   {"object", "chat.completion.chunk"},
                   {"created", m.created},
                   {"model", m.model},
                   {"choices", json::array{std::move(choice)}}};
  if (include_usage) out["usage"] = nullptr;
  return out;
}

std::string completion_response_text(const ResponseMeta& m, const GenerationResult& r) {
  return response_text(m, "text_completion", r, [](JsonPiece<>& p, const Choice& c) {
    p.lit(R"({"text":)").string(c.text).lit(R"(,"index":)").integer(c.index);
    p.lit(R"(,"logprobs":null,"finish_reason":)").string(to_string(c.finish_reason)).lit("}");
  });
}

json::object completion_chunk_json(const ResponseMeta& m, const Delta& d, bool include_usage) {
  json::object choice{{"text", d.text}, {"index", d.index}, {"logprobs", nullptr}};
  if (d.finish_reason)
    choice["finish_reason"] = to_string(*d.finish_reason);
  else
    choice["finish_reason"] = nullptr;
  json::object out{{"id", m.id},
                   {"object", "text_completion"},
                   {"created", m.created},
                   {"model", m.model},
                   {"choices", json::array{std::move(choice)}}};
  if (include_usage) out["usage"] = nullptr;
  return out;
}

json::object usage_chunk_json(const ResponseMeta& m, std::string_view object, const Usage& u) {
  return {{"id", m.id},       {"object", object},         {"created", m.created},
          {"model", m.model}, {"choices", json::array()}, {"usage", usage_json(u)}};
}

json::object embedding_response_json(const std::string& model, const EmbeddingResult& r,
                                     EncodingFormat format) {
  json::array data;
  data.reserve(r.embeddings.size());
  for (size_t i = 0; i < r.embeddings.size(); ++i) {
    json::object item{{"object", "embedding"}, {"index", i}};
    if (format == EncodingFormat::kBase64) {
      item["embedding"] = floats_to_base64(r.embeddings[i]);
    } else {
      json::array vec;
      vec.reserve(r.embeddings[i].size());
      for (float f : r.embeddings[i]) vec.push_back(static_cast<double>(f));
      item["embedding"] = std::move(vec);
    }
    data.push_back(std::move(item));
  }
  return {{"object", "list"},
          {"data", std::move(data)},
          {"model", model},
          {"usage", {{"prompt_tokens", r.prompt_tokens}, {"total_tokens", r.prompt_tokens}}}};
}

json::object model_json(const ModelCard& card) {
  json::object o{{"id", card.id},
                 {"object", "model"},
                 {"created", card.created},
                 {"owned_by", card.owned_by},
                 {"type", to_string(card.type)}};
  if (card.context_length > 0) o["context_length"] = card.context_length;
  return o;
}

json::object models_json(std::span<const ModelCard> models) {
  json::array data;
  for (const auto& m : models) data.push_back(model_json(m));
  return {{"object", "list"}, {"data", std::move(data)}};
}

json::object error_json(std::string_view message, std::string_view type, std::string_view param,
                        std::string_view code) {
  json::object e{{"message", message}, {"type", type}};
  e["param"] = param.empty() ? json::value(nullptr) : json::value(param);
  e["code"] = code.empty() ? json::value(nullptr) : json::value(code);
  return {{"error", std::move(e)}};
}

std::string floats_to_base64(std::span<const float> v) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes(v.size() * sizeof(float), '\0');
  // x86-64 and aarch64 are little-endian, as the format requires.
  static_assert(std::endian::native == std::endian::little);
  // An empty span may have a null data(): memcpy must not see it (UBSan, even for 0 bytes).
  if (!v.empty()) std::memcpy(bytes.data(), v.data(), bytes.size());
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t n = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (size_t rest = bytes.size() - i; rest > 0) {
    uint32_t n = uint8_t(bytes[i]) << 16;
    if (rest == 2) n |= uint8_t(bytes[i + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace smmf::protocol
