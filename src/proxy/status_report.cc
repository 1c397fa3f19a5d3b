#include "proxy/status_report.h"

#include "common/version.h"

namespace warden::proxy {

using nlohmann::json;

namespace {

// A member of a /readyz section, or `fallback` when the section or member is absent (a
// standalone-mode section such as "policy" may not exist).
template <class T>
T member(const json& doc, const char* section, const char* key, T fallback) {
  const auto s = doc.find(section);
  if (s == doc.end() || !s->is_object()) return fallback;
  const auto v = s->find(key);
  if (v == s->end() || v->is_null()) return fallback;
  return v->get<T>();
}

}  // namespace

json buildStatusReport(const json& readyz, const StatusReportFacts& facts) {
  json report;
  report["version"] = std::string(wardenVersion());
  report["started_at"] = facts.started_at;
  report["interval_seconds"] = facts.interval.count();
  report["ready"] = readyz.value("ready", false);

  const std::string id_source = member<std::string>(readyz, "identity", "source", "");
  report["svid"] = {{"spiffe_id", member<std::string>(readyz, "identity", "spiffe_id", "")},
                    {"not_after", member<std::int64_t>(readyz, "identity", "expires_unix", 0)},
                    {"source", id_source}};
  // The bundles arrive with the SVID (files read together, or one Workload API message),
  // so each trust domain's bundle was updated when the identity in force was loaded.
  json bundles = json::array();
  const auto loaded = member<std::int64_t>(readyz, "identity", "loaded_unix", 0);
  for (const auto& td : member<json>(readyz, "identity", "trust_domains", json::array())) {
    bundles.push_back({{"trust_domain", td}, {"source", id_source}, {"updated_at", loaded}});
  }
  report["bundles"] = std::move(bundles);

  json issuers = json::array();
  for (const auto& i : member<json>(readyz, "token", "issuers", json::array())) {
    json out = {{"issuer", i.value("issuer", "")},
                {"ready", i.value("ready", false)},
                {"keys", i.value("keys", 0)},
                {"last_success", i.value("last_success_unix", std::int64_t{0})}};
    if (i.contains("last_error")) out["last_error"] = i["last_error"];
    issuers.push_back(std::move(out));
  }
  report["jwks"] = std::move(issuers);

  // The view in force. Stale by the data plane's own rule (governance.h): older than the
  // target's max_staleness, when it sets one.
  const auto age = member<std::int64_t>(readyz, "governance", "age_seconds",
                                        member<std::int64_t>(readyz, "control_plane", "age_seconds", -1));
  const auto max_staleness = member<std::int64_t>(readyz, "governance", "max_staleness_seconds", 0);
  report["config"] = {
      {"policy_version", member<std::string>(readyz, "policy", "version", "")},
      {"governance_version", member<std::string>(readyz, "governance", "version", "")},
      {"generation", member<std::uint64_t>(readyz, "control_plane", "generation", 0)},
      {"age_seconds", age},
      {"stale", max_staleness > 0 && age > max_staleness},
      {"source", member<std::string>(readyz, "control_plane", "source", "disk")}};
  report["control_plane"] = {
      {"connected", member<bool>(readyz, "control_plane", "connected", false)},
      {"last_error", member<std::string>(readyz, "control_plane", "last_error", "")}};
  if (readyz.contains("audit_shipping")) report["audit_shipping"] = readyz["audit_shipping"];

  report["listeners"] = facts.listeners;
  json decisions = json::object();
  for (const auto& [layer, counts] : facts.decisions) {
    decisions[layer] = {{"allow", counts.allow}, {"deny", counts.deny}};
  }
  report["layers"] = std::move(decisions);
  return report;
}

}  // namespace warden::proxy
