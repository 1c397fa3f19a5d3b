// Which egress route carries a request: by Host (without port, case-insensitive), then the
// longest path prefix (segment-aware, like policy prefixes). Shared by the egress listener
// and the test calls the control plane hands a sidecar, so both pick the same route.
// Thread-safety: pure functions.
#pragma once

#include <string_view>

#include "proxy/sidecar_config.h"

namespace warden::proxy {

// `prefix` covers `path` at a segment boundary ("/budget" covers "/budget/read" and
// "/budget?x", not "/budgets"); an empty prefix or "/" covers every path.
bool pathHasPrefix(std::string_view path, std::string_view prefix);
// The index of the route for this Host and request target; -1 if none.
int selectRoute(const EgressConfig& egress, std::string_view host, std::string_view target);

}  // namespace warden::proxy
