#include "policy/decision.h"

namespace warden::policy {

std::string_view toString(Layer layer) {
  switch (layer) {
    case Layer::kTransport:
      return "transport";
    case Layer::kRisk:
      return "risk";
    case Layer::kTags:
      return "tags";
    case Layer::kRbac:
      return "rbac";
    case Layer::kToken:
      return "token";
    case Layer::kProxy:
      return "proxy";
  }
  // Only reachable with a value cast from outside the enum; audit still gets a string.
  return "unknown";
}

}  // namespace warden::policy
