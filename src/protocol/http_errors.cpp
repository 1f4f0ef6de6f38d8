#include "protocol/http_errors.h"

#include "protocol/openai_json.h"

namespace smmf::protocol {
using boost::beast::http::status;

HttpError map_error(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return {status::bad_request, "invalid_request_error", ""};
    case ErrorCode::kNotFound:
      return {status::not_found, "invalid_request_error", "not_found"};
    case ErrorCode::kAlreadyExists:
      return {status::conflict, "invalid_request_error", "conflict"};
    case ErrorCode::kUnavailable:
      return {status::service_unavailable, "service_unavailable_error", "unavailable"};
    case ErrorCode::kUnauthenticated:
      return {status::unauthorized, "authentication_error", "invalid_api_key"};
    case ErrorCode::kPermissionDenied:
      return {status::forbidden, "permission_error", "permission_denied"};
    case ErrorCode::kResourceExhausted:
      return {status::too_many_requests, "rate_limit_error", "rate_limit_exceeded"};
    case ErrorCode::kDeadlineExceeded:
      return {status::gateway_timeout, "timeout_error", "timeout"};
    case ErrorCode::kCancelled:
      return {static_cast<status>(499), "cancelled_error", "client_closed_request"};
    case ErrorCode::kInternal:
      return {status::internal_server_error, "server_error", ""};
    case ErrorCode::kUnsupported:
      return {status::bad_request, "invalid_request_error", "unsupported"};
    case ErrorCode::kPayloadTooLarge:
      return {status::payload_too_large, "invalid_request_error", "payload_too_large"};
  }
  return {status::internal_server_error, "server_error", ""};
}

boost::beast::http::status error_status(const Error& e) {
  if (e.http_status >= 400 && e.http_status <= 599) return static_cast<status>(e.http_status);
  return map_error(e.code).status;
}

boost::json::object error_body(const Error& e) {
  HttpError h = map_error(e.code);
  // OpenAI's code for an unknown model.
  if (e.code == ErrorCode::kNotFound && e.param == "model") h.code = "model_not_found";
  return error_json(e.message, h.type, e.param, h.code);
}

boost::json::object error_body(status s, std::string_view message) {
  std::string_view type = "invalid_request_error";
  std::string_view code;
  switch (s) {
    case status::not_found:
      code = "not_found";
      break;
    case status::method_not_allowed:
      code = "method_not_allowed";
      break;
    case status::payload_too_large:
      code = "payload_too_large";
      break;
    case status::request_header_fields_too_large:
      code = "header_too_large";
      break;
    case status::request_timeout:
      code = "request_timeout";
      break;
    case status::gateway_timeout:
      type = "timeout_error";
      code = "request_timeout";
      break;
    case status::service_unavailable:
      type = "service_unavailable_error";
      code = "unavailable";
      break;
    case status::internal_server_error:
      type = "server_error";
      break;
    default:
      break;
  }
  return error_json(message, type, "", code);
}

}  // namespace smmf::protocol
