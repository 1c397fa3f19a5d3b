// `warden up`: one command that brings a whole demo mesh up on 127.0.0.1 from its mesh
// file, prints where everything is and how to sign in, reports component status as it
// changes, and stops everything on Ctrl-C (docs/demo.md).
//
// Order: refuse if any port is taken → fresh run directory (state is wiped unless
// --keep-state) → local Web PKI → generated configs → OIDC stand-in → the servers
// (federated domains first, then home with the control plane and token service) → apps
// → sidecars, each waited for (log line or /readyz) with a deadline.
// Thread-safety: runs on the calling thread, which must be the process's main thread
// with the termination signals blocked (children unblock them).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace warden::demo {

struct UpOptions {
  std::string mesh_file;
  std::string run_dir;                     // default: defaultRunDir(mesh name)
  std::optional<std::uint16_t> base_port;  // overrides the mesh file's
  bool keep_state = false;
  std::string warden_binary;               // default: /proc/self/exe
  // The portal's built files (portal/dist); empty or missing: the mesh runs without it.
  std::string portal_dir;
};

// ${XDG_RUNTIME_DIR:-/tmp}/warden-<name>-<uid>: short enough for Unix socket paths.
std::string defaultRunDir(const std::string& mesh_name);

// Exit code: 0 after a clean stop, 1 when the mesh could not start.
int runMeshUp(const UpOptions& options);

}  // namespace warden::demo
