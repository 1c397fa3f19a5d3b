#include "support/mesh_harness.h"

#include <gtest/gtest.h>

#include <thread>

namespace warden::testing {

const char* const kSeedPolicy = R"(version: "seed-1"
target: spiffe://example.org/budget-backend
allow:
  - id: spiffe://example.org/budget-report
  - id: spiffe://example.org/budget-approval
callers:
  - match: { id: spiffe://example.org/budget-report }
    rules:
      - id: report-read
        methods: [GET, HEAD]
        path: { exact: /budget/read }
        action: allow
      - id: report-stream
        methods: [GET, POST]
        path: { prefix: /stream }
        action: allow
      - id: report-default-deny
        methods: ["*"]
        path: { prefix: / }
        action: deny
  - match: { id: spiffe://example.org/budget-approval }
    rules:
      - id: approval-read
        methods: [GET]
        path: { exact: /budget/read }
        action: allow
      - id: approval-submit
        methods: [POST]
        path: { exact: /budget/submit }
        action: allow
)";

void AuditRecorder::attach(proxy::Sidecar& sidecar) {
  sidecar.auditSink().addObserver([this](const audit::AuditEvent& e) {
    std::lock_guard lock(mutex_);
    events_.push_back(e);
  });
}

std::vector<audit::AuditEvent> AuditRecorder::events() const {
  std::lock_guard lock(mutex_);
  return events_;
}

bool AuditRecorder::waitFor(std::size_t n, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard lock(mutex_);
      if (events_.size() >= n) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

Mesh::Mesh() {
  bundle_path = writeFile(dir.path(), "example.org.bundle.pem", ca.certPem());
  EXPECT_TRUE(app.start());
  report = svid("budget-report", kReportId);
  approval = svid("budget-approval", kApprovalId);
  menus = svid("employee-menus", kMenusId);
  backend_cred = svid("budget-backend", kBackendId);
}

Mesh::~Mesh() {
  backend_.reset();
  app.stop();
}

ClientCredential Mesh::svid(const std::string& name, const std::string& spiffe_id,
                            const LeafOptions& opts, const TestCa* issuer) {
  const TestCa& signer = issuer != nullptr ? *issuer : ca;
  Credential c = signer.issue(spiffe_id, opts);
  return ClientCredential{writeFile(dir.path(), name + ".pem", c.certPem() + signer.chainPem()),
                          writeFile(dir.path(), name + ".key", c.keyPem())};
}

std::string Mesh::writePolicy(const std::string& yaml, const std::string& name) {
  return writeFile(dir.path(), name, yaml);
}

proxy::SidecarConfig Mesh::baseConfig(const ClientCredential& cred) const {
  proxy::SidecarConfig c;
  c.source_path = "test";
  c.identity.cert_path = cred.cert_path;
  c.identity.key_path = cred.key_path;
  c.identity.bundle_paths = {{"example.org", bundle_path}};
  c.identity.poll_interval_ms = 100;  // tests rotate files and want it noticed quickly
  return c;
}

proxy::SidecarConfig Mesh::ingressConfig(const ClientCredential& cred,
                                         const std::string& policy_path) {
  proxy::SidecarConfig c = baseConfig(cred);
  c.ingress = proxy::IngressConfig{{"127.0.0.1", 0}, {"127.0.0.1", app.port()}, policy_path, ""};
  c.admin_enabled = true;
  c.admin_listen = {"127.0.0.1", 0};
  c.timeouts.header_read_ms = 3000;
  return c;
}

proxy::SidecarConfig Mesh::egressConfig(const ClientCredential& cred,
                                        std::vector<proxy::EgressRoute> routes) {
  proxy::SidecarConfig c = baseConfig(cred);
  c.egress = proxy::EgressConfig{{"127.0.0.1", 0}, std::move(routes)};
  return c;
}

std::unique_ptr<proxy::Sidecar> Mesh::start(proxy::SidecarConfig config) {
  auto s = proxy::Sidecar::create(std::move(config));
  if (!s) {
    ADD_FAILURE() << "sidecar create: " << s.error().message;
    return nullptr;
  }
  if (auto st = (*s)->start(); !st) {
    ADD_FAILURE() << "sidecar start: " << st.message();
    return nullptr;
  }
  return std::move(*s);
}

proxy::Sidecar& Mesh::backend() {
  if (!backend_) {
    backend_ = start(ingressConfig(backend_cred, writePolicy(kSeedPolicy)));
    backend_audit_.attach(*backend_);
  }
  return *backend_;
}

}  // namespace warden::testing
