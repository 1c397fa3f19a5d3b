#include "support/workload_fake_harness.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <csignal>
#include <sstream>

#include "support/test_env.h"

namespace warden::testing {

using namespace std::chrono_literals;

std::string base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string certDer(X509* cert) {
  return derOf([cert](unsigned char** out) { return i2d_X509(cert, out); });
}

std::string pkcs8Der(EVP_PKEY* key) {
  PKCS8_PRIV_KEY_INFO* info = EVP_PKEY2PKCS8(key);
  std::string der =
      derOf([info](unsigned char** out) { return i2d_PKCS8_PRIV_KEY_INFO(info, out); });
  PKCS8_PRIV_KEY_INFO_free(info);
  return der;
}

FakeWorkloadServer::FakeWorkloadServer(const TempDir& dir, const std::string& node,
                                       const nlohmann::json& scenario, const std::string& name)
    : socket_(dir.file(name + ".sock")) {
  const std::string scenario_path = writeFile(dir.path(), name + ".json", scenario.dump());
  child_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{node, interopDir() + "/workload_fake_server.mjs", socket_,
                               scenario_path, "--proto",
                               std::string(WARDEN_SOURCE_DIR) + "/proto/workload.proto"},
      dir.path());
  // Generous for a loaded 2-core machine.
  ready_ = child_->waitForOutput("READY", 10s);
}

FakeWorkloadServer::~FakeWorkloadServer() {
  child_->signal(SIGTERM);
  if (!child_->wait(2s))
    child_->signal(SIGKILL);
}

workload::EndpointAddress FakeWorkloadServer::endpoint() const {
  auto parsed = workload::parseEndpointAddress("unix://" + socket_);
  return parsed.ok() ? *parsed : workload::EndpointAddress{};
}

std::vector<std::string> FakeWorkloadServer::logLines(const std::string& prefix) const {
  std::vector<std::string> out;
  std::stringstream lines(child_->err());
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(prefix, 0) == 0)
      out.push_back(line);
  }
  return out;
}

std::vector<std::string> FakeWorkloadServer::calls(const std::string& method) const {
  return logLines("CALL " + method);
}

std::string FakeWorkloadServer::log() const {
  return child_->out() + child_->err();
}

}  // namespace warden::testing
