#include "proxy/metrics.h"

#include <prometheus/text_serializer.h>

#include <mutex>
#include <vector>

namespace warden::proxy {
namespace {

struct CachedCounter {
  const void* owner;
  bool ingress;
  std::string layer;
  std::string reason;
  bool allowed;
  prometheus::Counter* counter;
};

}  // namespace

SidecarMetrics::SidecarMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      decisions_(prometheus::BuildCounter()
                     .Name("warden_decisions_total")
                     .Help("Request decisions by direction, layer, reason and outcome")
                     .Register(*registry_)),
      handshakes_(prometheus::BuildCounter()
                      .Name("warden_handshakes_total")
                      .Help("TLS handshakes by direction and result")
                      .Register(*registry_)),
      reloads_(prometheus::BuildCounter()
                   .Name("warden_reloads_total")
                   .Help("Policy and identity reloads by result")
                   .Register(*registry_)),
      decision_latency_(prometheus::BuildHistogram()
                            .Name("warden_decision_latency_microseconds")
                            .Help("Time to decide a request (all layers)")
                            .Register(*registry_)
                            .Add({}, prometheus::Histogram::BucketBoundaries{
                                         1, 2, 5, 10, 20, 50, 100, 200, 500, 1000})),
      request_duration_(prometheus::BuildHistogram()
                            .Name("warden_request_duration_seconds")
                            .Help("Whole request/response exchange duration")
                            .Register(*registry_)
                            .Add({}, prometheus::Histogram::BucketBoundaries{
                                         0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                         0.25, 0.5, 1, 2.5, 5, 10})),
      ingress_connections_(prometheus::BuildGauge()
                               .Name("warden_connections_active")
                               .Help("Open downstream connections")
                               .Register(*registry_)
                               .Add({{"direction", "ingress"}})),
      egress_connections_(prometheus::BuildGauge()
                              .Name("warden_connections_active")
                              .Help("Open downstream connections")
                              .Register(*registry_)
                              .Add({{"direction", "egress"}})),
      ingress_connections_total_(prometheus::BuildCounter()
                                     .Name("warden_connections_total")
                                     .Help("Accepted downstream connections")
                                     .Register(*registry_)
                                     .Add({{"direction", "ingress"}})),
      egress_connections_total_(prometheus::BuildCounter()
                                    .Name("warden_connections_total")
                                    .Help("Accepted downstream connections")
                                    .Register(*registry_)
                                    .Add({{"direction", "egress"}})),
      policy_loaded_(prometheus::BuildGauge()
                         .Name("warden_policy_loaded_timestamp_seconds")
                         .Help("When the policy in force was loaded")
                         .Register(*registry_)
                         .Add({})),
      connections_revoked_(prometheus::BuildCounter()
                               .Name("warden_connections_revoked_total")
                               .Help("Open ingress connections closed because a rule change "
                                     "denies their caller")
                               .Register(*registry_)
                               .Add({})),
      governance_confirmed_(prometheus::BuildGauge()
                                .Name("warden_governance_confirmed_timestamp_seconds")
                                .Help("When the governance data in force was last confirmed "
                                      "current")
                                .Register(*registry_)
                                .Add({})),
      svid_expiry_(prometheus::BuildGauge()
                       .Name("warden_svid_expiry_timestamp_seconds")
                       .Help("Expiry of the X509-SVID in use")
                       .Register(*registry_)
                       .Add({})),
      policy_info_(prometheus::BuildGauge()
                       .Name("warden_policy_info")
                       .Help("The policy version in force (value is always 1)")
                       .Register(*registry_)) {}

void SidecarMetrics::recordDecision(bool ingress, std::string_view layer, std::string_view reason,
                                    bool allowed) {
  thread_local std::vector<CachedCounter> cache;
  for (auto& c : cache) {
    if (c.owner == this && c.ingress == ingress && c.allowed == allowed && c.layer == layer &&
        c.reason == reason) {
      c.counter->Increment();
      return;
    }
  }
  auto& counter = decisions_.Add({{"direction", ingress ? "ingress" : "egress"},
                                  {"layer", std::string(layer)},
                                  {"reason", std::string(reason)},
                                  {"decision", allowed ? "allow" : "deny"}});
  cache.push_back({this, ingress, std::string(layer), std::string(reason), allowed, &counter});
  counter.Increment();
}

void SidecarMetrics::recordHandshake(bool ingress, std::string_view result) {
  handshakes_.Add({{"direction", ingress ? "ingress" : "egress"}, {"result", std::string(result)}})
      .Increment();
}

void SidecarMetrics::observeDecisionLatency(double us) { decision_latency_.Observe(us); }
void SidecarMetrics::observeRequestDuration(double s) { request_duration_.Observe(s); }

void SidecarMetrics::connectionOpened(bool ingress) {
  (ingress ? ingress_connections_ : egress_connections_).Increment();
  (ingress ? ingress_connections_total_ : egress_connections_total_).Increment();
}

void SidecarMetrics::connectionRevoked() { connections_revoked_.Increment(); }
void SidecarMetrics::setGovernanceInfo(double confirmed) { governance_confirmed_.Set(confirmed); }

void SidecarMetrics::connectionClosed(bool ingress) {
  (ingress ? ingress_connections_ : egress_connections_).Decrement();
}

void SidecarMetrics::setPolicyInfo(std::string_view version, double loaded) {
  std::lock_guard lock(policy_info_mutex_);
  if (policy_info_current_ != nullptr) policy_info_.Remove(policy_info_current_);
  policy_info_current_ = &policy_info_.Add({{"version", std::string(version)}});
  policy_info_current_->Set(1);
  policy_loaded_.Set(loaded);
}

void SidecarMetrics::recordReload(std::string_view what, bool ok) {
  reloads_.Add({{"what", std::string(what)}, {"result", ok ? "ok" : "rejected"}}).Increment();
}

void SidecarMetrics::setSvidExpiry(double unix_seconds) { svid_expiry_.Set(unix_seconds); }

std::map<std::string, SidecarMetrics::LayerDecisions> SidecarMetrics::decisionsByLayer() const {
  std::map<std::string, LayerDecisions> out;
  for (const auto& family : decisions_.Collect()) {
    for (const auto& metric : family.metric) {
      std::string layer;
      bool allowed = false;
      for (const auto& label : metric.label) {
        if (label.name == "layer") layer = label.value;
        if (label.name == "decision") allowed = label.value == "allow";
      }
      auto& counts = out[layer];
      (allowed ? counts.allow : counts.deny) += static_cast<std::uint64_t>(metric.counter.value);
    }
  }
  return out;
}

std::string SidecarMetrics::render() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace warden::proxy
