#pragma once
/// Gauges computed at each scrape of /metrics from live state: per model its lifecycle state
/// and running replicas (a ModelManager), per routed instance whether it is healthy (a
/// ClusterDirectory). Each returns a handle: the gauges are published while it lives (keep it
/// no longer than the object it reads).
#include <memory>

#include "gateway/cluster_directory.h"
#include "worker/model_manager.h"

namespace smmf::gateway {

/// smmf_model_state{model,state} (1 for the current state, 0 for the others),
/// smmf_model_replicas_running{model}, smmf_model_in_flight{model}.
[[nodiscard]] std::shared_ptr<void> publish_model_metrics(const worker::ModelManager& models);
/// smmf_instance_healthy{model,instance} (1 = routable), smmf_instance_ejected{model,instance},
/// smmf_instance_in_flight{model,instance}.
[[nodiscard]] std::shared_ptr<void> publish_instance_metrics(const ClusterDirectory& directory);

}  // namespace smmf::gateway
