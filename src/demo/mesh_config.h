// The demo mesh file (`examples/budget/mesh.yaml`, docs/demo.md) as plain structs.
//
// The file says what runs: trust domains, the agents (their SPIFFE IDs, which sample app
// they run, whether they take calls, whom they call and how they get tokens) and the
// stand-in external OIDC issuer. Who may do what lives in the control-plane seed it names
// (the registry, developer policies and admin governance), so the demo is governed by the
// same documents an operator would write. Ports are `base_port` plus fixed offsets
// (mesh_layout.h), so a URL printed once stays right.
// Parsed strictly (unknown keys are errors naming file, line and field path).
// Thread-safety: plain values.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace warden::demo {

enum class AppKind { kNone, kBackend, kAgent };

// One egress route of an agent's sidecar: calls to `host` go to `target`'s ingress.
struct MeshRoute {
  std::string target;    // an agent with ingress
  std::string host;      // the Host the app uses; default: the target's name
  bool token = true;     // attach an access token (false: the app's own Authorization passes)
  std::string audience;  // default api://<target>
};

struct MeshAgent {
  std::string name;
  std::string spiffe_id;
  std::string trust_domain;  // from spiffe_id
  AppKind app = AppKind::kAgent;
  bool ingress = false;
  // Tokens by RFC 8693 exchange of the stand-in issuer's token (an external CI job)
  // instead of client_credentials with the agent's JWT-SVID.
  bool external_oidc_credential = false;
  std::vector<MeshRoute> routes;
};

struct MeshExternalOidc {
  std::string name = "github-actions";
  std::string subject;  // the `sub` of its tokens, e.g. repo:acme/budget-tools:ref:refs/heads/main
  std::string audience = "api://AzureADTokenExchange";
  std::string agent;    // the registry agent whose federated credential admits it
};

struct MeshConfig {
  std::string source_path;
  std::string name;
  std::string host = "127.0.0.1";
  std::uint16_t base_port = 0;
  std::string home_trust_domain;           // control plane, token service, registry
  std::vector<std::string> trust_domains;  // home first; each gets its own issuer
  std::chrono::seconds token_ttl{300};
  std::string seed_path;  // control-plane seed (absolute)
  std::optional<MeshExternalOidc> external_oidc;
  std::vector<MeshAgent> agents;

  const MeshAgent* agent(const std::string& name) const;
};

Result<MeshConfig> parseMeshConfig(const std::string& yaml_text, const std::string& source_path);
Result<MeshConfig> loadMeshConfig(const std::string& path);

}  // namespace warden::demo
