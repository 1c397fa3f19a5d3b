// The `warden` binary as a user runs it: real processes, real signals.
// CLI errors are one line on stderr and a non-zero exit; a running sidecar reloads its
// policy on SIGHUP and drains on SIGTERM with its audit log complete.
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <regex>

#include "support/mesh_harness.h"
#include "support/process_harness.h"

namespace warden::testing {
namespace {

int lineCount(const std::string& s) {
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

class WardenBinaryTest : public ::testing::Test {
 protected:
  RunResult run(std::vector<std::string> args) {
    args.insert(args.begin(), WARDEN_BINARY);
    return runToCompletion(std::move(args), mesh.dir.path());
  }
  Mesh mesh;
};

TEST_F(WardenBinaryTest, MissingConfigIsOneLineAndExitCode2) {
  const auto r = run({"proxy", "--config", mesh.dir.file("nope.yaml")});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(lineCount(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("cannot read config file"), std::string::npos) << r.err;
}

TEST_F(WardenBinaryTest, UnknownConfigKeyNamesFileLineAndField) {
  const auto path = writeFile(mesh.dir.path(), "bad.yaml",
                              "identity:\n  cert: a.pem\n  key: a.key\n  bundles: {example.org: b.pem}\n"
                              "ingress:\n  listen: 127.0.0.1:0\n  upstream: 127.0.0.1:1\n"
                              "  policy: p.yaml\n  lisen: 127.0.0.1:9\n");
  const auto r = run({"proxy", "-c", path});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(lineCount(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("bad.yaml:9:3: ingress.lisen: unknown key"), std::string::npos) << r.err;
}

TEST_F(WardenBinaryTest, PolicyValidateReportsErrorsAndSucceedsOnGoodFiles) {
  const auto good = mesh.writePolicy(kSeedPolicy, "good.yaml");
  const auto bad = mesh.writePolicy("version: \"x\"\nallow:\n  - id: spiffe://Example.org/a\n",
                                    "bad.yaml");
  auto ok = run({"policy", "validate", good});
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_NE(ok.out.find("ok (version \"seed-1\")"), std::string::npos);
  auto fail = run({"policy", "validate", bad});
  EXPECT_EQ(fail.code, 1);
  EXPECT_EQ(lineCount(fail.err), 1) << fail.err;
  EXPECT_NE(fail.err.find("bad.yaml:3:"), std::string::npos) << fail.err;
  EXPECT_NE(fail.err.find("allow[0]"), std::string::npos) << fail.err;
}

TEST_F(WardenBinaryTest, NoSubcommandIsAUsageError) {
  const auto r = run({});
  EXPECT_NE(r.code, 0);
  EXPECT_EQ(lineCount(r.err), 1) << r.err;
}

TEST_F(WardenBinaryTest, RunningSidecarReloadsOnSighupAndDrainsOnSigterm) {
  const auto policy = mesh.writePolicy(kSeedPolicy);
  const auto audit = mesh.dir.file("audit.jsonl");
  const auto config = writeFile(
      mesh.dir.path(), "sidecar.yaml",
      "identity:\n  cert: " + mesh.backend_cred.cert_path + "\n  key: " +
          mesh.backend_cred.key_path + "\n  bundles: {example.org: " + mesh.bundle_path +
          "}\n  poll_interval_ms: 600000\n"  // only SIGHUP may reload in this test
          "ingress:\n  listen: 127.0.0.1:0\n  upstream: 127.0.0.1:" +
          std::to_string(mesh.app.port()) + "\n  policy: " + policy +
          "\nadmin:\n  listen: 127.0.0.1:0\naudit:\n  file: " + audit + "\n");
  ChildProcess proxy({WARDEN_BINARY, "proxy", "--config", config}, mesh.dir.path());
  ASSERT_TRUE(proxy.started());
  ASSERT_TRUE(proxy.waitForOutput("warden proxy ready", std::chrono::seconds(10)))
      << proxy.out() << proxy.err();
  std::smatch m;
  const std::string log = proxy.out() + proxy.err();
  ASSERT_TRUE(std::regex_search(log, m, std::regex("ingress=127\\.0\\.0\\.1:(\\d+)")));
  const auto port = static_cast<std::uint16_t>(std::stoi(m[1]));

  auto c = TestConnection::tls(port, mesh.report);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->send(makeRequest("GET", "/budget/read")));
  auto first = c->read();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);

  writeFile(mesh.dir.path(), "policy.yaml",
            "version: \"after-hup\"\nallow:\n  - id: spiffe://example.org/budget-report\n"
            "callers:\n  - match: {id: spiffe://example.org/budget-report}\n    rules:\n"
            "      - id: nothing\n        methods: [\"*\"]\n        path: {prefix: /}\n"
            "        action: deny\n");
  proxy.signal(SIGHUP);
  ASSERT_TRUE(proxy.waitForOutput("policy version \"after-hup\" in force", std::chrono::seconds(5)));
  ASSERT_TRUE(c->send(makeRequest("GET", "/budget/read")));
  auto second = c->read();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 403);

  proxy.signal(SIGTERM);
  const auto code = proxy.wait(std::chrono::seconds(10));
  ASSERT_TRUE(code.has_value()) << "sidecar did not stop on SIGTERM";
  EXPECT_EQ(*code, 0);
  std::ifstream in(audit);
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(in, line)) lines.push_back(line);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("\"policy_version\":\"seed-1\""), std::string::npos);
  EXPECT_NE(lines[1].find("\"policy_version\":\"after-hup\""), std::string::npos);
}

}  // namespace
}  // namespace warden::testing
