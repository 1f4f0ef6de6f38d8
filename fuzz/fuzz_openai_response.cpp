// libFuzzer target: what the openai_compat engine reads from an upstream: complete responses,
// stream chunks, embedding responses (with base64 vectors) and error bodies. Responses and
// chunks also go through the one-pass scanners: what a scan reads from a body the full parser
// accepts, the full parser must read the same. (A scan may accept what Boost.JSON rejects in
// what it skips or relays as it is: invalid UTF-8, a lone surrogate escape, an exponent too
// long; those are only scanned. Nor does it promise to read a member given twice as Boost.JSON
// does: such bodies are not compared either.)
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "protocol/json_cursor.h"
#include "protocol/openai_client_json.h"
#include "protocol/openai_json.h"
#include "protocol/stream_chunk_scan.h"

using namespace smmf::protocol;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

// Whether some object in `c`'s next value names a member twice (as written: the scanners give
// up on keys with escapes). Boost.JSON keeps one of the two; the scanners do not promise to
// read such a body as it does, so it is not compared.
bool duplicate_keys(detail::JsonCursor& c, int depth = 0) {
  if (depth > detail::JsonCursor::kMaxDepth) return true;
  if (c.eat('[')) {
    if (c.eat(']')) return false;
    do {
      if (duplicate_keys(c, depth + 1)) return true;
    } while (c.eat(','));
    return !c.eat(']');
  }
  if (c.peek() != '{') return !c.skip_value();
  std::vector<std::string_view> keys;
  bool dup = false;
  const bool ok = detail::members(c, [&](std::string_view key) {
    for (auto k : keys) dup = dup || k == key;
    keys.push_back(key);
    return !dup && !duplicate_keys(c, depth + 1);
  });
  return dup || !ok;
}

bool duplicate_keys(std::string_view text) {
  detail::JsonCursor c(text);
  return duplicate_keys(c);
}

void same_usage(const Usage& a, const Usage& b) {
  check(a.prompt_tokens == b.prompt_tokens && a.completion_tokens == b.completion_tokens &&
        a.cached_tokens == b.cached_tokens);
}

void scan_response(std::string_view body) {
  GenerationResult fast;
  if (!scan_generation_response(body, fast)) return;
  auto tree = parse_json(body);
  if (!tree || duplicate_keys(body)) return;
  auto ref = parse_generation_response(*tree);
  check(ref.has_value() && ref->choices.size() == fast.choices.size());
  for (size_t i = 0; i < fast.choices.size(); ++i)
    check(ref->choices[i].index == fast.choices[i].index &&
          ref->choices[i].text == fast.choices[i].text &&
          ref->choices[i].finish_reason == fast.choices[i].finish_reason);
  same_usage(ref->usage, fast.usage);
}

void scan_chunk(std::string_view data) {
  StreamChunkView view;
  std::vector<Delta> deltas;
  if (!scan_stream_chunk(data, view, deltas) || view.needs_full_parse) return;
  auto tree = parse_json(data);
  if (!tree || duplicate_keys(data)) return;
  auto ref = parse_stream_chunk(*tree);
  check(ref.has_value() && ref->deltas.size() == deltas.size());
  for (size_t i = 0; i < deltas.size(); ++i)
    check(ref->deltas[i].index == deltas[i].index && ref->deltas[i].text == deltas[i].text &&
          ref->deltas[i].finish_reason == deltas[i].finish_reason);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  std::string_view body(reinterpret_cast<const char*>(data) + 2, size - 2);
  // Error bodies are taken as they come (any bytes), with any status.
  auto err = upstream_error(100u + data[1] * 2u, body, "upstream");
  (void)err;
  if (data[0] % 3 == 0) scan_response(body);
  if (data[0] % 3 == 1) scan_chunk(body);
  auto v = parse_json(body);
  if (!v) return 0;
  switch (data[0] % 3) {
    case 0:
      (void)parse_generation_response(*v);
      break;
    case 1:
      (void)parse_stream_chunk(*v);
      break;
    default:
      (void)parse_embedding_response(*v);
      break;
  }
  return 0;
}
