// libFuzzer target: what the openai_compat engine reads from an upstream: complete responses,
// stream chunks, embedding responses (with base64 vectors) and error bodies.
#include <cstdint>
#include <string_view>

#include "protocol/openai_client_json.h"
#include "protocol/openai_json.h"

using namespace smmf::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  std::string_view body(reinterpret_cast<const char*>(data) + 2, size - 2);
  // Error bodies are taken as they come (any bytes), with any status.
  auto err = upstream_error(100u + data[1] * 2u, body, "upstream");
  (void)err;
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
