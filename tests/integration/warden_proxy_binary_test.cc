// `warden-proxy`, the sidecar-only binary, as a user runs it. What it is for: a sidecar
// that reads its SVID from files never maps gRPC (workload/transport.h), and one that
// takes its identity from the Workload API loads the gRPC transport plugin beside the
// binary and works exactly as `warden proxy` does. A missing plugin is a one-line startup
// error, never a sidecar waiting forever for an identity.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "issuer/identity_server.h"
#include "support/mesh_harness.h"
#include "support/process_harness.h"
#include "support/test_env.h"
#include "workload/workload_client.h"

namespace warden::testing {
namespace {

using std::chrono::seconds;

int lineCount(const std::string& s) {
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

// The paths of every file the process has mapped (/proc/<pid>/maps).
std::string mappedFiles(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/maps");
  std::stringstream all;
  all << in.rdbuf();
  return all.str();
}

std::uint16_t ingressPort(const ChildProcess& proxy) {
  std::smatch m;
  const std::string log = proxy.out() + proxy.err();
  if (!std::regex_search(log, m, std::regex("ingress=127\\.0\\.0\\.1:(\\d+)"))) return 0;
  return static_cast<std::uint16_t>(std::stoi(m[1]));
}

class WardenProxyBinaryTest : public ::testing::Test {
 protected:
  std::string ingressYaml(const std::string& identity_block) {
    return identity_block + "ingress:\n  listen: 127.0.0.1:0\n  upstream: 127.0.0.1:" +
           std::to_string(mesh.app.port()) + "\n  policy: " + mesh.writePolicy(kSeedPolicy) +
           "\n";
  }
  std::string fileIdentity() const {
    return "identity:\n  cert: " + mesh.backend_cred.cert_path + "\n  key: " +
           mesh.backend_cred.key_path + "\n  bundles: {example.org: " + mesh.bundle_path + "}\n";
  }
  std::string socketPath(const std::string& name = "budget-backend") const {
    return mesh.dir.path() + "/sockets/" + name + ".sock";
  }
  std::string workloadApiIdentity() const {
    return "identity:\n  workload_api: unix://" + socketPath() + "\n  poll_interval_ms: 100\n";
  }

  static issuer::RegistrationEntry entry(const std::string& name, const std::string& id,
                                         const std::string& socket) {
    issuer::RegistrationEntry e;
    e.name = name;
    e.spiffe_id = identity::SpiffeId::parse(id).value();
    e.socket_path = socket;
    return e;
  }

  // The embedded issuer; the caller's SVID comes from it too (over the linked-in transport),
  // since the sidecar trusts only the issuer's bundle.
  void startIdentityServer() {
    issuer::IdentityServerConfig c;
    c.trust_domain = "example.org";
    c.state_dir = mesh.dir.path() + "/server-state";
    c.entries = {entry("budget-backend", kBackendId, socketPath()),
                 entry("budget-report", kReportId, socketPath("budget-report"))};
    auto s = issuer::IdentityServer::start(c, {});
    ASSERT_TRUE(s.ok()) << s.error().message;
    server = std::move(*s);
    auto address = workload::parseEndpointAddress("unix://" + socketPath("budget-report"));
    ASSERT_TRUE(address.ok());
    auto x509 = workload::WorkloadClient(*address).fetchX509Context();
    ASSERT_TRUE(x509.ok()) << x509.error().message;
    caller = ClientCredential{writeFile(mesh.dir.path(), "report.crt", x509->defaultSvid().chainPem()),
                              writeFile(mesh.dir.path(), "report.key", x509->defaultSvid().keyPem())};
  }

  // A GET /budget/read as budget-report through the sidecar's ingress.
  int readBudget(std::uint16_t port) {
    auto c = TestConnection::tls(port, caller);
    if (!c || !c->send(makeRequest("GET", "/budget/read"))) return 0;
    auto res = c->read();
    return res ? res->status : 0;
  }

  Mesh mesh;
  ClientCredential caller = mesh.report;  // budget-report, signed by the mesh's test CA
  std::unique_ptr<issuer::IdentityServer> server;
};

TEST_F(WardenProxyBinaryTest, FileIdentitySidecarServesWithoutMappingGrpc) {
  const auto config = writeFile(mesh.dir.path(), "sidecar.yaml", ingressYaml(fileIdentity()));
  ChildProcess proxy({WARDEN_PROXY_BINARY, "--config", config}, mesh.dir.path());
  ASSERT_TRUE(proxy.started());
  ASSERT_TRUE(proxy.waitForOutput("warden-proxy ready", seconds(10))) << proxy.out() << proxy.err();
  const auto port = ingressPort(proxy);
  ASSERT_NE(port, 0);
  EXPECT_EQ(readBudget(port), 200);
  const std::string maps = mappedFiles(proxy.pid());
  ASSERT_NE(maps.find("libssl"), std::string::npos) << "maps unreadable?\n" << maps;
  EXPECT_EQ(maps.find("libgrpc"), std::string::npos) << maps;
  EXPECT_EQ(maps.find("libprotobuf"), std::string::npos) << maps;
  EXPECT_EQ(maps.find("warden-workload-grpc.so"), std::string::npos) << maps;
  proxy.signal(SIGTERM);
  EXPECT_EQ(proxy.wait(seconds(10)), std::optional<int>(0));
}

TEST_F(WardenProxyBinaryTest, WorkloadApiSidecarLoadsTheGrpcPluginAndServes) {
  startIdentityServer();
  const auto config =
      writeFile(mesh.dir.path(), "sidecar.yaml", ingressYaml(workloadApiIdentity()));
  ChildProcess proxy({WARDEN_PROXY_BINARY, "--config", config}, mesh.dir.path());
  ASSERT_TRUE(proxy.started());
  ASSERT_TRUE(proxy.waitForOutput("warden-proxy ready", seconds(10))) << proxy.out() << proxy.err();
  const auto port = ingressPort(proxy);
  ASSERT_NE(port, 0);
  // The ingress listens once the first SVID has come over the Workload API.
  int status = 0;
  EXPECT_TRUE(waitUntil([&] { return (status = readBudget(port)) == 200; }, seconds(15)))
      << "last status " << status << "\n" << proxy.err();
  EXPECT_NE(mappedFiles(proxy.pid()).find("warden-workload-grpc.so"), std::string::npos);
  proxy.signal(SIGTERM);
  EXPECT_EQ(proxy.wait(seconds(10)), std::optional<int>(0));
}

TEST_F(WardenProxyBinaryTest, WithoutItsPluginAWorkloadApiSidecarRefusesToStart) {
  // A copy of the binary in a directory without the plugin: what a broken install looks like.
  const auto lonely = mesh.dir.path() + "/lonely";
  std::filesystem::create_directories(lonely);
  std::filesystem::copy_file(WARDEN_PROXY_BINARY, lonely + "/warden-proxy");
  const auto config =
      writeFile(mesh.dir.path(), "sidecar.yaml", ingressYaml(workloadApiIdentity()));
  const auto r = runToCompletion({lonely + "/warden-proxy", "--config", config}, mesh.dir.path());
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(lineCount(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("identity.workload_api: the Workload API transport " + lonely +
                       "/warden-workload-grpc.so cannot be loaded"),
            std::string::npos)
      << r.err;
  // The same copy still runs a file-configured sidecar: the plugin is needed only for the
  // Workload API.
  const auto files = writeFile(mesh.dir.path(), "files.yaml", ingressYaml(fileIdentity()));
  const auto check = runToCompletion({lonely + "/warden-proxy", "--check", "--config", files},
                                     mesh.dir.path());
  EXPECT_EQ(check.code, 0) << check.err;
  EXPECT_NE(check.out.find("files.yaml: ok"), std::string::npos) << check.out;
}

TEST_F(WardenProxyBinaryTest, BadConfigAndBadUsageAreOneLineErrors) {
  const auto missing = runToCompletion(
      {WARDEN_PROXY_BINARY, "--config", mesh.dir.file("nope.yaml")}, mesh.dir.path());
  EXPECT_EQ(missing.code, 2);
  EXPECT_EQ(lineCount(missing.err), 1) << missing.err;
  EXPECT_NE(missing.err.find("warden-proxy: "), std::string::npos) << missing.err;
  EXPECT_NE(missing.err.find("cannot read config file"), std::string::npos) << missing.err;

  const auto usage = runToCompletion({WARDEN_PROXY_BINARY}, mesh.dir.path());
  EXPECT_EQ(usage.code, 2);
  EXPECT_EQ(lineCount(usage.err), 1) << usage.err;

  const auto bad = writeFile(mesh.dir.path(), "bad.yaml",
                             ingressYaml(fileIdentity()) + "  lisen: 127.0.0.1:9\n");
  const auto check =
      runToCompletion({WARDEN_PROXY_BINARY, "--check", "--config", bad}, mesh.dir.path());
  EXPECT_EQ(check.code, 1);
  EXPECT_EQ(lineCount(check.err), 1) << check.err;
  EXPECT_NE(check.err.find("ingress.lisen: unknown key"), std::string::npos) << check.err;
}

}  // namespace
}  // namespace warden::testing
