// tests/interop/fake_oidc_issuer.mjs in its own node process: an external OIDC issuer
// shaped like GitHub Actions' (discovery and JWKS over HTTPS on 127.0.0.1, RS256 tokens
// minted on request), for tests of federated credentials and token exchange.
// Thread-safety: none; use from the test thread.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

#include "support/process_harness.h"
#include "support/test_pki.h"

namespace warden::testing {

// The last non-empty line of `out` parsed as JSON (discarded when it is not JSON): what the
// interop scripts print as their result.
nlohmann::json lastJsonLine(const std::string& out);

class FakeOidcIssuer {
 public:
  // Serves HTTPS with `cert`/`key` (PEM files). `claimed_issuer`: what the discovery
  // document says the issuer is (a liar, for the mix-up guard); empty: the truth.
  FakeOidcIssuer(const std::string& node, const TempDir& dir, const std::string& name,
                 const std::string& cert, const std::string& key,
                 const std::string& claimed_issuer = {});
  ~FakeOidcIssuer();
  FakeOidcIssuer(const FakeOidcIssuer&) = delete;
  FakeOidcIssuer& operator=(const FakeOidcIssuer&) = delete;

  // "https://127.0.0.1:<port>", or "" when the process did not come up.
  const std::string& issuer() const { return issuer_; }
  std::string log() const;

  // A token from POST /mint: `spec` is {claims, omit, kid, rogue} (fake_oidc_issuer.mjs);
  // "" on failure (the test's assertion on the token service's answer then fails).
  std::string mint(const nlohmann::json& spec = nlohmann::json::object()) const;

 private:
  std::unique_ptr<ChildProcess> child_;
  std::string issuer_;
};

}  // namespace warden::testing
