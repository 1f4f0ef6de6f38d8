#pragma once
/// The one table from ErrorCode to HTTP status and OpenAI error type/code, shared by every
/// role that answers HTTP (API server, worker, controller).
#include <boost/beast/http/status.hpp>
#include <boost/json/object.hpp>

#include "common/error.h"

namespace smmf::protocol {

struct HttpError {
  boost::beast::http::status status;
  std::string_view type;  ///< OpenAI error "type"
  std::string_view code;  ///< OpenAI error "code" (may be empty)
};

HttpError map_error(ErrorCode code);
/// The status to answer an Error with: an upstream's status when it carries one.
boost::beast::http::status error_status(const Error& e);
/// The OpenAI error body for an Error.
boost::json::object error_body(const Error& e);
/// The OpenAI error body for an error the HTTP layer itself answers (404 route, 413, ...).
boost::json::object error_body(boost::beast::http::status status, std::string_view message);

}  // namespace smmf::protocol
