// The sample agent apps of the demo mesh (docs/demo.md): budget-backend is a `backend`,
// the callers (budget-report, budget-approval, employee-menus, demo-agent) are `agent`s.
//
// They are deliberately small and honest: an app never handles a credential. Its ingress
// sidecar forwards calls over plain HTTP on loopback with verified identity headers
// (X-Forwarded-SPIFFE-ID, X-Forwarded-Client-Cert, X-Request-ID, X-Warden-Token-*), which
// the app echoes so the demo can show what reached it; it never reads Authorization. An
// agent calls others through its sidecar's egress listener (plain HTTP to
// 127.0.0.1:<egress_port>, the route chosen by Host), which originates mTLS and attaches
// the token.
//
//   every role   GET /health
//   backend      GET /budget/read, POST /budget/submit, DELETE /budget/admin
//   agent        GET /a2a/status, GET /call?target=HOST&method=M&path=P
//
// Trust posture: whoever can reach the listener (meant to be loopback, behind the
// sidecar). Headers (8 KiB) and bodies (64 KiB) are bounded, reads have deadlines, query
// parameters of /call are validated before anything is sent. Responses are JSON.
// Thread-safety: create/start/stop from one thread; port() from any thread after start();
// requests are served on the agent's own I/O thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/result.h"

namespace warden::demo {

struct SampleAgentOptions {
  std::string name;  // reported in every response ("agent"/"caller")
  std::string role;  // "backend" or "agent"
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 0;  // 0: ephemeral
  // The sidecar's egress listener on 127.0.0.1; without it /call answers 400.
  std::optional<std::uint16_t> egress_port;
};

class SampleAgent {
 public:
  // Checks the options (name, role, listen address); binds nothing yet.
  static Result<std::unique_ptr<SampleAgent>> create(SampleAgentOptions options);
  ~SampleAgent();
  SampleAgent(const SampleAgent&) = delete;
  SampleAgent& operator=(const SampleAgent&) = delete;

  // Binds the listener and starts serving on a background thread.
  Status start();
  // Closes the listener and every open connection; in-flight requests are dropped (the
  // app keeps no state worth draining). Idempotent; also run by the destructor.
  void stop();
  // The bound port (useful with listen_port 0); 0 before start().
  std::uint16_t port() const;
  const SampleAgentOptions& options() const;

  struct Impl;

 private:
  explicit SampleAgent(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// `warden sample-agent`: serves until SIGINT or SIGTERM, after printing
// `sample agent NAME listening on HOST:PORT` on stdout. Returns the exit code (2 when the
// options are invalid or the port cannot be bound).
int runSampleAgent(const SampleAgentOptions& options);

}  // namespace warden::demo
