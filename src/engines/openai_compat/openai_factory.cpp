// The openai_compat factory: presets, Azure URL forms, quirk overrides and the shared network
// params, validated into OpenAiEngineOptions.
#include <fmt/format.h>

#include "engines/openai_compat/openai_engine.h"
#include "engines/openai_compat/presets.h"
#include "engines/remote/remote_params.h"

namespace smmf::engines::openai_compat {
namespace json = boost::json;

namespace {

// Azure OpenAI's GA data-plane version (the deployment URL form needs one).
constexpr std::string_view kAzureApiVersion = "2024-10-21";

struct Extra {
  std::string preset;
  std::optional<std::string> auth_header, auth_prefix, max_tokens_field;
  std::optional<bool> stream_usage;
  std::string endpoint, deployment, api_version;
};

Result<std::string> azure_base(const ModelConfig& cfg, const Extra& x, std::string base_url,
                               std::string& query) {
  if (!base_url.empty() && !x.endpoint.empty())
    return remote::bad_param(cfg, "endpoint", "and params.base_url are exclusive");
  if (!base_url.empty()) {
    if (!x.api_version.empty()) query = "?api-version=" + net::encode_component(x.api_version);
    return base_url;
  }
  if (x.endpoint.empty())
    return remote::bad_param(cfg, "endpoint",
                             "is required by preset azure (https://<resource>.openai.azure.com)");
  std::string endpoint = x.endpoint;
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  if (x.deployment.empty()) {
    // The v1 API: the model is named in the body; no api-version needed.
    if (!x.api_version.empty()) query = "?api-version=" + net::encode_component(x.api_version);
    return endpoint + "/openai/v1";
  }
  query = "?api-version=" +
          net::encode_component(x.api_version.empty() ? kAzureApiVersion : x.api_version);
  return endpoint + "/openai/deployments/" + net::encode_component(x.deployment);
}

class Factory : public EngineFactory {
 public:
  explicit Factory(std::shared_ptr<net::HttpClient> client) : client_(std::move(client)) {}
  std::string name() const override { return "openai_compat"; }

  Result<std::shared_ptr<Engine>> create(const ModelConfig& cfg) const override {
    Extra x;
    auto extra = [&](std::string_view k, const json::value& v) -> Result<bool> {
      if (k == "stream_usage") {
        if (!v.is_bool()) return remote::bad_param(cfg, k, "must be a boolean");
        x.stream_usage = v.get_bool();
        return true;
      }
      std::string* out = nullptr;
      std::optional<std::string>* opt = nullptr;
      if (k == "preset")
        out = &x.preset;
      else if (k == "endpoint")
        out = &x.endpoint;
      else if (k == "deployment")
        out = &x.deployment;
      else if (k == "api_version")
        out = &x.api_version;
      else if (k == "auth_header")
        opt = &x.auth_header;
      else if (k == "auth_prefix")
        opt = &x.auth_prefix;
      else if (k == "max_tokens_field")
        opt = &x.max_tokens_field;
      else
        return false;
      if (!v.is_string()) return remote::bad_param(cfg, k, "must be a string");
      if (out)
        *out = v.get_string();
      else
        *opt = std::string(v.get_string());
      return true;
    };
    auto rp = remote::parse_remote_params(cfg, "openai_compat", client_->options(), extra);
    if (!rp) return rp.error();

    OpenAiEngineOptions o;
    o.type = protocol::model_type_from_string(cfg.type).value_or(protocol::ModelType::kLlm);
    o.upstream_model = rp->upstream_model;
    o.api_key = rp->api_key;
    o.headers = rp->headers;
    o.context_length = rp->context_length;
    std::string base_url = rp->base_url;

    const Preset* preset = nullptr;
    if (!x.preset.empty()) {
      preset = find_preset(x.preset);
      if (!preset)
        return remote::bad_param(
            cfg, "preset",
            fmt::format("'{}' is not a known preset ({})", x.preset, preset_names()));
      o.auth_header = preset->auth_header;
      o.auth_prefix = preset->auth_prefix;
      o.dialect = preset->dialect;
    }
    const bool azure = preset && preset->name == "azure";
    if (!azure && (!x.endpoint.empty() || !x.deployment.empty() || !x.api_version.empty()))
      return remote::bad_param(cfg,
                               !x.endpoint.empty()     ? "endpoint"
                               : !x.deployment.empty() ? "deployment"
                                                       : "api_version",
                               "is only known with preset = \"azure\"");
    if (azure) {
      auto b = azure_base(cfg, x, base_url, o.query);
      if (!b) return b.error();
      base_url = std::move(*b);
    } else if (base_url.empty() && preset) {
      base_url = preset->base_url;
    }
    if (base_url.empty()) return remote::bad_param(cfg, "base_url", "is required without a preset");
    if (preset && preset->needs_key && o.api_key.empty())
      return remote::bad_param(
          cfg, "api_key",
          fmt::format("(or params.api_key_file) is required by preset {}", preset->name));
    if (x.auth_header) o.auth_header = *x.auth_header;
    if (x.auth_prefix) o.auth_prefix = *x.auth_prefix;
    if (x.max_tokens_field) {
      if (*x.max_tokens_field == "max_tokens")
        o.dialect.max_tokens_field = "max_tokens";
      else if (*x.max_tokens_field == "max_completion_tokens")
        o.dialect.max_tokens_field = "max_completion_tokens";
      else
        return remote::bad_param(cfg, "max_tokens_field",
                                 "must be \"max_tokens\" or \"max_completion_tokens\"");
    }
    if (x.stream_usage) o.dialect.stream_usage = *x.stream_usage;
    auto url = net::parse_url(base_url);
    if (!url) return remote::bad_param(cfg, "base_url", url.error().message);
    o.base = std::move(*url);
    auto client = remote::make_client(*client_, rp->client);
    return std::shared_ptr<Engine>(std::make_shared<OpenAiEngine>(client, std::move(o)));
  }

 private:
  std::shared_ptr<net::HttpClient> client_;
};

}  // namespace

void register_openai_compat(EngineRegistry& registry, std::shared_ptr<net::HttpClient> client) {
  registry.add(std::make_unique<Factory>(std::move(client)));
}

}  // namespace smmf::engines::openai_compat
