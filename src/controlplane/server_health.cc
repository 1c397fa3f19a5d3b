#include "controlplane/server_health.h"

#include <filesystem>

#include "common/version.h"
#include "controlplane/external_idp.h"
#include "issuer/x509_authority.h"

namespace warden::controlplane {

using nlohmann::json;

json describeServer(const ServerHealthInputs& in, Store& store, std::int64_t now) {
  json server = {{"version", std::string(wardenVersion())}, {"started_at", in.started_at}};

  // The store answers a real query, or it is not ok: a file that exists is not enough.
  json s = {{"path", std::filesystem::path(in.database).filename().string()}};
  const auto events = store.countAuditEvents(AuditQuery{});
  const auto schema = store.schemaVersion();
  s["ok"] = events.ok() && schema.ok();
  if (schema.ok()) s["schema_version"] = *schema;
  if (events.ok()) s["audit_events"] = *events;
  std::error_code ec;
  const auto size = std::filesystem::file_size(in.database, ec);
  if (!ec) s["size_bytes"] = size;
  server["store"] = std::move(s);

  if (in.issuer != nullptr) {
    server["trust_domain"] = in.issuer->trustDomain();
    const auto ca = in.issuer->x509Authority().activeCertificate();
    if (ca) {
      // not_before too: a CA that rotates itself (SPIRE's ca_ttl, 24 h by default) always
      // has less than a day left; only the share of its lifetime left says it is stuck.
      const std::int64_t not_after = issuer::notAfter(ca.get());
      const std::int64_t not_before = issuer::lifetimePoint(ca.get(), 0.0);
      server["ca"] = {{"not_before", not_before}, {"not_after", not_after}, {"seconds_left", not_after - now}};
    }
  }
  if (in.federated_bundles) {
    json bundles = json::array();
    for (const auto& b : in.federated_bundles()) {
      bundles.push_back({{"trust_domain", b.trust_domain}, {"source", b.source},
                         {"refreshed_at", b.refreshed_at}, {"stale", b.stale}});
    }
    server["bundles"] = std::move(bundles);
  }
  if (in.token_service) {
    if (auto ts = in.token_service()) {
      json keys = json::array();
      for (const auto& k : ts->keys) {
        keys.push_back({{"kid", k.kid}, {"state", k.state}, {"not_after", static_cast<std::int64_t>(k.not_after)}});
      }
      server["token_service"] = {{"issuer", ts->issuer}, {"keys", std::move(keys)}};
    }
  }
  if (in.identity_providers != nullptr) {
    json idps = json::array();
    for (const auto& p : in.identity_providers->status()) {
      idps.push_back({{"issuer", p.issuer}, {"ready", p.ready}});
    }
    if (!idps.empty()) server["identity_providers"] = std::move(idps);
  }
  return server;
}

}  // namespace warden::controlplane
