// The identity part of `warden server`'s configuration, as plain structs.
//
// Parsed strictly from YAML (unknown keys are errors; messages name file, line and field
// path); relative paths are resolved against the config file's directory. Validation
// of entries is registration.h's; of federation relationships, federation.h's.
// See docs/identity.md for the schema. Thread-safety: plain values.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "issuer/federation.h"
#include "issuer/jwt_authority.h"
#include "issuer/registration.h"

namespace warden::issuer {

struct BundleEndpointConfig {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 0;
  std::string path = "/";
  std::string cert_path;  // https_web: a Web PKI certificate for the endpoint's host
  std::string key_path;
};

struct IdentityServerConfig {
  std::string source_path;
  std::string trust_domain;
  std::string state_dir;
  std::chrono::seconds ca_ttl{std::chrono::hours(24)};
  std::chrono::seconds jwt_key_ttl{std::chrono::hours(24)};
  JwtKeyType jwt_key_type = JwtKeyType::kEcP256;
  // `iss` of every JWT-SVID; with a bundle endpoint, its OIDC discovery document and JWKS
  // are served there too (oidc_discovery.h). Empty: JWT-SVIDs carry no `iss`.
  std::string jwt_issuer;
  std::chrono::seconds bundle_refresh_hint{std::chrono::minutes(5)};
  std::string workload_api_socket;  // shared, attested socket (optional)
  std::optional<BundleEndpointConfig> bundle_endpoint;
  std::vector<FederationRelationship> federation;
  std::vector<RegistrationEntry> entries;
};

Result<IdentityServerConfig> parseIdentityServerConfig(const std::string& yaml_text,
                                                       const std::string& source_path);
Result<IdentityServerConfig> loadIdentityServerConfig(const std::string& path);

}  // namespace warden::issuer
