#pragma once
/// The dashboard's static files (web/), compiled into the binary by cmake/embed_web.cmake.
/// Immutable data; safe to read from any thread.
#include <span>
#include <string_view>

namespace smmf::dashboard {

struct WebAsset {
  std::string_view path;          ///< relative to web/, e.g. "app.js"
  std::string_view content_type;  ///< e.g. "text/javascript; charset=utf-8"
  std::string_view body;
};

std::span<const WebAsset> web_assets();

}  // namespace smmf::dashboard
