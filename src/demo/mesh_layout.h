// Where everything of a demo mesh lives: ports (base_port + fixed offsets), the run
// directory's files, and the generated configuration of every component (the two
// `warden server`s, each sidecar, the control-plane seed with the stand-in issuer's
// federated credential), plus `mesh.json`, which tells `warden matrix` and people where
// to find things. Generated files are ordinary Warden configs a user can read and reuse.
// Thread-safety: plain values; writeMeshFiles touches only the run directory.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "demo/mesh_config.h"

namespace warden::demo {

struct AgentPorts {
  std::uint16_t app = 0;
  std::uint16_t ingress = 0;
  std::uint16_t egress = 0;
  std::uint16_t admin = 0;
};

// One listener the mesh needs, for the "already in use" check and the status lines.
struct MeshPort {
  std::uint16_t port = 0;
  std::string what;  // "control plane API", "budget-report egress", ...
};

struct MeshLayout {
  std::string run_dir;
  std::string socket_dir;
  std::string pki_dir;
  std::string log_dir;
  std::string portal_dir;  // served by the home server when set
  std::uint16_t api_port = 0;
  std::uint16_t token_port = 0;
  std::uint16_t oidc_port = 0;
  std::map<std::string, std::uint16_t> bundle_ports;  // per trust domain
  std::vector<AgentPorts> agents;                      // parallel to MeshConfig::agents

  std::string apiUrl(const MeshConfig& c) const;
  // What browsers use: a host name the server's certificate names (DNS SAN localhost).
  std::string portalUrl() const;
  std::string tokenIssuer(const MeshConfig& c) const;
  std::string oidcIssuer(const MeshConfig& c) const;
  std::string serverSpiffeId(const MeshConfig& c) const;       // the control plane's
  std::string matrixSpiffeId(const MeshConfig& c) const;       // the admin identity of `warden matrix`
  std::string serverConfigPath(const std::string& trust_domain) const;
  std::string sidecarConfigPath(const std::string& agent) const;
  std::string socketPath(const std::string& entry) const;
  std::string oidcTokenFile() const;
  std::string oidcRequestTokenFile() const;
  std::string meshJsonPath() const;
  std::vector<MeshPort> ports(const MeshConfig& c) const;
};

// Pure: the plan for a mesh file and a run directory (made absolute). Fails when a
// Unix socket path would be too long for sockaddr_un.
Result<MeshLayout> planMesh(const MeshConfig& config, const std::string& run_dir);

// Writes every generated file under the run directory (which must exist). The local Web
// PKI (ca.pem, server.pem, server.key) must already be in layout.pki_dir.
Status writeMeshFiles(const MeshConfig& config, const MeshLayout& layout);

}  // namespace warden::demo
