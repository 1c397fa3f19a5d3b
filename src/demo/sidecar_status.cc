#include "demo/sidecar_status.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "demo/local_http.h"

namespace warden::demo {

SidecarStatus sidecarStatus(std::uint16_t admin_port, const std::vector<std::string>& trust_domains) {
  const auto res = localHttp(admin_port, "GET", "/readyz", {}, "", std::chrono::seconds(2));
  if (res.status == 0) return {false, "no answer from its admin listener"};
  if (res.status != 200) return {false, "/readyz says not ready"};
  const auto j = nlohmann::json::parse(res.body, nullptr, false);
  std::vector<std::string> held;
  if (j.is_object() && j.contains("identity") && j["identity"].is_object() &&
      j["identity"].contains("trust_domains") && j["identity"]["trust_domains"].is_array()) {
    for (const auto& td : j["identity"]["trust_domains"]) {
      if (td.is_string()) held.push_back(td.get<std::string>());
    }
  }
  for (const auto& td : trust_domains) {
    if (std::find(held.begin(), held.end(), td) == held.end()) return {false, "the bundle of " + td};
  }
  return {true, ""};
}

}  // namespace warden::demo
