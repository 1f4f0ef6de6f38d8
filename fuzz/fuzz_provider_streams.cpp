// libFuzzer target: the provider translators. First byte: 0 = an Anthropic SSE stream through
// the SseParser into anthropic::StreamDecoder, 1 = an Anthropic Messages response, 2 = a Gemini
// response or stream chunk, 3 = a Gemini batchEmbedContents response.
#include <cstdint>
#include <string>
#include <vector>

#include "engines/anthropic/anthropic_json.h"
#include "engines/gemini/gemini_json.h"
#include "protocol/openai_json.h"
#include "protocol/sse.h"

using namespace smmf;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: {
      protocol::SseParser parser(1 << 16);
      std::vector<protocol::SseEvent> events;
      parser.feed(body, events);
      engines::anthropic::StreamDecoder dec("upstream");
      std::vector<protocol::Delta> deltas;
      for (const auto& ev : events) {
        auto r = dec.on_event(ev.event, ev.data, deltas);
        if (!r || *r) break;  // the engine stops at an error or at message_stop
      }
      (void)dec.usage();
      break;
    }
    case 1:
      if (auto v = protocol::parse_json(body))
        (void)engines::anthropic::parse_messages_response(*v);
      break;
    case 2:
      if (auto v = protocol::parse_json(body)) (void)engines::gemini::decode_response(*v);
      break;
    default:
      if (auto v = protocol::parse_json(body)) (void)engines::gemini::parse_embed_response(*v, 2);
      break;
  }
  return 0;
}
