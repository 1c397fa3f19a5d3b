// The sidecar's link to `warden server` (docs/sidecar.md#control-plane): it long-polls
// the distribution view over mTLS with its X509-SVID (the server must present
// `server_id`), validates every view with the same compilers the server used, hands good
// ones to the sidecar, and keeps the last good one on disk so a restart while the server
// is unreachable still enforces it (fail-static). It also ships audit batches and, every
// `status_interval`, a health report (POST /api/v1/sidecars/status); a report that fails
// is logged and simply sent again at the next interval. With `test_calls` on, it also
// long-polls for test calls (proxy/test_call.h) and posts each one's answer back.
//
// Nothing here decides a request: the data plane reads the Runtime the sidecar built from
// the last good view, and `confirmedAt()` says how fresh its governance data is.
// Thread-safety: one internal thread; the public members may be called from any thread.
#pragma once

#include <nlohmann/json.hpp>

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <thread>

#include "audit/audit_shipper.h"
#include "common/result.h"
#include "governance/governance.h"
#include "policy/policy.h"
#include "proxy/sidecar_config.h"
#include "proxy/test_call.h"
#include "proxy/tls_contexts.h"
#include "token/revocations.h"

namespace warden::proxy {

// A distribution view, validated and compiled.
struct ControlPlaneView {
  std::uint64_t generation = 0;
  std::shared_ptr<const policy::PolicySnapshot> policy;  // deny-all when the target has none
  std::shared_ptr<const governance::GovernanceSnapshot> governance;
  // Layer 3 token_revoked: the view's active revocations; null when there are none.
  std::shared_ptr<const token::RevocationSet> revocations;
  std::string body;  // the JSON as received (persisted for fail-static)
  std::int64_t received_unix = 0;
};

// Parses and compiles a view (the server's JSON); errors name the part that failed.
Result<ControlPlaneView> compileView(const std::string& body, std::int64_t received_unix);
// The policy a control-plane sidecar enforces before its first view: nobody is allowed.
std::shared_ptr<const policy::PolicySnapshot> denyAllPolicy();

struct ControlPlaneStatus {
  bool connected = false;          // the last exchange with the server succeeded
  std::uint64_t generation = 0;    // of the view in force (0: none)
  std::int64_t confirmed_unix = 0; // when the server last confirmed it current
  std::string last_error;
  std::uint64_t views_applied = 0;
  std::uint64_t views_rejected = 0;
  // The server confirmed the view in force during this run (applied or answered "not
  // modified"); false while enforcing the view cached on disk without a word from it.
  bool live = false;
  std::uint64_t reports_sent = 0;
  std::uint64_t reports_failed = 0;
  std::string last_report_error;  // empty after a report the server accepted
  std::uint64_t test_calls_run = 0;  // answered test calls
};

class ControlPlaneClient {
 public:
  using TlsSource = std::function<std::shared_ptr<const TlsContexts>()>;
  using ApplyView = std::function<Status(const ControlPlaneView&)>;
  // Builds the status report body (proxy/status_report.h); called on the client's thread.
  using StatusSource = std::function<nlohmann::json()>;

  ControlPlaneClient(ControlPlaneConfig config, TlsSource tls, ApplyView apply);
  ~ControlPlaneClient();
  ControlPlaneClient(const ControlPlaneClient&) = delete;
  ControlPlaneClient& operator=(const ControlPlaneClient&) = delete;

  // Loads the persisted view, if any (call before start()); nullopt when there is none
  // or it no longer compiles.
  std::optional<ControlPlaneView> loadCached();
  // Enables the periodic status report (call before start()).
  void reportStatusWith(StatusSource source);
  // Sends a test call and returns its answer (proxy/test_call.h); runs on the client's
  // thread. Set before start() to take test calls from the server.
  using TestCallRunner = std::function<boost::asio::awaitable<nlohmann::json>(TestCall)>;
  void runTestCallsWith(TestCallRunner runner);
  void start();
  void stop();

  // For the audit shipper's thread: one POST of a batch; retry on any transport failure.
  audit::ShipResult shipAudit(std::span<const audit::SpooledEvent> events,
                              const std::string& spool_id);

  ControlPlaneStatus status() const;
  std::int64_t confirmedAt() const { return confirmed_unix_.load(std::memory_order_relaxed); }

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::atomic<std::int64_t> confirmed_unix_{0};
};

}  // namespace warden::proxy
