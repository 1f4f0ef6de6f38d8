#pragma once
/// Writing JSON text straight into a string, for the few hot responses whose shape is fixed
/// (no tree, no allocation but the output's growth). The output is what boost::json::serialize
/// writes for the same values. Pure.
#include <cstdint>
#include <string>
#include <string_view>

namespace smmf::protocol {

/// Appends `s` as a JSON string literal (quotes included), escaped as boost::json::serialize
/// does: `"` `\` and control characters; other bytes (UTF-8) as they are.
void append_json_string(std::string& out, std::string_view s);
void append_json_int(std::string& out, int64_t v);

}  // namespace smmf::protocol
