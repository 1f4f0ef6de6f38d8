#pragma once
/// Connects a registry record to an HTTP engine: the instance's address is the root of an
/// OpenAI-compatible server ("/v1" is appended unless the address already ends with it);
/// `labels["upstream_model"]` names the model there (default: the record's model).
#include "engines/openai_compat/openai_engine.h"
#include "gateway/cluster_directory.h"

namespace smmf::gateway {

Result<ClusterDirectory::Connection> connect_remote(const registry::InstanceRecord& rec,
                                                    std::shared_ptr<net::HttpClient> client);

}  // namespace smmf::gateway
