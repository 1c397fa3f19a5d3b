// Federation end to end (issue 3; identity-standards §10.7 F1, F2): two Warden issuers for
// two trust domains publish their bundles over https_web bundle endpoints and fetch each
// other's; a caller from gcp.example (its own issuer, its own Workload API) calls a target
// in example.org through real sidecars, verified against the gcp.example bundle and governed
// by its own policy entry. The foreign CA then rotates mid-traffic: no call fails.
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "issuer/identity_server.h"
#include "support/mesh_harness.h"
#include "support/test_env.h"

namespace warden::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const std::string kGcpReaderId = "spiffe://gcp.example/google-budget-reader";

constexpr const char* kFederatedPolicy = R"(version: "fed-1"
target: spiffe://example.org/budget-backend
allow:
  - id: spiffe://gcp.example/google-budget-reader
callers:
  - match: { id: spiffe://gcp.example/google-budget-reader }
    rules:
      - id: gcp-read
        methods: [GET]
        path: { exact: /budget/read }
        action: allow
      - id: gcp-default-deny
        methods: ["*"]
        path: { prefix: / }
        action: deny
)";


class FederationMeshTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The bundle endpoints' Web PKI: a CA the fetchers are told to trust, and a server
    // certificate for 127.0.0.1 (https_web verifies the host per RFC 6125).
    web_ca_file = writeFile(mesh.dir.path(), "web-ca.pem", web_ca.certPem());
    auto server_cert = web_ca.issue("spiffe://web.test/bundle-endpoint", [] {
      LeafOptions o;
      o.ips = {"127.0.0.1"};
      return o;
    }());
    web_cert_pem = server_cert.certPem();
    web_key_pem = server_cert.keyPem();
    writeFile(mesh.dir.path(), "web.pem", web_cert_pem);
    writeFile(mesh.dir.path(), "web.key", web_key_pem);

    example = startIssuer("example.org", "budget-backend", "gcp.example");
    gcp = startIssuer("gcp.example", "google-budget-reader", "example.org");
    fetchers.push_back(fetch(*example, "gcp.example", gcp->bundleEndpointPort()));
    fetchers.push_back(fetch(*gcp, "example.org", example->bundleEndpointPort()));
  }

  std::string socketFor(const std::string& name) {
    return mesh.dir.path() + "/sockets/" + name + ".sock";
  }

  std::unique_ptr<issuer::IdentityServer> startIssuer(const std::string& td,
                                                      const std::string& workload,
                                                      const std::string& federates_with) {
    issuer::IdentityServerConfig c;
    c.trust_domain = td;
    c.state_dir = mesh.dir.path() + "/state-" + td;
    c.bundle_refresh_hint = seconds(1);
    c.bundle_endpoint = issuer::BundleEndpointConfig{"127.0.0.1", 0, "/bundle",
                                                     mesh.dir.file("web.pem"),
                                                     mesh.dir.file("web.key")};
    issuer::RegistrationEntry e;
    e.name = workload;
    e.spiffe_id = identity::SpiffeId::parse("spiffe://" + td + "/" + workload).value();
    e.socket_path = socketFor(workload);
    e.federates_with = {federates_with};
    c.entries = {e};
    issuer::IdentityServerTuning tuning;
    tuning.rotation_tick = milliseconds(100);
    auto s = issuer::IdentityServer::start(c, tuning);
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    return s.ok() ? std::move(*s) : nullptr;
  }

  // The relationship the server would build from its config: trust domain, URL and
  // profile given explicitly, none inferred from another.
  std::unique_ptr<issuer::FederationFetcher> fetch(issuer::IdentityServer& into,
                                                   const std::string& td, std::uint16_t port) {
    issuer::FederationRelationship r;
    r.trust_domain = td;
    r.url = "https://127.0.0.1:" + std::to_string(port) + "/bundle";
    r.profile = issuer::FederationProfile::kHttpsWeb;
    r.ca_file = web_ca_file;
    issuer::FederationTiming timing;
    timing.min_refresh = milliseconds(200);
    timing.retry = milliseconds(200);
    issuer::Issuer* target = &into.issuer();
    auto f = issuer::FederationFetcher::start(
        {r}, [target](const identity::SpiffeBundle& b) { target->setFederatedBundle(b); }, timing);
    EXPECT_TRUE(f.ok()) << (f.ok() ? "" : f.error().message);
    return f.ok() ? std::move(*f) : nullptr;
  }

  proxy::SidecarConfig withWorkloadApi(proxy::SidecarConfig c, const std::string& name) {
    c.identity = {};
    c.identity.workload_api = "unix://" + socketFor(name);
    c.admin_enabled = true;
    c.admin_listen = {"127.0.0.1", 0};
    return c;
  }

  std::optional<HttpResponse> call(const std::string& method, const std::string& path) {
    auto c = TestConnection::plain(caller->egressEndpoint().port);
    if (!c || !c->send(makeRequest(method, path, "Connection: close\r\n", method == "POST" ? "{}" : ""))) {
      return std::nullopt;
    }
    return c->read();
  }

  static int identityReloads(proxy::Sidecar& sidecar) {
    auto c = TestConnection::plain(sidecar.adminEndpoint().port);
    if (!c || !c->send("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n")) return -1;
    auto r = c->read();
    if (!r) return -1;
    const std::string key = "warden_reloads_total{result=\"ok\",what=\"identity\"} ";
    const auto pos = r->body.find(key);
    return pos == std::string::npos ? 0 : std::atoi(r->body.c_str() + pos + key.size());
  }

  // How many CAs of `td` the issuer holds (0: none yet).
  static std::size_t casHeldBy(issuer::Issuer& iss, const std::string& td) {
    for (const auto& [name, certs] : iss.x509Bundles()) {
      if (name == td) return certs.size();
    }
    return 0;
  }

  void startSidecars() {
    backend = mesh.start(withWorkloadApi(
        mesh.ingressConfig(mesh.backend_cred, mesh.writePolicy(kFederatedPolicy)), "budget-backend"));
    ASSERT_NE(backend, nullptr);
    proxy::EgressRoute r;
    r.host = "budget-backend";
    r.address = {"127.0.0.1", backend->ingressEndpoint().port};
    r.spiffe_id = kBackendId;
    caller = mesh.start(withWorkloadApi(mesh.egressConfig(mesh.report, {r}), "google-budget-reader"));
    ASSERT_NE(caller, nullptr);
    ASSERT_TRUE(waitUntil([&] { return backend->ready() && caller->ready(); }, seconds(10)));
  }

  Mesh mesh;
  TestCa web_ca{"web.test"};
  std::string web_ca_file, web_cert_pem, web_key_pem;
  std::unique_ptr<issuer::IdentityServer> example, gcp;
  std::vector<std::unique_ptr<issuer::FederationFetcher>> fetchers;
  std::unique_ptr<proxy::Sidecar> backend, caller;
};

