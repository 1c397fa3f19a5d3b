// Registration entries: which workload gets which SPIFFE ID (SPIRE's model).
//
// An entry grants its SPIFFE ID to a caller whose attested selectors include every one of
// the entry's selectors (`unix:uid:1000`, `unix:gid:1000`, `unix:user:alice`,
// `unix:group:staff`, `unix:path:/usr/bin/app`, `unix:sha256:<hex>`). An entry may instead
// (or also) be bound to a per-workload socket: only callers on that socket can get it, and
// its selectors, if any, must still match. An entry with neither selectors nor a socket is
// invalid: it would grant its identity to anyone.
// Thread-safety: plain values.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "identity/spiffe_id.h"

namespace warden::issuer {

struct RegistrationEntry {
  std::string name;  // stable, unique: the entry's id in config, logs and APIs
  identity::SpiffeId spiffe_id;
  std::vector<std::string> selectors;  // "type:key:value", sorted, unique
  std::chrono::seconds x509_ttl{std::chrono::hours(1)};
  std::chrono::seconds jwt_ttl{std::chrono::minutes(5)};
  std::vector<std::string> dns_names;
  std::vector<std::string> federates_with;  // bare trust-domain names
  std::string socket_path;                  // per-workload socket (optional)
  std::string hint;                         // Workload API hint (optional)
};

// Checks one selector's syntax: a known unix selector with a well-formed value.
Status validateSelector(std::string_view selector);
// Checks an entry on its own (IDs, TTLs, selectors, trust domains).
Status validateEntry(const RegistrationEntry& entry, std::string_view own_trust_domain);
// Checks a set of entries together (unique names, unique socket paths).
Status validateEntries(const std::vector<RegistrationEntry>& entries,
                       std::string_view own_trust_domain);

// True when every selector of `entry` is in `workload_selectors` (both sorted).
bool selectorsMatch(const RegistrationEntry& entry,
                    const std::vector<std::string>& workload_selectors);

}  // namespace warden::issuer
