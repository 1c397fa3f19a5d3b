// `control_plane.portal.sign_in_providers`: external OpenID Providers people may sign in to
// the portal at, with the server as the relying party (upstream_sign_in.h).
//
// Trust posture: configuration is trusted, but it decides whom we trust for identities, so
// it is checked strictly and nothing is normalised: the issuer is compared byte for byte
// with the discovery document and the ID tokens; URLs follow the rules of every other
// Warden fetch (token/fetch_url.h: https, plain http only to a loopback IP literal).
// Thread-safety: plain values; the reader is pure apart from resolving paths.
#pragma once

#include <string>
#include <vector>

#include "common/yaml_reader.h"

namespace warden::controlplane {

struct SignInProviderConfig {
  std::string name;          // [a-z0-9-]+: the callback path segment and the subject prefix
  std::string display_name;  // "Sign in with <display_name>"
  std::string issuer;        // exactly the discovery document's and the ID tokens' `iss`
  std::string discovery;     // default <issuer>/.well-known/openid-configuration
  std::string ca_file;       // PEM roots for https instead of the system's
  std::string client_id;
  std::string client_secret_file;  // read at start; client_secret_basic at the token endpoint
  std::vector<std::string> scopes{"openid", "profile", "email"};
  std::string role_claim;  // e.g. groups or roles (a dotted path for nested claims)
  std::vector<std::string> admin_values;
  std::vector<std::string> developer_values;
  std::vector<std::string> viewer_values;
  // Whose the principal is: "<name>:<value of this claim>". Empty: preferred_username,
  // falling back to sub.
  std::string subject_claim;
};

// Reads and checks the list at `path`; errors go through `r.fail` (field paths such as
// control_plane.portal.sign_in_providers[1].scopes).
std::vector<SignInProviderConfig> readSignInProviders(const YamlReader& r, const YAML::Node& node,
                                                      const std::string& path,
                                                      const std::string& base_dir);

}  // namespace warden::controlplane
