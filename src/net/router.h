#pragma once
/// Maps (method, path) to a coroutine handler. Exact paths first, then the longest matching
/// prefix route (for "/api/models/{name}" style paths). Unknown path: 404; known path with
/// another method: 405. When two rooms add the same route, the first added wins (so a
/// composition root decides precedence by install order). Built before the server starts, then
/// read-only (thread-safe to share). Middleware (auth, limits) wraps every matched handler, the
/// first added outermost; a middleware answers by itself or calls `next`.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "net/http_exchange.h"

namespace smmf::net {

using Handler = std::function<asio::awaitable<void>(HttpExchange&)>;
using Middleware = std::function<asio::awaitable<void>(HttpExchange&, const Handler& next)>;

class Router {
 public:
  void add(http::verb method, std::string path, Handler h);
  void add_prefix(http::verb method, std::string prefix, Handler h);
  void use(Middleware m);

  enum class Match { kFound, kNoPath, kNoMethod };
  /// Finds the handler for a request; `h` is set when kFound.
  Match find(http::verb method, std::string_view path, const Handler*& h) const;
  /// Runs `h` (found by find()) through the middleware.
  asio::awaitable<void> call(const Handler& h, HttpExchange& ex, size_t layer = 0) const;

 private:
  asio::awaitable<void> call_layer(const Handler& h, HttpExchange& ex, size_t layer) const;

  std::vector<Middleware> middleware_;
  // By (path, method); looked up with a string_view path (no copy of it per request).
  struct ExactLess {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      const std::string_view ap(a.first), bp(b.first);
      return ap < bp || (ap == bp && a.second < b.second);
    }
  };
  std::map<std::pair<std::string, http::verb>, Handler, ExactLess> exact_;
  std::vector<std::tuple<std::string, http::verb, Handler>> prefixes_;  // longest first
};

}  // namespace smmf::net
