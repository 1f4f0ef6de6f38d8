// libFuzzer target: the incremental SSE parser that reads upstream streams. The input is cut
// into pieces at fuzzer-chosen points (as TCP reads would), and the events must not depend on
// where the cuts fall. Framing what we send must parse back to the same data.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "protocol/sse.h"

using namespace smmf::protocol;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool same(const std::vector<SseEvent>& a, const std::vector<SseEvent>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].event != b[i].event || a[i].data != b[i].data || a[i].id != b[i].id) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  const size_t limit = fdp.ConsumeIntegralInRange<size_t>(16, 4096);
  const std::string stream = fdp.ConsumeRemainingBytesAsString();

  SseParser whole(limit);
  std::vector<SseEvent> expected;
  const bool whole_ok = whole.feed(stream, expected);

  // Same bytes, cut into pieces of 1..7 bytes whose sizes come from the stream itself.
  SseParser pieces(limit);
  std::vector<SseEvent> got;
  bool pieces_ok = true;
  for (size_t at = 0; at < stream.size() && pieces_ok;) {
    size_t n = 1 + static_cast<unsigned char>(stream[at]) % 7;
    n = std::min(n, stream.size() - at);
    pieces_ok = pieces.feed(std::string_view(stream).substr(at, n), got);
    at += n;
  }
  check(whole_ok == pieces_ok);
  if (whole_ok) check(same(expected, got));

  // Round trip of our own framing: any data without CR parses back unchanged.
  if (stream.find('\r') == std::string::npos && stream.size() < limit / 2) {
    SseParser rt(limit);
    std::vector<SseEvent> back;
    check(rt.feed(format_sse(stream, "message"), back));
    check(back.size() == 1 && back[0].data == stream);
  }
  return 0;
}
