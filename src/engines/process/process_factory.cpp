// The "process" engine's factory: validates params into ProcessOptions.
#include <fmt/format.h>

#include "engines/process/process_engine.h"

namespace smmf::engines::process {
namespace json = boost::json;

namespace {

class Factory : public EngineFactory {
 public:
  explicit Factory(std::shared_ptr<net::HttpClient> http) : http_(std::move(http)) {}
  std::string name() const override { return "process"; }

  Result<std::shared_ptr<Engine>> create(const ModelConfig& cfg) const override {
    ProcessOptions o;
    o.name = cfg.name;
    o.path = cfg.path;
    o.upstream_model = cfg.name;
    o.type = protocol::model_type_from_string(cfg.type).value_or(protocol::ModelType::kLlm);
    auto bad = [&](std::string_view key, std::string_view why) {
      return Error::invalid(fmt::format("{}: params.{} {}", cfg.origin, key, why),
                            fmt::format("params.{}", key));
    };
    auto ms = [&](const json::value& v, std::string_view key,
                  std::chrono::milliseconds& out) -> Status {
      if (!v.is_int64() || v.get_int64() < 0) return bad(key, "must be a non-negative integer");
      out = std::chrono::milliseconds(v.get_int64());
      return {};
    };
    for (const auto& [k, v] : cfg.params) {
      Status st;
      if (k == "command") {
        if (!v.is_array() || v.get_array().empty())
          return bad(k, "must be a non-empty array of strings (argv)");
        for (const auto& a : v.get_array()) {
          if (!a.is_string()) return bad(k, "must be a non-empty array of strings (argv)");
          o.command.emplace_back(a.get_string());
        }
      } else if (k == "env") {
        if (!v.is_object()) return bad(k, "must be a table of strings");
        for (const auto& [ek, ev] : v.get_object()) {
          if (!ev.is_string()) return bad(k, "must be a table of strings");
          o.env.emplace_back(std::string(ek), std::string(ev.get_string()));
        }
      } else if (k == "cwd" || k == "protocol" || k == "health_path" || k == "upstream_model") {
        if (!v.is_string()) return bad(k, "must be a string");
        std::string s(v.get_string());
        if (k == "cwd") o.cwd = s;
        if (k == "protocol") {
          if (s != "openai" && s != "tgi") return bad(k, "must be \"openai\" or \"tgi\"");
          o.protocol = s;
        }
        if (k == "health_path") {
          if (s.empty() || s[0] != '/') return bad(k, "must start with '/'");
          o.health_path = s;
        }
        if (k == "upstream_model") o.upstream_model = s;
      } else if (k == "start_timeout_ms") {
        st = ms(v, k, o.start_timeout);
      } else if (k == "restart_window_ms") {
        st = ms(v, k, o.restart_window);
      } else if (k == "restart_backoff_ms") {
        st = ms(v, k, o.restart_backoff);
      } else if (k == "max_backoff_ms") {
        st = ms(v, k, o.max_backoff);
      } else if (k == "stop_grace_ms") {
        st = ms(v, k, o.stop_grace);
      } else if (k == "max_restarts" || k == "log_lines" || k == "context_length") {
        if (!v.is_int64() || v.get_int64() < 0 || v.get_int64() > 1'000'000)
          return bad(k, "must be an integer between 0 and 1000000");
        int n = static_cast<int>(v.get_int64());
        if (k == "max_restarts") o.max_restarts = n;
        if (k == "log_lines") o.log_lines = static_cast<size_t>(n);
        if (k == "context_length") o.context_length = n;
      } else {
        return bad(k, "is not a known setting of the process engine");
      }
      if (!st) return st.error();
    }
    if (o.command.empty()) return bad("command", "is required");
    if (o.protocol == "tgi" && o.type != protocol::ModelType::kLlm)
      return bad("protocol", "\"tgi\" serves type = \"llm\" models only");
    if (o.start_timeout.count() == 0) return bad("start_timeout_ms", "must be positive");
    return std::shared_ptr<Engine>(std::make_shared<ProcessEngine>(http_, std::move(o)));
  }

 private:
  std::shared_ptr<net::HttpClient> http_;
};

}  // namespace

void register_process(EngineRegistry& registry, std::shared_ptr<net::HttpClient> http) {
  registry.add(std::make_unique<Factory>(std::move(http)));
}

}  // namespace smmf::engines::process
