// The README's demo, end to end: `warden up` starts the budget mesh (two trust domains,
// control plane, token service, OIDC stand-in, seven sample agents behind their own
// sidecars) from examples/budget/mesh.yaml, `warden matrix` runs every case against it,
// and Ctrl-C stops everything with no process left behind. Real processes, real
// sockets on 127.0.0.1, certificates made at run time.
#include <gtest/gtest.h>
#include <signal.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <dirent.h>
#include <fstream>
#include <random>
#include <sstream>

#include "demo/local_port.h"
#include "support/process_harness.h"
#include "support/test_env.h"
#include "support/test_pki.h"

namespace warden::testing {
namespace {

using namespace std::chrono_literals;

const std::string kMesh = std::string(WARDEN_SOURCE_DIR) + "/examples/budget/mesh.yaml";
constexpr int kMeshPorts = 90;  // 10 shared + 10 per agent (7 agents), with room

// A base port whose whole range is free, below the kernel's ephemeral range so that other
// tests' port-0 listeners cannot take one of ours meanwhile.
int freeBase() {
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> pick(200, 310);
  for (int attempt = 0; attempt < 50; ++attempt) {
    const int base = pick(rng) * 100;
    bool free = true;
    for (int p = base; p < base + kMeshPorts && free; ++p) free = demo::portIsFree("127.0.0.1", static_cast<std::uint16_t>(p));
    if (free) return base;
  }
  return 0;
}

// Processes whose command line mentions `needle` (the run directory: every component's
// config lives there).
std::vector<int> processesMentioning(const std::string& needle) {
  std::vector<int> pids;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return pids;
  while (auto* e = ::readdir(proc)) {
    const std::string name = e->d_name;
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in("/proc/" + name + "/cmdline");
    std::stringstream s;
    s << in.rdbuf();
    if (s.str().find(needle) != std::string::npos) pids.push_back(std::stoi(name));
  }
  ::closedir(proc);
  return pids;
}

class DemoMeshTest : public ::testing::Test {
 protected:
  std::vector<std::string> up(int base) const {
    return {WARDEN_BINARY, "up", kMesh, "--run-dir", run_dir(), "--base-port", std::to_string(base)};
  }
  std::string run_dir() const { return dir.file("run"); }
  TempDir dir;
};

TEST_F(DemoMeshTest, UpRunsTheWholeMatrixAndCtrlCStopsEverything) {
  const int base = freeBase();
  ASSERT_NE(base, 0) << "no free port range";
  ChildProcess mesh(up(base), dir.path());
  ASSERT_TRUE(mesh.started());
  ASSERT_TRUE(mesh.waitForOutput("mesh ready", 120s)) << mesh.out() << mesh.err();
  EXPECT_NE(mesh.out().find("control plane API  https://127.0.0.1:" + std::to_string(base)), std::string::npos) << mesh.out();
  EXPECT_NE(mesh.out().find("admin sign-in      user admin, password "), std::string::npos) << mesh.out();

  const auto matrix = runToCompletion({WARDEN_BINARY, "matrix", "--run-dir", run_dir()}, dir.path(), 240s);
  EXPECT_EQ(matrix.code, 0) << matrix.out << matrix.err;
  EXPECT_EQ(matrix.out.find("FAIL"), std::string::npos) << matrix.out;
  // Every prototype case and every designed one ran (a table row starts with its id).
  for (const char* id : {"T-1", "T-2", "T-3", "S1", "S5", "ID-1", "ID-2", "OA-1", "OA-2", "S2S-1", "S2S-4", "A2A-1",
                         "A2A-2", "A2A-3", "CA-1", "CA-4", "AL-1", "DIS-1", "TAG-1", "TOK-1", "TOK-2", "TOK-3",
                         "DEL-1", "GCP-1", "GCP-2", "GHA-1", "GHA-3", "RISK-T1", "ISO-1", "ISO-2", "ONB-1", "ONB-2"}) {
    EXPECT_NE(matrix.out.find("\n" + std::string(id) + " "), std::string::npos) << id << "\n" << matrix.out;
  }
  EXPECT_NE(matrix.out.find("cases passed"), std::string::npos) << matrix.out;

  ASSERT_FALSE(processesMentioning(run_dir()).empty());
  mesh.signal(SIGINT);
  EXPECT_EQ(mesh.wait(30s), 0) << mesh.out() << mesh.err();
  EXPECT_NE(mesh.out().find("stopped"), std::string::npos) << mesh.out();
  EXPECT_TRUE(waitUntil([&] { return processesMentioning(run_dir()).empty(); }, 5s))
      << "orphans: " << processesMentioning(run_dir()).size();
}

TEST_F(DemoMeshTest, APortInUseIsRefusedBeforeAnythingStarts) {
  const int base = freeBase();
  ASSERT_NE(base, 0);
  // Hold the control plane's port.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(base));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  const auto r = runToCompletion(up(base), dir.path(), 30s);
  ::close(fd);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("127.0.0.1:" + std::to_string(base) + " (control plane API) is already in use"), std::string::npos)
      << r.err;
  EXPECT_TRUE(processesMentioning(run_dir()).empty());
}

TEST_F(DemoMeshTest, KillingUpWithSigkillLeavesNoOrphans) {
  const int base = freeBase();
  ASSERT_NE(base, 0);
  ChildProcess mesh(up(base), dir.path());
  ASSERT_TRUE(mesh.started());
  // Some components are running (the servers start before the agents).
  ASSERT_TRUE(waitUntil([&] { return processesMentioning(run_dir()).size() >= 3; }, 60s)) << mesh.out();
  mesh.signal(SIGKILL);
  mesh.wait(10s);
  EXPECT_TRUE(waitUntil([&] { return processesMentioning(run_dir()).empty(); }, 10s))
      << "orphans: " << processesMentioning(run_dir()).size();
}

TEST_F(DemoMeshTest, MatrixWithoutAMeshSaysSo) {
  const auto r = runToCompletion({WARDEN_BINARY, "matrix", "--run-dir", dir.file("nothing")}, dir.path(), 20s);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no running mesh found"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace warden::testing
