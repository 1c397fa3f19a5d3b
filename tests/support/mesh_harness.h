// A small mesh for integration tests: a trust domain CA made by the test, SVIDs written
// to a temporary directory, the echo app, and sidecars running in-process on 127.0.0.1
// with port 0. Nothing listens anywhere but loopback.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "audit/audit_event.h"
#include "echo_app.h"
#include "proxy/sidecar.h"
#include "support/http_client_harness.h"
#include "support/test_pki.h"

namespace warden::testing {

inline constexpr const char* kTd = "spiffe://example.org";
inline const std::string kBackendId = "spiffe://example.org/budget-backend";
inline const std::string kReportId = "spiffe://example.org/budget-report";
inline const std::string kApprovalId = "spiffe://example.org/budget-approval";
inline const std::string kMenusId = "spiffe://example.org/employee-menus";

// The seed's target policy: budget-report may read, budget-approval may read and
// submit, employee-menus is not on the allow-list.
extern const char* const kSeedPolicy;

// Collects audit events as the sink writes them.
class AuditRecorder {
 public:
  void attach(proxy::Sidecar& sidecar);
  std::vector<audit::AuditEvent> events() const;
  // Waits until at least `n` events were seen (bounded).
  bool waitFor(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;

 private:
  mutable std::mutex mutex_;
  std::vector<audit::AuditEvent> events_;
};

class Mesh {
 public:
  Mesh();
  ~Mesh();

  TempDir dir;
  TestCa ca{"example.org"};
  std::string bundle_path;
  tools::EchoApp app;

  // Issues an SVID (signed by `issuer`, default the mesh CA) and writes cert+key files.
  ClientCredential svid(const std::string& name, const std::string& spiffe_id,
                        const LeafOptions& opts = {}, const TestCa* issuer = nullptr);
  std::string writePolicy(const std::string& yaml, const std::string& name = "policy.yaml");

  // Identity files and test-friendly polling; no listeners yet.
  proxy::SidecarConfig baseConfig(const ClientCredential& cred) const;
  proxy::SidecarConfig ingressConfig(const ClientCredential& cred, const std::string& policy_path);
  proxy::SidecarConfig egressConfig(const ClientCredential& cred,
                                    std::vector<proxy::EgressRoute> routes);
  // Starts a sidecar; fails the current test (and returns nullptr) on error.
  std::unique_ptr<proxy::Sidecar> start(proxy::SidecarConfig config);

  // The common case: backend ingress with the seed policy.
  proxy::Sidecar& backend();
  AuditRecorder& backendAudit() { return backend_audit_; }
  ClientCredential report, approval, menus, backend_cred;

 private:
  std::unique_ptr<proxy::Sidecar> backend_;
  AuditRecorder backend_audit_;
};

}  // namespace warden::testing
