// tests/interop/workload_fake_server.mjs in its own node process: an independent SPIFFE
// Workload API server (@grpc/grpc-js serving our proto/workload.proto) on a unix socket,
// playing a scenario (see the script's header): X509-SVID responses, bundles, JWT-SVIDs.
// Stands in for SPIRE's agent where a test needs what Warden's embedded issuer does not do
// (a chosen JWT-SVID, injected failures). Plus the DER/base64 encodings its scenarios use.
// Thread-safety: none; use from the test thread.
#pragma once

#include <openssl/crypto.h>
#include <openssl/ossl_typ.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/process_harness.h"
#include "support/test_pki.h"
#include "workload/workload_client.h"

namespace warden::testing {

// Standard base64 (with padding), as the scenario carries bytes.
std::string base64(const std::string& bytes);

// DER from an OpenSSL i2d_* style encoder: `encode(&buf)` returns the length.
template <class Encode>
std::string derOf(Encode encode) {
  unsigned char* buf = nullptr;
  const int n = encode(&buf);
  std::string out;
  if (n > 0)
    out.assign(reinterpret_cast<char*>(buf), static_cast<std::size_t>(n));
  OPENSSL_free(buf);
  return out;
}

std::string certDer(X509* cert);
// PKCS#8 PrivateKeyInfo, the encoding the Workload API requires for x509_svid_key.
std::string pkcs8Der(EVP_PKEY* key);

class FakeWorkloadServer {
 public:
  // Listens on `dir/<name>.sock`; waits (bounded) for the script's READY line.
  FakeWorkloadServer(const TempDir& dir, const std::string& node, const nlohmann::json& scenario,
                     const std::string& name = "agent");
  // SIGTERM, then SIGKILL if it has not gone after 2 s.
  ~FakeWorkloadServer();
  FakeWorkloadServer(const FakeWorkloadServer&) = delete;
  FakeWorkloadServer& operator=(const FakeWorkloadServer&) = delete;

  bool ready() const { return ready_; }
  const std::string& socket() const { return socket_; }
  // unix://<socket>, for Warden's client (and a sidecar's identity.workload_api).
  workload::EndpointAddress endpoint() const;
  // The fake's per-call log lines ("CALL <Method> n=<k> header=<v>"), optionally of one method.
  std::vector<std::string> calls(const std::string& method = {}) const;
  // Its stderr lines that start with `prefix` (e.g. "JWTSVID ").
  std::vector<std::string> logLines(const std::string& prefix) const;
  std::string log() const;

 private:
  std::string socket_;
  std::unique_ptr<ChildProcess> child_;
  bool ready_ = false;
};

}  // namespace warden::testing
