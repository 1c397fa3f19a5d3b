#include "proxy/egress_routes.h"

#include <boost/beast/core/string.hpp>

namespace warden::proxy {

bool pathHasPrefix(std::string_view path, std::string_view prefix) {
  if (prefix.empty() || prefix == "/")
    return true;
  if (path.substr(0, prefix.size()) != prefix)
    return false;
  return path.size() == prefix.size() || prefix.back() == '/' || path[prefix.size()] == '/' ||
         path[prefix.size()] == '?';
}

int selectRoute(const EgressConfig& egress, std::string_view host, std::string_view target) {
  int best = -1;
  std::size_t best_len = 0;
  for (std::size_t i = 0; i < egress.routes.size(); ++i) {
    const auto& r = egress.routes[i];
    if (!boost::beast::iequals(r.host, host))
      continue;
    if (!pathHasPrefix(target, r.path_prefix))
      continue;
    if (best < 0 || r.path_prefix.size() > best_len) {
      best = static_cast<int>(i);
      best_len = r.path_prefix.size();
    }
  }
  return best;
}

}  // namespace warden::proxy
