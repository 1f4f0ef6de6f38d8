#pragma once
/// Byte-level checks on detokenized text, to decide which tokens a random model may generate.
/// Pure functions.
#include <string_view>

namespace smmf::tools {

/// True if `bytes` is complete, well-formed UTF-8 (no overlongs, surrogates or truncation).
bool is_valid_utf8(std::string_view bytes);

/// True if `bytes` holds a C0 control character other than tab, newline and carriage return,
/// or DEL: valid UTF-8 but unreadable in generated text.
bool has_unprintable_ascii(std::string_view bytes);

}  // namespace smmf::tools
