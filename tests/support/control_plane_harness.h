// A control plane for integration tests: the embedded issuer (trust domain example.org),
// a SQLite store in a temporary directory and the API server on 127.0.0.1, plus helpers
// to call the API as an identity and to run sidecars in control-plane mode with SVIDs
// the issuer minted. Nothing listens anywhere but loopback.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "controlplane/api_server.h"
#include "controlplane/ssf_service.h"
#include "controlplane/store.h"
#include "echo_app.h"
#include "issuer/identity_server.h"
#include "proxy/sidecar.h"
#include "support/http_client_harness.h"
#include "support/test_pki.h"

namespace warden::testing {

inline const std::string kServerSpiffeId = "spiffe://example.org/warden/server";
inline const std::string kAdminId = "spiffe://example.org/ops/admin";
inline const std::string kViewerId = "spiffe://example.org/ops/viewer";
// On the developers list: may change developer policies, nothing else.
inline const std::string kDeveloperId = "spiffe://example.org/ops/developer";

class ControlPlane {
 public:
  // Entries: warden-server, admin, developer, viewer, stranger, and one per name in `agents`
  // (spiffe://example.org/<name>).
  explicit ControlPlane(std::vector<std::string> agents = {"budget-backend", "budget-report",
                                                           "budget-approval", "employee-menus"});
  ~ControlPlane();

  TempDir dir;
  tools::EchoApp app;
  // Seconds added to the API server's clock where it checks login tokens' expiry (tests
  // of expiry move it forward instead of sleeping). Read on every request.
  std::atomic<std::int64_t> api_clock_offset{0};

  // (Re)starts the API over the same store file and state; stop() closes it. With
  // `ssf` set, the API serves a Shared Signals push receiver built from it (as `warden
  // server` does; its default audience is the API's base URL).
  void start();
  // External OIDC providers the API accepts people from (set before start()).
  std::vector<controlplane::IdentityProviderConfig> identity_providers;
  // The portal's files and sign-in (set before start()).
  std::optional<controlplane::PortalConfig> portal;
  // Sign-in throttling, and a hook run on the API's password thread before each scrypt
  // (ApiServerHooks::before_password_work); set before start().
  controlplane::LoginThrottleOptions login_throttle;
  std::function<void()> before_password_work;
  void stop();
  controlplane::Store& store() { return *store_; }
  controlplane::ApiServer& api() { return *api_; }
  const std::string& baseUrl() const { return base_url_; }
  const std::string& adminPassword() const { return admin_password_; }
  std::optional<controlplane::SsfConfig> ssf;
  controlplane::SsfEndpoint* ssfEndpoint() { return ssf_.get(); }

  // SVID files of a registration entry; cached per name.
  ClientCredential credential(const std::string& entry);
  std::string bundlePath() const { return bundle_path_; }

  // One HTTPS request; `who` empty: no client certificate. JSON bodies get the JSON type.
  HttpResponse call(const std::optional<ClientCredential>& who, const std::string& method,
                    const std::string& target, const std::string& body = "",
                    const std::string& extra_headers = "");
  HttpResponse admin(const std::string& method, const std::string& target,
                     const std::string& body = "", const std::string& extra_headers = "") {
    return call(credential("admin"), method, target, body, extra_headers);
  }
  static nlohmann::json json(const HttpResponse& r) {
    return nlohmann::json::parse(r.body, nullptr, false);
  }

  // Registers an agent through the API (admin); fails the test on error.
  void addAgent(const nlohmann::json& agent);
  // PUTs a document (policy or governance) with the current ETag; returns the response.
  HttpResponse putDocument(const std::string& kind, const std::string& target,
                           const std::string& content, const std::string& comment = "");

  // A sidecar in control-plane mode for `entry`: ingress to the echo app when `ingress`.
  // `instance` separates the state directories of several sidecars of one agent.
  proxy::SidecarConfig sidecarConfig(const std::string& entry, bool ingress,
                                     const std::string& instance = "");
  std::unique_ptr<proxy::Sidecar> startSidecar(proxy::SidecarConfig config);

 private:
  std::unique_ptr<issuer::IdentityServer> identity_;
  std::vector<issuer::RegistrationEntry> entries_;
  std::unique_ptr<controlplane::Store> store_;
  std::unique_ptr<controlplane::ApiServer> api_;
  std::shared_ptr<controlplane::SsfEndpoint> ssf_;
  std::string bundle_path_;
  std::string admin_password_;
  std::uint16_t port_ = 0;
  std::string base_url_;  // kept while the API is stopped
  std::map<std::string, ClientCredential> credentials_;
};

}  // namespace warden::testing
