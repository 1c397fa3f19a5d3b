// `warden proxy`: the sidecar. Ingress terminates mTLS and enforces layers 1 and 2 before
// forwarding to the local app; egress takes plain HTTP from the app and originates mTLS
// to the route's target, verifying the target's SPIFFE ID.
//
// Threads: N workers, each with its own io_context, acceptors (SO_REUSEPORT) and
// upstream pools, so a connection never leaves its worker and requests take no locks; a
// control thread runs the admin listener and the file watcher; the audit sink has its
// own writer thread. Signals are the embedding program's business (the CLI sigwaits and
// calls reload*()/stop()). Policy and credentials are compiled off the workers
// and posted to each worker as an immutable Runtime; a request keeps the Runtime it
// started with. See docs/sidecar.md and docs/threading.md.
// Thread-safety: start/stop/wait from the owning thread; reload*() from any thread.
#pragma once

#include <memory>

#include "audit/audit_sink.h"
#include "common/result.h"
#include "proxy/metrics.h"
#include "proxy/sidecar_config.h"

namespace warden::proxy {

class Sidecar {
 public:
  static Result<std::unique_ptr<Sidecar>> create(SidecarConfig config);
  ~Sidecar();
  Sidecar(const Sidecar&) = delete;
  Sidecar& operator=(const Sidecar&) = delete;

  // Binds every listener (port 0 picks a free port) and starts the threads.
  Status start();
  // Stops accepting, lets in-flight exchanges finish for up to `grace_ms`, then closes.
  void stop(unsigned grace_ms = 2000);
  // Blocks until stop() has completed (e.g. from a signal handler on the control thread).
  void wait();

  // Actual bound addresses (after start()).
  Endpoint ingressEndpoint() const;
  Endpoint egressEndpoint() const;
  Endpoint adminEndpoint() const;

  // Re-read and swap; on failure the current one stays and the error is returned.
  Status reloadPolicy();
  Status reloadIdentity();

  audit::AuditSink& auditSink();
  SidecarMetrics& metrics();
  bool ready() const;
  // Control-plane mode: the generation of the view in force (0: none yet).
  std::uint64_t configGeneration() const;

  struct Impl;

 private:
  explicit Sidecar(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace warden::proxy
