#include "net/router.h"

#include <algorithm>

namespace smmf::net {

void Router::add(http::verb method, std::string path, Handler h) {
  exact_.try_emplace({std::move(path), method}, std::move(h));
}

void Router::add_prefix(http::verb method, std::string prefix, Handler h) {
  prefixes_.emplace_back(std::move(prefix), method, std::move(h));
  std::stable_sort(prefixes_.begin(), prefixes_.end(), [](const auto& a, const auto& b) {
    return std::get<0>(a).size() > std::get<0>(b).size();
  });
}

void Router::use(Middleware m) {
  middleware_.push_back(std::move(m));
}

// Not a coroutine: past the last middleware the handler's own awaitable is the call (no frame).
asio::awaitable<void> Router::call(const Handler& h, HttpExchange& ex, size_t layer) const {
  if (layer >= middleware_.size()) return h(ex);
  return call_layer(h, ex, layer);
}

asio::awaitable<void> Router::call_layer(const Handler& h, HttpExchange& ex, size_t layer) const {
  // A named local: GCC 12 mishandles temporaries inside co_await expressions.
  Handler next = [this, &h, layer](HttpExchange& e) { return call(h, e, layer + 1); };
  co_await middleware_[layer](ex, next);
}

Router::Match Router::find(http::verb method, std::string_view path, const Handler*& h) const {
  bool path_known = false;
  for (auto it = exact_.lower_bound(std::pair<std::string_view, http::verb>(path, http::verb{}));
       it != exact_.end() && it->first.first == path; ++it) {
    path_known = true;
    if (it->first.second == method) {
      h = &it->second;
      return Match::kFound;
    }
  }
  for (const auto& [prefix, m, handler] : prefixes_) {
    if (path.size() > prefix.size() && path.starts_with(prefix)) {
      path_known = true;
      if (m == method) {
        h = &handler;
        return Match::kFound;
      }
    }
  }
  return path_known ? Match::kNoMethod : Match::kNoPath;
}

}  // namespace smmf::net
