#pragma once
/// Error bodies of the control plane: the OpenAI shape `{"error":{"message","type","param",
/// "code"}}`, with the same ErrorCode -> status/type table as the gateway (gateway/error_map.cpp;
/// the controller may not depend on the gateway, so the small table is repeated here; keep the
/// two in step). Pure functions, thread-safe.
#include <boost/beast/http/status.hpp>
#include <boost/json/object.hpp>

#include "common/error.h"

namespace smmf::controller {

boost::beast::http::status error_status(ErrorCode code);
/// The body for an Error; `code` is the OpenAI-style code ("not_found", ...).
boost::json::object error_body(const Error& e);
/// The body for an error the HTTP server answers by itself (no route, 413, 408, ...).
boost::json::object error_body(boost::beast::http::status status, std::string_view message);

}  // namespace smmf::controller
