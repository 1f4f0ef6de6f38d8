#pragma once
/// JSON <-> ResponseFormat (OpenAI's `response_format`). Pure functions, thread-safe.
/// Errors name the parameter "response_format".
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "common/error.h"
#include "protocol/openai_types.h"

namespace smmf::protocol {

/// {"type":"text"} | {"type":"json_object"} |
/// {"type":"json_schema","json_schema":{"name":..., "schema":{...}, "strict":bool}}.
/// The schema must be a JSON object; whether an engine can compile it is the engine's check.
Result<ResponseFormat> parse_response_format(const boost::json::value& v);

/// The request field for an upstream OpenAI-compatible server; null for kText.
boost::json::value response_format_json(const ResponseFormat& f);

}  // namespace smmf::protocol
