// Whether a mesh sidecar is ready for the demo: its /readyz says ready (SVID, view,
// token keys, egress tokens) and it holds the bundle of every trust domain of the mesh.
// Federated bundles arrive on the federation fetcher's schedule, after the sidecar may
// already report ready, and until then a peer of that domain fails as
// `untrusted_certificate`. Used by `warden up` before "mesh ready" and by `warden matrix`.
// Thread-safety: free function (one blocking loopback HTTP exchange).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace warden::demo {

struct SidecarStatus {
  bool ready = false;
  std::string waiting_for;  // when not ready: what is missing, for status lines
};

SidecarStatus sidecarStatus(std::uint16_t admin_port, const std::vector<std::string>& trust_domains);

}  // namespace warden::demo
