#pragma once
/// Provider presets of the openai_compat engine: `preset = "<name>"` fills the base URL, the
/// auth header and prefix and the request dialect (which fields the provider rejects, which
/// max-tokens field it wants, whether it takes stream_options) of a known provider. The table is
/// data (presets.cpp); `base_url` and the quirk params override it. Immutable; thread-safe.
#include <span>
#include <string_view>

#include "protocol/openai_client_json.h"

namespace smmf::engines::openai_compat {

struct Preset {
  std::string_view name;
  std::string_view base_url;  ///< up to and including the version path
  std::string_view auth_header = "Authorization";
  std::string_view auth_prefix = "Bearer ";
  bool needs_key = true;  ///< a cloud API: starting without a key is a config error
  protocol::UpstreamDialect dialect;
  std::string_view notes;  ///< one line for the docs and error messages
};

/// Every preset, in documentation order ("azure" is there too: it builds its URL from params).
std::span<const Preset> presets();
const Preset* find_preset(std::string_view name);
/// "openai, deepseek, ..." for error messages.
std::string preset_names();

}  // namespace smmf::engines::openai_compat
