#include "token_text.h"

#include <cstddef>
#include <cstdint>

namespace smmf::tools {

bool is_valid_utf8(std::string_view bytes) {
  size_t pos = 0;
  while (pos < bytes.size()) {
    const auto lead = static_cast<unsigned char>(bytes[pos]);
    size_t len = 0;
    uint32_t cp = 0;
    uint32_t min_cp = 0;
    if (lead < 0x80) {
      ++pos;
      continue;
    } else if ((lead & 0xe0) == 0xc0) {
      len = 2, cp = lead & 0x1f, min_cp = 0x80;
    } else if ((lead & 0xf0) == 0xe0) {
      len = 3, cp = lead & 0x0f, min_cp = 0x800;
    } else if ((lead & 0xf8) == 0xf0) {
      len = 4, cp = lead & 0x07, min_cp = 0x10000;
    } else {
      return false;  // a continuation byte or 0xf8..0xff where a sequence must start
    }
    if (pos + len > bytes.size()) return false;
    for (size_t i = 1; i < len; ++i) {
      const auto cont = static_cast<unsigned char>(bytes[pos + i]);
      if ((cont & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cont & 0x3f);
    }
    if (cp < min_cp || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    pos += len;
  }
  return true;
}

bool has_unprintable_ascii(std::string_view bytes) {
  for (const char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t' && c != '\n' && c != '\r') || u == 0x7f) return true;
  }
  return false;
}

}  // namespace smmf::tools
