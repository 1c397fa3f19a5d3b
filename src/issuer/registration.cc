#include "issuer/registration.h"

#include <algorithm>
#include <set>

namespace warden::issuer {
namespace {

bool allDigits(std::string_view s) {
  return !s.empty() && s.size() <= 10 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool isLowerHex(std::string_view s, std::size_t length) {
  return s.size() == length && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

Status validateSelector(std::string_view selector) {
  constexpr std::string_view kUnix = "unix:";
  if (!selector.starts_with(kUnix)) {
    return Error{"selector \"" + std::string(selector) +
                 "\": only unix selectors are supported (unix:uid, unix:gid, unix:user, "
                 "unix:group, unix:path, unix:sha256)"};
  }
  const std::string_view rest = selector.substr(kUnix.size());
  const auto colon = rest.find(':');
  if (colon == std::string_view::npos) {
    return Error{"selector \"" + std::string(selector) + "\": expected unix:<key>:<value>"};
  }
  const std::string_view key = rest.substr(0, colon);
  const std::string_view value = rest.substr(colon + 1);
  const std::string what = "selector \"" + std::string(selector) + "\": ";
  if (key == "uid" || key == "gid") {
    if (!allDigits(value)) return Error{what + "expected a numeric id"};
  } else if (key == "user" || key == "group") {
    if (value.empty()) return Error{what + "expected a name"};
  } else if (key == "path") {
    if (value.empty() || value.front() != '/') return Error{what + "expected an absolute path"};
  } else if (key == "sha256") {
    if (!isLowerHex(value, 64)) return Error{what + "expected 64 lower-case hex digits"};
  } else {
    return Error{what + "unknown key \"" + std::string(key) + "\""};
  }
  return {};
}

Status validateEntry(const RegistrationEntry& entry, std::string_view own_trust_domain) {
  const std::string where = "entry \"" + entry.name + "\": ";
  if (entry.name.empty()) return Error{"entry without a name"};
  if (entry.spiffe_id.trustDomain() != own_trust_domain) {
    return Error{where + "spiffe_id " + entry.spiffe_id.str() + " is not in trust domain " +
                 std::string(own_trust_domain)};
  }
  if (!entry.spiffe_id.hasPath()) return Error{where + "spiffe_id needs a path"};
  if (entry.selectors.empty() && entry.socket_path.empty()) {
    return Error{where + "needs selectors or a socket (otherwise any process could get it)"};
  }
  for (const auto& s : entry.selectors) {
    if (auto st = validateSelector(s); !st) return Error{where + st.message()};
  }
  if (!std::is_sorted(entry.selectors.begin(), entry.selectors.end()) ||
      std::adjacent_find(entry.selectors.begin(), entry.selectors.end()) !=
          entry.selectors.end()) {
    return Error{where + "selectors must be sorted and unique"};
  }
  if (entry.x509_ttl < std::chrono::seconds(1) || entry.jwt_ttl < std::chrono::seconds(1)) {
    return Error{where + "TTLs must be at least 1s"};
  }
  for (const auto& td : entry.federates_with) {
    if (auto st = identity::validateTrustDomain(td); !st) {
      return Error{where + "federates_with: " + st.message()};
    }
    if (td == own_trust_domain) return Error{where + "federates_with names its own trust domain"};
  }
  if (!entry.socket_path.empty() && entry.socket_path.front() != '/') {
    return Error{where + "socket must be an absolute path"};
  }
  return {};
}

Status validateEntries(const std::vector<RegistrationEntry>& entries,
                       std::string_view own_trust_domain) {
  std::set<std::string> names;
  std::set<std::string> sockets;
  for (const auto& e : entries) {
    if (auto st = validateEntry(e, own_trust_domain); !st) return st;
    if (!names.insert(e.name).second) return Error{"duplicate entry name \"" + e.name + "\""};
    if (!e.socket_path.empty() && !sockets.insert(e.socket_path).second) {
      return Error{"entry \"" + e.name + "\": socket " + e.socket_path +
                   " is already bound to another entry"};
    }
  }
  return {};
}

bool selectorsMatch(const RegistrationEntry& entry,
                    const std::vector<std::string>& workload_selectors) {
  return std::includes(workload_selectors.begin(), workload_selectors.end(),
                       entry.selectors.begin(), entry.selectors.end());
}

}  // namespace warden::issuer
