// The SPIFFE Workload API server (SPIFFE_Workload_API.md, SPIFFE_Workload_Endpoint.md;
// identity-standards §4), wire-compatible with SPIRE's agent.
//
// Trust posture: callers are untrusted local processes. They are identified out of band:
// Warden runs its own accept loop on each Unix socket, reads SO_PEERCRED at accept time,
// attests the process (attestation.h) and only then hands the connection to gRPC
// (AddInsecureChannelFromFd), remembering what it learned under the connection's
// "fd:<n>" peer name. Every RPC requires exactly one `workload.spiffe.io: true` header
// (INVALID_ARGUMENT otherwise, as SPIRE answers); a caller no entry grants gets
// PERMISSION_DENIED. The shared socket is open to every local user (attestation decides);
// a per-workload socket (an entry's `socket`) is created 0600 in a 0700-or-existing
// directory, and grants only its own entry.
// Thread-safety: start() returns a running server; the destructor stops it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

namespace warden::issuer {

class Issuer;

struct WorkloadApiServerOptions {
  std::string socket_path;                    // shared socket; empty: none
  std::vector<std::string> workload_sockets;  // per-workload sockets (from the entries)
};

class WorkloadApiServer {
 public:
  static Result<std::unique_ptr<WorkloadApiServer>> start(Issuer& issuer,
                                                          WorkloadApiServerOptions options);
  ~WorkloadApiServer();

 private:
  WorkloadApiServer();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace warden::issuer
