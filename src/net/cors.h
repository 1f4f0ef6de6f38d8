#pragma once
/// Cross-origin resource sharing for browser clients ([server] cors_origins). Off when the list
/// is empty. A preflight (OPTIONS with Origin and Access-Control-Request-Method) is answered by
/// the server before routing and before auth (browsers send no credentials on it): 204 with the
/// allowed methods and the requested headers for an allowed origin, 403 otherwise. Every other
/// response to an allowed origin (errors and SSE streams included) carries
/// Access-Control-Allow-Origin and exposes x-request-id and retry-after.
/// Immutable after construction; thread-safe.
#include <string>
#include <vector>

#include "net/http_types.h"

namespace smmf::net {

class Cors {
 public:
  explicit Cors(std::vector<std::string> origins = {});
  bool enabled() const { return !origins_.empty(); }
  /// The Access-Control-Allow-Origin value for this Origin; empty when not allowed.
  std::string allow_origin(std::string_view origin) const;
  static bool is_preflight(const Request& req);
  /// The answer to a preflight (its status is 204 or 403).
  Response preflight(const Request& req) const;
  /// Headers for a non-preflight response to `req` (none when CORS is off or the origin is
  /// not allowed).
  std::vector<std::pair<std::string, std::string>> response_headers(const Request& req) const;

 private:
  std::vector<std::string> origins_;
  bool any_ = false;
};

}  // namespace smmf::net
