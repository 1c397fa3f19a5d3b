// Sidecar metrics, exported in Prometheus text format on the admin listener.
//
// prometheus-cpp's Family::Add takes a lock and a map lookup; the data plane instead
// caches the Counter* per (direction, layer, reason, decision) in a thread-local table,
// so a request costs one relaxed atomic add per counter after warm-up.
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace warden::proxy {

class SidecarMetrics {
 public:
  SidecarMetrics();

  void recordDecision(bool ingress, std::string_view layer, std::string_view reason, bool allowed);
  void recordHandshake(bool ingress, std::string_view result);  // "ok" or a reason code
  void observeDecisionLatency(double microseconds);
  void observeRequestDuration(double seconds);
  void connectionOpened(bool ingress);
  void connectionClosed(bool ingress);
  // An open ingress connection closed because the rules changed under it (kill switch).
  void connectionRevoked();
  // Governance data in force: its version label and when it was last confirmed current.
  void setGovernanceInfo(double confirmed_unix_seconds);
  void setPolicyInfo(std::string_view version, double loaded_unix_seconds);
  void recordReload(std::string_view what, bool ok);
  void setSvidExpiry(double unix_seconds);

  std::string render() const;

  struct LayerDecisions {
    std::uint64_t allow = 0;
    std::uint64_t deny = 0;
  };
  // warden_decisions_total summed over direction and reason, per layer (the status report
  // the sidecar sends its control plane). Reads the same counters /metrics renders.
  std::map<std::string, LayerDecisions> decisionsByLayer() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& decisions_;
  prometheus::Family<prometheus::Counter>& handshakes_;
  prometheus::Family<prometheus::Counter>& reloads_;
  prometheus::Histogram& decision_latency_;
  prometheus::Histogram& request_duration_;
  prometheus::Gauge& ingress_connections_;
  prometheus::Gauge& egress_connections_;
  prometheus::Counter& ingress_connections_total_;
  prometheus::Counter& egress_connections_total_;
  prometheus::Gauge& policy_loaded_;
  prometheus::Counter& connections_revoked_;
  prometheus::Gauge& governance_confirmed_;
  prometheus::Gauge& svid_expiry_;
  prometheus::Family<prometheus::Gauge>& policy_info_;
  std::mutex policy_info_mutex_;
  prometheus::Gauge* policy_info_current_ = nullptr;  // guarded by policy_info_mutex_
};

}  // namespace warden::proxy
