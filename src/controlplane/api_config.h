// The `control_plane:` section of `warden server`'s configuration, as plain structs.
//
// Parsed strictly (unknown keys are errors; messages name file, line and field path);
// relative paths resolve against the config file's directory. docs/control-plane.md has
// the schema. Thread-safety: plain values.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "controlplane/external_idp.h"
#include "controlplane/login_throttle.h"
#include "controlplane/sign_in_provider_config.h"
#include "identity/id_matcher.h"

namespace warden::controlplane {

// Who may call the API, by the SPIFFE ID of their X509-SVID (mTLS). Sidecars need no
// entry: a verified SVID of a registered agent may fetch its own view and ship audit.
struct ApiAccessConfig {
  std::vector<identity::IdMatcher> admins;
  std::vector<identity::IdMatcher> developers;  // may change developer policies only
  std::vector<identity::IdMatcher> viewers;
  // People signed in at external OIDC providers (external_idp.h).
  std::vector<IdentityProviderConfig> identity_providers;
};

// One Shared Signals transmitter whose SETs `warden server` accepts (docs/ssf.md,
// docs/control-plane.md#shared-signals).
inline constexpr std::size_t kMaxSsfIssuerBytes = 252;  // "ssf:<issuer>" fits a risk_source

struct SsfTransmitterConfig {
  std::string issuer;      // exactly the SETs' `iss`
  std::string jwks_url;    // exactly one of jwks_url and jwks_file
  std::string jwks_file;   // re-read every 5 minutes
  std::string ca_file;     // PEM roots for jwks_url instead of the system's
  std::vector<std::string> algorithms{"RS256", "PS256", "ES256"};
  // The exact Authorization header value its pushes carry (the stream's
  // delivery.authorization_header); empty: it pushes without one.
  std::string push_authorization;
};

// `control_plane.ssf`: the push receiver at POST /api/v1/ssf/events.
struct SsfConfig {
  // The `aud` SETs must carry; empty: the API's base URL (https://<listen host>:<port>).
  std::string audience;
  std::vector<SsfTransmitterConfig> transmitters;
  // SETs older than this are refused; replayed jtis are remembered this long (plus skew).
  std::chrono::seconds max_age{std::chrono::hours(24)};
  // How long a revocation from session-revoked / credential-change stays in force: at
  // least the longest access-token lifetime any target accepts.
  std::chrono::seconds revocation_ttl{std::chrono::hours(24)};
};

// `control_plane.portal`: the web portal served from the API's listener, and the
// OpenID Connect sign-in (authorization code + PKCE) its single-page app uses.
struct PortalConfig {
  std::string dir;  // the built SPA (index.html, assets/...)
  // Redirect URIs accepted for the `warden-portal` client besides <base URL>/callback,
  // compared exactly (a development server on another origin).
  std::vector<std::string> redirect_uris;
  // External OpenID Providers offered on the sign-in page (upstream_sign_in.h).
  std::vector<SignInProviderConfig> sign_in_providers;
};

struct ControlPlaneConfig {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 0;
  std::string tls_svid_entry;  // registration entry whose X509-SVID the API presents
  // The URL people and browsers use (login tokens' `iss`, the portal's OIDC issuer and
  // redirect URI), when it is not https://<listen>: e.g. https://localhost:8444 for a
  // browser, which checks the host name. Sidecars use whatever URL they are given.
  std::string public_url;
  std::string database;        // SQLite file; default <state_dir>/warden.db
  ApiAccessConfig access;
  // A bootstrap administrator (user "admin") whose password is generated at first start,
  // printed once and stored hashed; `warden server rotate-admin` replaces it.
  bool bootstrap_admin = true;
  std::chrono::seconds login_token_ttl{std::chrono::hours(1)};
  // Password-guessing protection for both sign-ins (login_throttle.h).
  LoginThrottleOptions login_throttle;
  std::chrono::seconds audit_retention{std::chrono::hours(24 * 30)};
  std::chrono::seconds long_poll_max{std::chrono::seconds(30)};
  // A YAML file of agents, policies and governance blocks loaded once into an empty store.
  std::string seed_path;
  // Shared Signals receiver; unset: POST /api/v1/ssf/events answers 404.
  std::optional<SsfConfig> ssf;
  // The portal and its sign-in; unset: `/` and `/oauth2/...` answer 404.
  std::optional<PortalConfig> portal;
  std::string source_path;
};

// nullopt when the file has no control_plane section.
Result<std::optional<ControlPlaneConfig>> parseControlPlaneConfig(const std::string& yaml_text,
                                                                  const std::string& source_path,
                                                                  const std::string& state_dir);
Result<std::optional<ControlPlaneConfig>> loadControlPlaneConfig(const std::string& path,
                                                                 const std::string& state_dir);

}  // namespace warden::controlplane
