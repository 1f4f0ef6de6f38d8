#include "common/config.h"

#include <toml++/toml.h>

#include "common/duration.h"

#include <fmt/format.h>
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace smmf {
namespace {

std::string where(std::string_view source, const toml::source_region& r, std::string_view key) {
  if (r.begin.line > 0) return fmt::format("{}:{}: '{}'", source, r.begin.line, key);
  return fmt::format("{}: '{}'", source, key);
}

/// Reads typed values from one TOML table, failing with file:line and key.
class TableReader {
 public:
  TableReader(const toml::table& t, std::string_view source, std::string prefix)
      : t_(t), source_(source), prefix_(std::move(prefix)) {}

  template <class T>
  void get(std::string_view key, T& out) {
    if (error_) return;
    const toml::node* n = t_.get(key);
    if (!n) return;
    if constexpr (std::is_same_v<T, bool>) {
      if (auto v = n->value_exact<bool>())
        out = *v;
      else
        fail(*n, key, "must be a boolean");
    } else if constexpr (std::is_integral_v<T>) {
      auto v = n->value_exact<int64_t>();
      if (!v || *v < 0 || static_cast<uint64_t>(*v) > std::numeric_limits<T>::max())
        fail(*n, key, "must be a non-negative integer in range");
      else
        out = static_cast<T>(*v);
    } else if constexpr (std::is_same_v<T, std::chrono::seconds>) {
      auto v = n->value_exact<int64_t>();
      if (!v || *v < 0)
        fail(*n, key, "must be a non-negative number of seconds");
      else
        out = std::chrono::seconds(*v);
    } else if constexpr (std::is_same_v<T, std::chrono::milliseconds>) {
      auto v = n->value_exact<int64_t>();
      if (!v || *v < 0)
        fail(*n, key, "must be a non-negative number of milliseconds");
      else
        out = std::chrono::milliseconds(*v);
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      const toml::array* a = n->as_array();
      if (!a) return fail(*n, key, "must be an array of strings");
      out.clear();
      for (const auto& v : *a) {
        auto sv = v.template value_exact<std::string>();
        if (!sv) return fail(v, key, "must be an array of strings");
        auto s = interpolate_env(*sv);
        if (!s) return fail(v, key, s.error().message);
        out.push_back(std::move(*s));
      }
    } else if constexpr (std::is_same_v<T, std::map<std::string, std::string>>) {
      const toml::table* t = n->as_table();
      if (!t) return fail(*n, key, "must be a table of strings");
      for (const auto& [k, v] : *t) {
        auto sv = v.template value_exact<std::string>();
        if (!sv) return fail(v, fmt::format("{}.{}", key, k.str()), "must be a string");
        out[std::string(k.str())] = *sv;
      }
    } else {
      auto v = n->value_exact<std::string>();
      if (!v) return fail(*n, key, "must be a string");
      auto s = interpolate_env(*v);
      if (!s) return fail(*n, key, s.error().message);
      out = std::move(*s);
    }
  }

  /// A duration: "250ms", "30s", "10m", "2h" or the integer 0.
  void get_duration(std::string_view key, std::chrono::milliseconds& out) {
    if (error_) return;
    const toml::node* n = t_.get(key);
    if (!n) return;
    if (auto i = n->value_exact<int64_t>(); i && *i == 0) {
      out = std::chrono::milliseconds(0);
      return;
    }
    auto v = n->value_exact<std::string>();
    if (!v) return fail(*n, key, "must be a duration string like \"10m\" (or 0)");
    auto d = parse_duration(*v);
    if (!d) return fail(*n, key, d.error().message);
    out = *d;
  }

  void check_known(std::initializer_list<std::string_view> known) {
    for (const auto& [k, v] : t_) {
      if (error_) return;
      bool ok = false;
      for (auto kk : known) ok = ok || kk == k.str();
      if (!ok) fail(v, k.str(), "is not a known setting");
    }
  }

  void fail(const toml::node& n, std::string_view key, std::string_view why) {
    if (!error_) {
      std::string full = prefix_.empty() ? std::string(key) : fmt::format("{}.{}", prefix_, key);
      error_ = Error::invalid(fmt::format("{} {}", where(source_, n.source(), full), why), full);
    }
  }
  std::optional<Error>& error() { return error_; }

 private:
  const toml::table& t_;
  std::string_view source_;
  std::string prefix_;
  std::optional<Error> error_;
};

Result<boost::json::value> to_json(const toml::node& n, std::string_view source,
                                   std::string_view key) {
  if (auto t = n.as_table()) {
    boost::json::object o;
    for (const auto& [k, v] : *t) {
      auto j = to_json(v, source, k.str());
      if (!j) return j.error();
      o[k.str()] = std::move(*j);
    }
    return boost::json::value(std::move(o));
  }
  if (auto a = n.as_array()) {
    boost::json::array arr;
    for (const auto& v : *a) {
      auto j = to_json(v, source, key);
      if (!j) return j.error();
      arr.push_back(std::move(*j));
    }
    return boost::json::value(std::move(arr));
  }
  if (auto v = n.value_exact<std::string>()) {
    auto s = interpolate_env(*v);
    if (!s)
      return Error::invalid(
          fmt::format("{} {}", where(source, n.source(), key), s.error().message));
    return boost::json::value(*s);
  }
  if (auto v = n.value_exact<int64_t>()) return boost::json::value(*v);
  if (auto v = n.value_exact<double>()) return boost::json::value(*v);
  if (auto v = n.value_exact<bool>()) return boost::json::value(*v);
  return Error::invalid(
      fmt::format("{} has an unsupported value type", where(source, n.source(), key)));
}

Status parse_groups(const toml::table& root, std::string_view source, Config& cfg) {
  const toml::node* n = root.get("groups");
  if (!n) return {};
  const toml::array* arr = n->as_array();
  if (!arr || !arr->is_array_of_tables())
    return Error::invalid(
        fmt::format("{}: 'groups' must be an array of tables ([[groups]])", source), "groups");
  size_t i = 0;
  for (const auto& node : *arr) {
    const toml::table& t = *node.as_table();
    std::string prefix = fmt::format("groups[{}]", i++);
    TableReader r(t, source, prefix);
    GroupConfig g;
    g.origin = fmt::format("{}: {}", source, prefix);
    r.check_known({"name", "models", "request_timeout_ms", "first_token_timeout_ms"});
    r.get("name", g.name);
    r.get("request_timeout_ms", g.request_timeout);
    r.get("first_token_timeout_ms", g.first_token_timeout);
    if (r.error()) return *r.error();
    auto bad = [&](std::string_view key, std::string_view why) {
      return Error::invalid(fmt::format("{}: '{}.{}' {}", source, prefix, key, why),
                            fmt::format("{}.{}", prefix, key));
    };
    if (g.name.empty()) return bad("name", "is required");
    const toml::array* members = t.get("models") ? t.get("models")->as_array() : nullptr;
    if (!members || members->empty()) return bad("models", "must be a non-empty array of names");
    for (const auto& m : *members) {
      auto v = m.value_exact<std::string>();
      if (!v || v->empty()) return bad("models", "must be a non-empty array of names");
      if (std::find(g.models.begin(), g.models.end(), *v) != g.models.end())
        return bad("models", fmt::format("names '{}' twice", *v));
      g.models.push_back(*v);
    }
    for (const auto& model : cfg.models)
      if (model.name == g.name) return bad("name", fmt::format("is also a model's name"));
    for (const auto& other : cfg.groups) {
      if (other.name == g.name) return bad("name", fmt::format("duplicates group '{}'", g.name));
    }
    cfg.groups.push_back(std::move(g));
  }
  // Members are models, not groups: a group of groups would hide loops and double fallbacks.
  for (const auto& g : cfg.groups)
    for (const auto& m : g.models)
      for (const auto& other : cfg.groups)
        if (other.name == m)
          return Error::invalid(
              fmt::format("{}: group '{}' lists group '{}': members must be models", g.origin,
                          g.name, m),
              "groups");
  return {};
}

/// Checks one [[keys]] entry against the format and the entries before it. The error's message
/// starts with the key name and a closing quote ("hash' must be ..."), its param is the key.
Status validate_key(const ApiKeyConfig& k, const std::vector<ApiKeyConfig>& before) {
  auto bad = [](std::string_view key, std::string_view why) {
    return Error::invalid(fmt::format("{}' {}", key, why), std::string(key));
  };
  if (k.name.empty()) return bad("name", "is required");
  constexpr std::string_view kPrefix = "sha256:";
  std::string_view hex = std::string_view(k.hash).substr(std::min(k.hash.size(), kPrefix.size()));
  if (!k.hash.starts_with(kPrefix) || hex.size() != 64 ||
      hex.find_first_not_of("0123456789abcdef") != std::string_view::npos)
    return bad("hash",
               "must be \"sha256:\" and 64 lower-case hex digits (made by `smmf keys hash`)");
  if (k.scopes.empty()) return bad("scopes", "must name at least one scope");
  for (const auto& s : k.scopes)
    if (s != "inference" && s != "admin")
      return bad("scopes", fmt::format("has unknown scope '{}' (inference, admin)", s));
  for (const auto& o : before) {
    if (o.name == k.name) return bad("name", fmt::format("duplicates key '{}'", k.name));
    if (o.hash == k.hash) return bad("hash", fmt::format("is also the hash of key '{}'", o.name));
  }
  return {};
}

}  // namespace

Result<std::string> interpolate_env(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '$' || i + 1 >= s.size()) {
      out += s[i];
      continue;
    }
    if (s[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    if (s[i + 1] != '{') {
      out += s[i];
      continue;
    }
    size_t close = s.find('}', i + 2);
    if (close == std::string_view::npos)
      return Error::invalid(fmt::format("unterminated '${{' in \"{}\"", s));
    std::string_view expr = s.substr(i + 2, close - i - 2);
    std::string_view name = expr, fallback;
    bool has_default = false;
    if (size_t d = expr.find(":-"); d != std::string_view::npos) {
      name = expr.substr(0, d);
      fallback = expr.substr(d + 2);
      has_default = true;
    }
    const char* v = std::getenv(std::string(name).c_str());
    if (v && *v)
      out += v;
    else if (has_default)
      out += fallback;
    else
      return Error::invalid(fmt::format("environment variable '{}' is not set", name));
    i = close;
  }
  return out;
}

Result<Config> parse_config(std::string_view text, std::string_view source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return Error::invalid(fmt::format("{}:{}:{}: {}", source, e.source().begin.line,
                                      e.source().begin.column, e.description()));
  }
  Config cfg;
  {
    TableReader top(root, source, "");
    top.check_known({"server", "log", "controller", "worker", "routing", "observability", "models",
                     "groups", "keys", "cluster"});
    if (top.error()) return *top.error();
  }
  if (const toml::node* n = root.get("server")) {
    const toml::table* t = n->as_table();
    if (!t) return Error::invalid(fmt::format("{}: 'server' must be a table", source), "server");
    TableReader r(*t, source, "server");
    auto& s = cfg.server;
    r.check_known({"host", "port", "threads", "max_body_bytes", "max_header_bytes",
                   "header_timeout", "idle_timeout", "write_timeout", "shutdown_grace",
                   "max_connections", "request_timeout", "tls_cert", "tls_key", "cors_origins"});
    r.get("host", s.host);
    r.get("port", s.port);
    r.get("threads", s.threads);
    r.get("max_body_bytes", s.max_body_bytes);
    r.get("max_header_bytes", s.max_header_bytes);
    r.get("header_timeout", s.header_timeout);
    r.get("idle_timeout", s.idle_timeout);
    r.get("write_timeout", s.write_timeout);
    r.get("shutdown_grace", s.shutdown_grace);
    r.get("max_connections", s.max_connections);
    r.get("request_timeout", s.request_timeout);
    r.get("tls_cert", s.tls_cert);
    r.get("tls_key", s.tls_key);
    r.get("cors_origins", s.cors_origins);
    if (r.error()) return *r.error();
  }
  if (const toml::node* n = root.get("log")) {
    const toml::table* t = n->as_table();
    if (!t) return Error::invalid(fmt::format("{}: 'log' must be a table", source), "log");
    TableReader r(*t, source, "log");
    r.check_known({"level", "access_log"});
    r.get("level", cfg.log.level);
    r.get("access_log", cfg.log.access_log);
    if (r.error()) return *r.error();
  }
  auto section = [&](std::string_view name, auto&& read) -> Status {
    const toml::node* n = root.get(name);
    if (!n) return {};
    const toml::table* t = n->as_table();
    if (!t)
      return Error::invalid(fmt::format("{}: '{}' must be a table", source, name),
                            std::string(name));
    TableReader r(*t, source, std::string(name));
    read(r);
    if (r.error()) return *r.error();
    return {};
  };
  if (auto st = section("controller",
                        [&](TableReader& r) {
                          auto& c = cfg.controller;
                          r.check_known({"heartbeat_interval_ms", "unhealthy_after_missed",
                                         "remove_after_missed", "snapshot_file"});
                          r.get("heartbeat_interval_ms", c.heartbeat_interval);
                          r.get("unhealthy_after_missed", c.unhealthy_after_missed);
                          r.get("remove_after_missed", c.remove_after_missed);
                          r.get("snapshot_file", c.snapshot_file);
                        });
      !st)
    return st.error();
  if (auto st = section("worker",
                        [&](TableReader& r) {
                          auto& w = cfg.worker;
                          r.check_known({"controller", "id", "advertise", "heartbeat_interval_ms",
                                         "max_loaded_models", "max_loaded_bytes", "load_timeout",
                                         "max_load_waiters"});
                          r.get("controller", w.controller);
                          r.get("id", w.id);
                          r.get("advertise", w.advertise);
                          r.get("heartbeat_interval_ms", w.heartbeat_interval);
                          r.get("max_loaded_models", w.max_loaded_models);
                          r.get("max_loaded_bytes", w.max_loaded_bytes);
                          r.get_duration("load_timeout", w.load_timeout);
                          r.get("max_load_waiters", w.max_load_waiters);
                        });
      !st)
    return st.error();
  if (auto st = section("cluster",
                        [&](TableReader& r) {
                          r.check_known({"token", "ca_file"});
                          r.get("token", cfg.cluster.token);
                          r.get("ca_file", cfg.cluster.ca_file);
                        });
      !st)
    return st.error();
  if (auto st = section("routing",
                        [&](TableReader& r) {
                          auto& g = cfg.routing;
                          r.check_known({"policy", "model_policies", "affinity_header",
                                         "max_retries", "eject_after_failures", "eject_base_ms",
                                         "health_check_interval_ms", "health_check_timeout_ms"});
                          r.get("policy", g.policy);
                          r.get("model_policies", g.model_policies);
                          r.get("affinity_header", g.affinity_header);
                          r.get("max_retries", g.max_retries);
                          r.get("eject_after_failures", g.eject_after_failures);
                          r.get("eject_base_ms", g.eject_base);
                          r.get("health_check_interval_ms", g.health_check_interval);
                          r.get("health_check_timeout_ms", g.health_check_timeout);
                        });
      !st)
    return st.error();
  if (auto st =
          section("observability",
                  [&](TableReader& r) {
                    auto& o = cfg.observability;
                    r.check_known({"tracing", "capture", "max_capture_chars", "trace_dir",
                                   "max_file_bytes", "max_files", "otlp_endpoint", "otlp_batch",
                                   "flush_interval_ms", "queue_capacity", "feedback_db"});
                    r.get("tracing", o.tracing);
                    r.get("capture", o.capture);
                    r.get("max_capture_chars", o.max_capture_chars);
                    r.get("trace_dir", o.trace_dir);
                    r.get("max_file_bytes", o.max_file_bytes);
                    r.get("max_files", o.max_files);
                    r.get("otlp_endpoint", o.otlp_endpoint);
                    r.get("otlp_batch", o.otlp_batch);
                    r.get("flush_interval_ms", o.flush_interval);
                    r.get("queue_capacity", o.queue_capacity);
                    r.get("feedback_db", o.feedback_db);
                  });
      !st)
    return st.error();
  if (const auto& c = cfg.observability.capture; c != "full" && c != "redacted" && c != "off")
    return Error::invalid(
        fmt::format("{}: observability.capture '{}' must be full, redacted or off", source, c),
        "observability.capture");
  for (const auto& p : [&] {
         std::vector<std::string> v{cfg.routing.policy};
         for (const auto& [m, pol] : cfg.routing.model_policies) v.push_back(pol);
         return v;
       }()) {
    if (p != "least_outstanding" && p != "round_robin" && p != "random" && p != "weighted" &&
        p != "session_affinity")
      return Error::invalid(
          fmt::format("{}: routing policy '{}' must be one of least_outstanding, round_robin, "
                      "random, weighted, session_affinity",
                      source, p),
          "routing.policy");
  }
  if (const toml::node* n = root.get("models")) {
    const toml::array* arr = n->as_array();
    if (!arr || !arr->is_array_of_tables())
      return Error::invalid(
          fmt::format("{}: 'models' must be an array of tables ([[models]])", source), "models");
    size_t i = 0;
    for (const auto& node : *arr) {
      const toml::table& t = *node.as_table();
      std::string prefix = fmt::format("models[{}]", i++);
      TableReader r(t, source, prefix);
      ModelConfig m;
      m.origin = fmt::format("{}: {}", source, prefix);
      r.check_known({"name", "type", "engine", "path", "replicas", "weight", "load",
                     "idle_unload_after", "params", "request_timeout_ms",
                     "first_token_timeout_ms"});
      r.get("request_timeout_ms", m.request_timeout);
      r.get("first_token_timeout_ms", m.first_token_timeout);
      std::string load = "eager";
      r.get("name", m.name);
      r.get("type", m.type);
      r.get("engine", m.engine);
      r.get("path", m.path);
      r.get("replicas", m.replicas);
      r.get("weight", m.weight);
      r.get("load", load);
      r.get_duration("idle_unload_after", m.idle_unload_after);
      if (r.error()) return *r.error();
      if (load != "eager" && load != "on_demand")
        return Error::invalid(
            fmt::format("{}: '{}.load' must be \"eager\" or \"on_demand\"", source, prefix),
            prefix + ".load");
      m.on_demand = load == "on_demand";
      if (m.name.empty())
        return Error::invalid(fmt::format("{}: '{}.name' is required", source, prefix),
                              prefix + ".name");
      if (m.type != "llm" && m.type != "embedding" && m.type != "reranker")
        return Error::invalid(
            fmt::format("{}: '{}.type' must be llm, embedding or reranker", source, prefix),
            prefix + ".type");
      if (m.replicas < 0)
        return Error::invalid(fmt::format("{}: '{}.replicas' must be >= 0", source, prefix),
                              prefix + ".replicas");
      if (const toml::node* p = t.get("params")) {
        if (!p->as_table())
          return Error::invalid(fmt::format("{}: '{}.params' must be a table", source, prefix),
                                prefix + ".params");
        auto j = to_json(*p, source, prefix + ".params");
        if (!j) return j.error();
        m.params = std::move(j->as_object());
      }
      for (const auto& other : cfg.models)
        if (other.name == m.name)
          return Error::invalid(
              fmt::format("{}: '{}.name' duplicates model '{}'", source, prefix, m.name),
              prefix + ".name");
      cfg.models.push_back(std::move(m));
    }
  }
  if (auto st = parse_groups(root, source, cfg); !st) return st.error();
  if (const toml::node* n = root.get("keys")) {
    const toml::array* arr = n->as_array();
    if (!arr || !arr->is_array_of_tables())
      return Error::invalid(fmt::format("{}: 'keys' must be an array of tables ([[keys]])", source),
                            "keys");
    size_t i = 0;
    for (const auto& node : *arr) {
      std::string prefix = fmt::format("keys[{}]", i++);
      TableReader r(*node.as_table(), source, prefix);
      ApiKeyConfig k;
      r.check_known({"name", "hash", "scopes", "models", "requests_per_minute", "tokens_per_minute",
                     "max_concurrent"});
      r.get("name", k.name);
      r.get("hash", k.hash);
      r.get("scopes", k.scopes);
      r.get("models", k.models);
      r.get("requests_per_minute", k.requests_per_minute);
      r.get("tokens_per_minute", k.tokens_per_minute);
      r.get("max_concurrent", k.max_concurrent);
      if (r.error()) return *r.error();
      if (auto st = validate_key(k, cfg.keys); !st)
        return Error::invalid(fmt::format("{}: '{}.{}", source, prefix, st.error().message),
                              fmt::format("{}.{}", prefix, st.error().param));
      cfg.keys.push_back(std::move(k));
    }
  }
  if (cfg.server.tls_cert.empty() != cfg.server.tls_key.empty())
    return Error::invalid(
        fmt::format("{}: 'server.tls_cert' and 'server.tls_key' must be set together", source),
        "server.tls_cert");
  return cfg;
}

Result<Config> load_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::not_found(fmt::format("cannot read config file '{}'", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path);
}

}  // namespace smmf
