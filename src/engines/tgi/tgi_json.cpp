#include "engines/tgi/tgi_json.h"

#include <fmt/format.h>
#include <boost/json/serialize.hpp>

#include <algorithm>

#include "protocol/openai_client_json.h"

namespace smmf::engines::tgi {
namespace json = boost::json;

namespace {

const json::value* field(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return nullptr;
  return &it->value();
}

int int_field(const json::object& o, std::string_view key) {
  const json::value* v = field(o, key);
  return v && !v->is_double() ? protocol::clamped_int(*v) : 0;
}

/// Length of the longest prefix of `s` that ends on a UTF-8 character boundary.
size_t utf8_safe(std::string_view s, size_t len) {
  while (len > 0 && len < s.size() && (static_cast<unsigned char>(s[len]) & 0xC0) == 0x80) --len;
  return len;
}

TgiOutput read_details(const json::object& details) {
  TgiOutput out;
  if (const json::value* f = field(details, "finish_reason"); f && f->is_string()) {
    out.finish = finish_from_tgi(f->get_string());
    out.stopped_on_sequence = f->get_string() == "stop_sequence";
  }
  out.generated_tokens = int_field(details, "generated_tokens");
  out.prompt_tokens = int_field(details, "input_length");
  if (const json::value* p = field(details, "prefill");
      p && p->is_array() && !p->get_array().empty())
    out.prompt_tokens = static_cast<int>(p->get_array().size());
  return out;
}

}  // namespace

json::object generate_body(const std::string& prompt, const protocol::GenerationParams& g,
                           int default_max_new_tokens) {
  json::object p;
  const auto& s = g.sampling;
  if (g.max_tokens)
    p["max_new_tokens"] = *g.max_tokens;
  else if (default_max_new_tokens > 0)
    p["max_new_tokens"] = default_max_new_tokens;
  bool greedy = s.temperature && *s.temperature == 0.0f;
  p["do_sample"] = !greedy;
  if (s.temperature && !greedy) p["temperature"] = *s.temperature;
  if (!greedy) {
    if (s.top_p && *s.top_p > 0.0f && *s.top_p < 1.0f) p["top_p"] = *s.top_p;
    if (s.top_k && *s.top_k > 0) p["top_k"] = *s.top_k;
    if (s.typical_p && *s.typical_p > 0.0f && *s.typical_p < 1.0f) p["typical_p"] = *s.typical_p;
  }
  if (s.repetition_penalty > 0.0f && s.repetition_penalty != 1.0f)
    p["repetition_penalty"] = s.repetition_penalty;
  if (s.frequency_penalty != 0.0f) p["frequency_penalty"] = s.frequency_penalty;
  if (s.seed) p["seed"] = *s.seed;
  if (!g.stop.empty()) {
    json::array stop;
    for (const auto& st : g.stop) stop.emplace_back(st);
    p["stop"] = std::move(stop);
  }
  p["details"] = true;
  json::object body;
  body["inputs"] = prompt;
  body["parameters"] = std::move(p);
  return body;
}

std::optional<protocol::FinishReason> finish_from_tgi(std::string_view s) {
  if (s == "length") return protocol::FinishReason::kLength;
  if (s == "eos_token" || s == "stop_sequence") return protocol::FinishReason::kStop;
  return std::nullopt;
}

Result<TgiOutput> parse_generate_response(const json::value& v) {
  // /generate answers an object; some deployments wrap it in a one-element array.
  const json::value* one = &v;
  if (v.is_array() && v.get_array().size() == 1) one = &v.get_array()[0];
  if (!one->is_object()) return Error::unavailable("TGI answered something other than an object");
  const json::object& o = one->get_object();
  const json::value* text = field(o, "generated_text");
  if (!text || !text->is_string()) return Error::unavailable("TGI answered no generated_text");
  TgiOutput out;
  if (const json::value* d = field(o, "details"); d && d->is_object())
    out = read_details(d->get_object());
  out.text = text->get_string();
  return out;
}

Result<TgiStreamEvent> parse_stream_event(const json::value& v, std::string_view upstream) {
  if (!v.is_object())
    return Error::unavailable(fmt::format("{} sent an invalid stream event", upstream));
  const json::object& o = v.get_object();
  if (field(o, "error")) return protocol::upstream_error(502, json::serialize(v), upstream);
  TgiStreamEvent ev;
  if (const json::value* tok = field(o, "token"); tok && tok->is_object()) {
    const json::object& t = tok->get_object();
    const json::value* special = field(t, "special");
    const json::value* text = field(t, "text");
    bool is_special = special && special->is_bool() && special->get_bool();
    if (text && text->is_string() && !is_special) ev.text = text->get_string();
  }
  const json::value* details = field(o, "details");
  const json::value* generated = field(o, "generated_text");
  if (details || generated) {
    ev.last = true;
    if (details && details->is_object()) ev.details = read_details(details->get_object());
    if (generated && generated->is_string()) ev.details.text = generated->get_string();
  }
  return ev;
}

StopTrimmer::StopTrimmer(std::vector<std::string> stops) : stops_(std::move(stops)) {
  for (const auto& s : stops_) hold_ = std::max(hold_, s.size());
}

std::string StopTrimmer::push(std::string_view text) {
  pending_ += text;
  if (hold_ == 0) return std::exchange(pending_, {});
  if (pending_.size() < hold_) return {};
  size_t cut = utf8_safe(pending_, pending_.size() - hold_);
  std::string out = pending_.substr(0, cut);
  pending_.erase(0, cut);
  return out;
}

std::string StopTrimmer::finish(bool stopped_on_sequence) {
  if (stopped_on_sequence) trim_stop(pending_, stops_);
  return std::exchange(pending_, {});
}

void trim_stop(std::string& text, const std::vector<std::string>& stops) {
  for (const auto& s : stops) {
    if (!s.empty() && text.size() >= s.size() && text.ends_with(s)) {
      text.resize(text.size() - s.size());
      return;
    }
  }
}

}  // namespace smmf::engines::tgi
