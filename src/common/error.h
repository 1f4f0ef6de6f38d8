#pragma once
/// Expected failures as values. Every fallible call returns Result<T>; exceptions are reserved for
/// the unexpected and are caught once per session and per route.
#include <boost/system/result.hpp>

#include <string>
#include <string_view>
#include <utility>

namespace smmf {

/// Error classes shared by every room (like Triton's). The gateway maps each to one HTTP status.
enum class ErrorCode {
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kUnavailable,
  kUnauthenticated,
  kPermissionDenied,
  kResourceExhausted,
  kDeadlineExceeded,
  kCancelled,
  kInternal,
  kUnsupported,
  kPayloadTooLarge,
};

std::string_view to_string(ErrorCode code);

/// An error: a class, a human message, and optionally the request parameter at fault.
struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  std::string param;      ///< e.g. "messages[0].role"; empty when no single parameter is at fault
  int http_status = 0;    ///< an upstream's HTTP status to pass through; 0 = from `code`
  int retry_after_s = 0;  ///< kResourceExhausted: seconds after which a retry may succeed (HTTP
                          ///< Retry-After); 0 = no estimate

  static Error invalid(std::string message, std::string param = {}) {
    return {ErrorCode::kInvalidArgument, std::move(message), std::move(param)};
  }
  static Error not_found(std::string message, std::string param = {}) {
    return {ErrorCode::kNotFound, std::move(message), std::move(param)};
  }
  static Error unavailable(std::string message) {
    return {ErrorCode::kUnavailable, std::move(message), {}};
  }
  static Error internal(std::string message) {
    return {ErrorCode::kInternal, std::move(message), {}};
  }
  static Error cancelled(std::string message = "cancelled") {
    return {ErrorCode::kCancelled, std::move(message), {}};
  }
  static Error exhausted(std::string message, int retry_after_s = 0) {
    return {ErrorCode::kResourceExhausted, std::move(message), {}, 0, retry_after_s};
  }
  static Error unsupported(std::string message, std::string param = {}) {
    return {ErrorCode::kUnsupported, std::move(message), std::move(param)};
  }
};

/// boost::system::result needs to turn an error into an exception on value() misuse.
[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

template <class T>
using Result = boost::system::result<T, Error>;

/// Status for functions that return nothing on success.
using Status = Result<void>;

}  // namespace smmf
