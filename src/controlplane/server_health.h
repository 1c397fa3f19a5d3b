// The `server` section of GET /api/v1/health: what this control plane runs and how each
// part is doing (store, local CA, federated bundles, token service, external identity
// providers). A component the server does not run is left out, never invented.
// Thread-safety: describeServer() reads components that are themselves thread-safe; the
// callbacks must be callable from the API's I/O thread.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "controlplane/store.h"
#include "issuer/issuer.h"
#include "issuer/jwt_authority.h"

namespace warden::controlplane {

class ExternalIdentityProviders;

struct TokenServiceHealth {
  std::string issuer;
  std::vector<issuer::JwtAuthority::KeyState> keys;
};

// One federated trust domain's bundle as the server holds it.
struct BundleHealth {
  std::string trust_domain;
  std::string source;             // where it is fetched from (the bundle endpoint URL)
  std::int64_t refreshed_at = 0;  // last successful fetch, Unix seconds; 0: never
  bool stale = false;             // no bundle yet, or the last refresh failed
};

struct ServerHealthInputs {
  std::int64_t started_at = 0;
  std::string database;  // the store's file (only its base name is shown)
  issuer::Issuer* issuer = nullptr;
  const ExternalIdentityProviders* identity_providers = nullptr;  // null: none configured
  // Unset: the server does not run a token service / has no federation relationships.
  std::function<std::optional<TokenServiceHealth>()> token_service;
  std::function<std::vector<BundleHealth>()> federated_bundles;
};

nlohmann::json describeServer(const ServerHealthInputs& in, Store& store, std::int64_t now);

}  // namespace warden::controlplane
