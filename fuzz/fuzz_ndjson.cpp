// libFuzzer target: the NDJSON line splitter (Ollama / TGI native streams). Lines must not
// depend on where the reads are cut; each complete line is then parsed as JSON as the engines do.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "protocol/ndjson.h"
#include "protocol/openai_json.h"

using namespace smmf::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t limit = 16 + data[0] * 16u;
  std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);

  NdjsonParser whole(limit);
  std::vector<std::string> expected;
  bool whole_ok = whole.feed(stream, expected) && whole.finish(expected);

  NdjsonParser pieces(limit);
  std::vector<std::string> got;
  bool pieces_ok = true;
  for (size_t at = 0; at < stream.size() && pieces_ok;) {
    size_t n = std::min<size_t>(1 + static_cast<unsigned char>(stream[at]) % 5, stream.size() - at);
    pieces_ok = pieces.feed(stream.substr(at, n), got);
    at += n;
  }
  if (pieces_ok) pieces_ok = pieces.finish(got);
  if (whole_ok != pieces_ok || (whole_ok && expected != got)) std::abort();
  for (const auto& line : expected) (void)parse_json(line);
  return 0;
}
