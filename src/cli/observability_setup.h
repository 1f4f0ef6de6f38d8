#pragma once
/// Wires observability into a role: its tracer (spans to files / a collector per
/// [observability]), the feedback store, and their routes. Composition only.
#include <memory>
#include <string>
#include <vector>

#include "common/config.h"
#include "net/router.h"
#include "observability/observability_routes.h"
#include "observability/tracer.h"

namespace smmf::cli {

struct Observability {
  std::shared_ptr<observability::Tracer> tracer;
  std::unique_ptr<observability::ObservabilityRoutes> api;  ///< API server roles only
  std::vector<std::shared_ptr<void>> scrape_hooks;          ///< dropped before what they read
  /// Installs GET /metrics, and the feedback and trace API when made with `with_api`.
  void install(net::Router& router);
};

/// `service`: "smmf-serve", "smmf-apiserver", "smmf-worker" or "smmf-controller".
/// `with_api`: open the feedback database and serve the trace API (API server roles).
Result<Observability> make_observability(const Config& cfg, std::string service, bool with_api);

}  // namespace smmf::cli
