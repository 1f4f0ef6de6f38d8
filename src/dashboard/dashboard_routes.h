#pragma once
/// The web dashboard at /ui/: static pages compiled into the binary. The page itself calls the
/// same server's JSON APIs (/v1/models, /api/v1/models, /api/v1/instances, /api/v1/traces,
/// /api/v1/stats, /metrics, /v1/feedback, /v1/chat/completions) with the API key the user types
/// in, so the dashboard has exactly the rights of that key and no API of its own.
/// Thread-safe: the handlers read immutable data only.
#include "net/router.h"

namespace smmf::dashboard {

/// GET /ui redirects to /ui/; GET /ui/ serves index.html; GET /ui/<file> serves that file.
void install_dashboard(net::Router& router);

}  // namespace smmf::dashboard
