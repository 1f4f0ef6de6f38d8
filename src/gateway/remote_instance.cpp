#include "gateway/remote_instance.h"

namespace smmf::gateway {

Result<ClusterDirectory::Connection> connect_remote(const registry::InstanceRecord& rec,
                                                    std::shared_ptr<net::HttpClient> client) {
  auto url = net::parse_url(rec.address);
  if (!url) return url.error();
  if (!url->path.ends_with("/v1")) url->path += "/v1";
  engines::openai_compat::OpenAiEngineOptions o;
  o.base = std::move(*url);
  auto it = rec.labels.find("upstream_model");
  o.upstream_model = it != rec.labels.end() ? it->second : rec.model;
  o.type = protocol::model_type_from_string(rec.type).value_or(protocol::ModelType::kLlm);
  o.context_length = rec.context_length;
  return ClusterDirectory::Connection{
      std::make_shared<engines::openai_compat::OpenAiEngine>(std::move(client), std::move(o)),
      false};
}

}  // namespace smmf::gateway