TEST_F(FederationMeshTest, CrossDomainCallIsVerifiedAndGovernedByItsOwnPolicyEntry) {
  ASSERT_TRUE(example && gcp);
  // F1: each side holds the other's bundle, fetched from its bundle endpoint.
  ASSERT_TRUE(waitUntil([&] { return casHeldBy(example->issuer(), "gcp.example") > 0 &&
                                     casHeldBy(gcp->issuer(), "example.org") > 0; },
                        seconds(10)));
  startSidecars();
  auto read = call("GET", "/budget/read");
  ASSERT_TRUE(read);
  EXPECT_EQ(read->status, 200) << read->body;
  EXPECT_EQ(nlohmann::json::parse(read->body)["caller_spiffe_id"], kGcpReaderId);
  auto submit = call("POST", "/budget/submit");
  ASSERT_TRUE(submit);
  EXPECT_EQ(submit->status, 403);
  EXPECT_EQ(nlohmann::json::parse(submit->body)["error"], "rule_denied");
}

// F2: gcp.example prepares a new CA (published: example.org fetches it), then activates
// it (the caller's SVID is re-minted by the new CA). Continuous calls on fresh connections
// (each a new handshake) never fail.
TEST_F(FederationMeshTest, ForeignCaRotationKeepsCallsSucceeding) {
  ASSERT_TRUE(example && gcp);
  ASSERT_TRUE(waitUntil([&] { return casHeldBy(example->issuer(), "gcp.example") > 0 &&
                                     casHeldBy(gcp->issuer(), "example.org") > 0; },
                        seconds(10)));
  startSidecars();
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::string first_failure;
  std::mutex failure_mutex;
  std::thread traffic([&] {
    while (!stop.load()) {
      auto r = call("GET", "/budget/read");
      if (r && r->status == 200) {
        ++ok;
      } else {
        ++failed;
        std::lock_guard lock(failure_mutex);
        if (first_failure.empty()) first_failure = r ? std::to_string(r->status) + " " + r->body : "no response";
      }
    }
  });
  auto caller_expiry = [&] {
    auto c = TestConnection::plain(caller->adminEndpoint().port);
    if (!c || !c->send("GET /readyz HTTP/1.1\r\nHost: a\r\n\r\n")) return std::int64_t{0};
    auto r = c->read();
    return r ? nlohmann::json::parse(r->body)["identity"]["expires_unix"].get<std::int64_t>() : 0;
  };
  std::this_thread::sleep_for(milliseconds(500));
  const auto old_gcp_root = gcp->issuer().x509Authority().activeCertificate();
  const int backend_reloads = identityReloads(*backend);
  ASSERT_TRUE(gcp->issuer().prepareRotation().ok());
  // example.org picks up the new gcp.example bundle (two CAs) within the refresh hint.
  ASSERT_TRUE(waitUntil([&] { return casHeldBy(example->issuer(), "gcp.example") == 2; },
                        seconds(10)));
  // ...and the backend's Workload API stream pushes it to the backend sidecar, which
  // counts every identity update it applies.
  ASSERT_TRUE(waitUntil([&] { return identityReloads(*backend) > backend_reloads; }, seconds(10)));
  const auto before = caller_expiry();
  ASSERT_TRUE(gcp->issuer().activateRotation().ok());
  ASSERT_TRUE(waitUntil([&] { return caller_expiry() != before; }, seconds(10)))
      << "the caller must receive an SVID from the new CA";
  std::this_thread::sleep_for(milliseconds(1500));
  stop = true;
  traffic.join();
  EXPECT_EQ(failed.load(), 0) << first_failure;
  EXPECT_GT(ok.load(), 20);
  EXPECT_NE(issuer::certificateDer(gcp->issuer().x509Authority().activeCertificate().get()),
            issuer::certificateDer(old_gcp_root.get()));
}

}  // namespace
}  // namespace warden::testing
