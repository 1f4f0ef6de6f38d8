#include "gateway/state_metrics.h"

#include "observability/metrics.h"

namespace smmf::gateway {

std::shared_ptr<void> publish_model_metrics(const worker::ModelManager& models) {
  return observability::metrics().on_scrape([&models](observability::ScrapeBuilder& b) {
    using worker::ModelState;
    for (const auto& m : models.list()) {
      for (auto s : {ModelState::kStopped, ModelState::kStarting, ModelState::kRunning,
                     ModelState::kStopping, ModelState::kFailed})
        b.gauge("smmf_model_state", "Lifecycle state of each model (1 = current state)",
                {{"model", m.name}, {"state", std::string(worker::to_string(s))}},
                m.state == s ? 1 : 0);
      b.gauge("smmf_model_replicas_running", "Running replicas of each model", {{"model", m.name}},
              m.running);
      b.gauge("smmf_model_in_flight", "Calls running on each model's replicas", {{"model", m.name}},
              m.in_flight);
    }
  });
}

std::shared_ptr<void> publish_instance_metrics(const ClusterDirectory& directory) {
  return observability::metrics().on_scrape([&directory](observability::ScrapeBuilder& b) {
    for (const auto& s : directory.stats()) {
      std::map<std::string, std::string> labels{{"model", s.model}, {"instance", s.id}};
      b.gauge("smmf_instance_healthy",
              "1 when the instance is routable (healthy, running, not ejected, health check ok)",
              labels, s.routable && !s.ejected && !s.check_failed ? 1 : 0);
      b.gauge("smmf_instance_ejected", "1 while the instance is ejected after failures", labels,
              s.ejected ? 1 : 0);
      b.gauge("smmf_instance_in_flight", "Calls in flight on the instance", labels, s.in_flight);
    }
  });
}

}  // namespace smmf::gateway
