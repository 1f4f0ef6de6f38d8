#include "engines/gemini/gemini_json.h"

#include <fmt/format.h>

#include "protocol/openai_client_json.h"

namespace smmf::engines::gemini {
namespace json = boost::json;
using protocol::FinishReason;

namespace {

const json::object* obj(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  return v ? v->if_object() : nullptr;
}
const json::array* arr(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  return v ? v->if_array() : nullptr;
}
std::string str(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}
int num(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  return v ? protocol::clamped_int(*v) : 0;
}

json::object text_part(std::string_view text) {
  json::object p;
  p["text"] = text;
  return p;
}

json::object content(std::string_view role, std::string_view text) {
  json::object c;
  c["role"] = role;
  json::array parts;
  parts.push_back(text_part(text));
  c["parts"] = std::move(parts);
  return c;
}

std::optional<FinishReason> finish_of(std::string_view r) {
  if (r.empty() || r == "FINISH_REASON_UNSPECIFIED") return std::nullopt;
  if (r == "MAX_TOKENS") return FinishReason::kLength;
  return FinishReason::kStop;  // STOP, SAFETY, RECITATION, LANGUAGE, BLOCKLIST, OTHER, ...
}

}  // namespace

std::string model_path(std::string_view model) {
  if (model.find('/') != std::string_view::npos) return std::string(model);
  return fmt::format("models/{}", model);
}

Result<json::object> generate_request(const protocol::ChatRequest& r) {
  json::array contents;
  json::array system_parts;
  std::string last_role;
  for (size_t i = 0; i < r.messages.size(); ++i) {
    const auto& m = r.messages[i];
    if (m.role == "system" || m.role == "developer") {
      system_parts.push_back(text_part(m.content));
      continue;
    }
    std::string_view role;
    if (m.role == "user")
      role = "user";
    else if (m.role == "assistant")
      role = "model";
    else
      return Error::unsupported(
          fmt::format("role '{}' is not supported by the gemini engine", m.role),
          fmt::format("messages[{}].role", i));
    if (role == last_role) {
      contents.back().as_object()["parts"].as_array().push_back(text_part(m.content));
      continue;
    }
    contents.push_back(content(role, m.content));
    last_role = role;
  }
  if (contents.empty())
    return Error::invalid("messages must hold at least one user or assistant message", "messages");
  json::object o;
  o["contents"] = std::move(contents);
  if (!system_parts.empty()) {
    json::object si;
    si["parts"] = std::move(system_parts);
    o["systemInstruction"] = std::move(si);
  }
  json::object g;
  const auto& s = r.gen.sampling;
  if (!r.gen.stop.empty()) {
    json::array stop;
    for (const auto& x : r.gen.stop) stop.push_back(json::string(x));
    g["stopSequences"] = std::move(stop);
  }
  if (r.gen.max_tokens) g["maxOutputTokens"] = *r.gen.max_tokens;
  if (s.temperature) g["temperature"] = *s.temperature;
  if (s.top_p) g["topP"] = *s.top_p;
  if (s.top_k) g["topK"] = *s.top_k;
  if (r.gen.n != 1) g["candidateCount"] = r.gen.n;
  if (s.seed) g["seed"] = *s.seed;
  if (s.presence_penalty != 0) g["presencePenalty"] = s.presence_penalty;
  if (s.frequency_penalty != 0) g["frequencyPenalty"] = s.frequency_penalty;
  if (!g.empty()) o["generationConfig"] = std::move(g);
  return o;
}

Result<Decoded> decode_response(const json::value& v) {
  const json::object* top = v.if_object();
  if (!top) return Error::unavailable("gemini response is not a JSON object");
  Decoded out;
  const json::array* candidates = arr(*top, "candidates");
  if (!candidates || candidates->empty()) {
    if (const json::object* pf = obj(*top, "promptFeedback")) {
      std::string reason = str(*pf, "blockReason");
      if (!reason.empty())
        return Error::invalid(fmt::format("the prompt was blocked by Gemini ({})", reason),
                              "messages");
    }
  }
  if (candidates) {
    for (size_t i = 0; i < candidates->size(); ++i) {
      const json::object* c = (*candidates)[i].if_object();
      if (!c) continue;
      protocol::Delta d;
      d.index = c->contains("index") ? num(*c, "index") : static_cast<int>(i);
      if (const json::object* ct = obj(*c, "content"))
        if (const json::array* parts = arr(*ct, "parts"))
          for (const auto& p : *parts)
            if (const json::object* po = p.if_object()) {
              // Thought summaries are not part of the answer.
              const json::value* thought = po->if_contains("thought");
              if (!(thought && thought->is_bool() && thought->get_bool()))
                d.text += str(*po, "text");
            }
      d.finish_reason = finish_of(str(*c, "finishReason"));
      if (!d.text.empty() || d.finish_reason) out.deltas.push_back(std::move(d));
    }
  }
  if (const json::object* u = obj(*top, "usageMetadata")) {
    protocol::Usage usage;
    usage.prompt_tokens = num(*u, "promptTokenCount");
    usage.completion_tokens =
        protocol::clamped_sum({num(*u, "candidatesTokenCount"), num(*u, "thoughtsTokenCount")});
    usage.cached_tokens = num(*u, "cachedContentTokenCount");
    out.usage = usage;
  }
  return out;
}

json::object embed_request(const protocol::EmbeddingRequest& r, std::string_view model_path) {
  json::array requests;
  for (const auto& input : r.inputs) {
    json::object one;
    one["model"] = model_path;
    json::object c;
    json::array parts;
    parts.push_back(text_part(input));
    c["parts"] = std::move(parts);
    one["content"] = std::move(c);
    if (r.dimensions) one["outputDimensionality"] = *r.dimensions;
    requests.push_back(std::move(one));
  }
  json::object o;
  o["requests"] = std::move(requests);
  return o;
}

Result<protocol::EmbeddingResult> parse_embed_response(const json::value& v, size_t expected) {
  const json::object* top = v.if_object();
  const json::array* embeddings = top ? arr(*top, "embeddings") : nullptr;
  if (!embeddings) return Error::unavailable("gemini response has no 'embeddings' array");
  if (embeddings->size() != expected)
    return Error::unavailable(
        fmt::format("gemini returned {} embeddings for {} inputs", embeddings->size(), expected));
  protocol::EmbeddingResult out;
  for (const auto& e : *embeddings) {
    const json::object* eo = e.if_object();
    const json::array* values = eo ? arr(*eo, "values") : nullptr;
    if (!values) return Error::unavailable("gemini embedding has no 'values'");
    std::vector<float> vec;
    vec.reserve(values->size());
    for (const auto& x : *values) {
      if (!x.is_number()) return Error::unavailable("gemini embedding has a non-number");
      vec.push_back(static_cast<float>(x.to_number<double>()));
    }
    out.embeddings.push_back(std::move(vec));
  }
  return out;
}

}  // namespace smmf::engines::gemini
