// `warden matrix`: the enforcement matrix against a running demo mesh (docs/demo.md).
//
// Every case of the prototype's live matrix (T-1..3, S1..S5, ID-1..2, OA-1..2, S2S-1..4,
// A2A-1..3, CA-1..4) plus what it only designed (allow-list removal, disabled agent, tag
// mismatch, missing/wrong-audience/expired token, DELETE /budget/admin, the federated
// GCP caller, the external OIDC caller, token-time denial, isolate/restore, onboarding).
// A case names its caller, target, request and the exact status and layer/reason it
// expects; calls go through the callers' sample apps (which call through their sidecars),
// admin changes through the control plane's API with the matrix's own X509-SVID (an
// admin identity of the mesh, fetched from the Workload API: no password). Every change a
// case makes is undone by a later case, and again on exit, so the matrix can run any
// number of times against the same mesh.
// Exit code: 0 only if every case passed.
#pragma once

#include <string>

namespace warden::cli {

struct MatrixOptions {
  std::string run_dir;    // where `warden up` put mesh.json
  std::string mesh_file;  // or: the mesh file (its default run directory)
  bool json = false;      // one JSON object per case instead of the table
};

int runMatrix(const MatrixOptions& options);

}  // namespace warden::cli
