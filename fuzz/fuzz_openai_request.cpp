// libFuzzer target: the OpenAI request parsers and validators (chat, completions, embeddings).
// The first byte picks the parser; the rest is the HTTP body. A request that parses must
// survive a round trip through the client-side serializer (what openai_compat sends upstream).
// Chat bodies also go through the tree-less scan: what it accepts, the full parser must accept
// and read the same.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "protocol/openai_client_json.h"
#include "protocol/openai_json.h"

using namespace smmf::protocol;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void fuzz_chat(const boost::json::value& v) {
  auto r = parse_chat_request(v);
  if (!r) return;
  // The upstream body written as text is valid JSON that reads back as the same request.
  boost::system::error_code ec;
  auto body = boost::json::parse(chat_request_text(*r, r->model, r->gen.stream), ec);
  check(!ec);
  auto again = parse_chat_request(body);
  check(again.has_value() && again->messages.size() == r->messages.size());
  for (size_t i = 0; i < r->messages.size(); ++i)
    check(again->messages[i].content == r->messages[i].content &&
          again->messages[i].role == r->messages[i].role);
  check(again->gen.sampling.temperature == r->gen.sampling.temperature &&
        again->gen.stop == r->gen.stop && again->gen.max_tokens == r->gen.max_tokens);
}

void fuzz_completion(const boost::json::value& v) {
  auto r = parse_completion_request(v);
  if (!r) return;
  boost::system::error_code ec;
  auto body = boost::json::parse(completion_request_text(*r, r->model, r->gen.stream), ec);
  check(!ec);
  auto again = parse_completion_request(body);
  check(again.has_value() && again->prompts == r->prompts);
}

void fuzz_embedding(const boost::json::value& v) {
  auto r = parse_embedding_request(v);
  if (!r) return;
  auto again = parse_embedding_request(boost::json::value(embedding_request_json(*r, r->model)));
  check(again.has_value() && again->inputs == r->inputs);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 3 == 0) {
    ChatRequest fast;
    if (scan_chat_request(body, {}, fast)) {
      auto tree = parse_json(body);
      check(tree.has_value());
      auto ref = parse_chat_request(*tree);
      check(ref.has_value() && *ref == fast);
    }
  }
  auto v = parse_json(body);
  if (!v) return 0;
  switch (data[0] % 3) {
    case 0:
      fuzz_chat(*v);
      break;
    case 1:
      fuzz_completion(*v);
      break;
    default:
      fuzz_embedding(*v);
      break;
  }
  return 0;
}
