#include "cli/observability_setup.h"

namespace smmf::cli {

void Observability::install(net::Router& router) {
  observability::install_metrics_route(router);
  if (api) api->install(router);
}

Result<Observability> make_observability(const Config& cfg, std::string service, bool with_api) {
  Observability o;
  auto tracer = observability::Tracer::create(cfg.observability, std::move(service));
  if (!tracer) return tracer.error();
  o.tracer = std::move(*tracer);
  if (with_api) {
    std::shared_ptr<observability::FeedbackStore> feedback;
    if (!cfg.observability.feedback_db.empty()) {
      auto store = observability::FeedbackStore::open(cfg.observability.feedback_db);
      if (!store) return store.error();
      feedback = std::move(*store);
    }
    o.api = std::make_unique<observability::ObservabilityRoutes>(cfg.observability.trace_dir,
                                                                 std::move(feedback));
  }
  return o;
}

}  // namespace smmf::cli
