// /api/v1/sidecars/status: governed sidecars report their health here, over the same
// mTLS identity they fetch their view with; /api/v1/health: the one health document
// (this server, every reporting sidecar, registered agents that never reported) that
// the portal's System health and Enforcement layers pages read
// (docs/control-plane.md#health).
#include <boost/beast/http/status.hpp>

#include <set>

#include "controlplane/api_context.h"
#include "controlplane/server_health.h"
#include "controlplane/sidecar_report.h"
#include "controlplane/sidecar_reports.h"

namespace warden::controlplane::api {

HttpResponse sidecarStatus(Route& r, SidecarReports& reports, std::int64_t now) {
  if (r.segments.size() != 2 || r.segments[1] != "status") return error(404, "not_found", "no such route");
  if (r.method != "POST") return error(405, "method_not_allowed", "use POST");
  // The same rule as audit shipping: only a registered agent's sidecar, identified by
  // its client certificate.
  if (r.principal.role != Role::kSidecar) {
    return error(403, "forbidden", "only a registered agent's sidecar reports its status");
  }
  if (r.request->body().size() > kMaxSidecarReportBytes) {
    return error(413, "payload_too_large",
                 "a status report is at most " + std::to_string(kMaxSidecarReportBytes) + " bytes");
  }
  if (r.header("content-type").rfind("application/json", 0) != 0) {
    return error(415, "unsupported_media_type", "send application/json");
  }
  auto report = parseSidecarReport(r.request->body());
  if (!report) return error(400, "invalid_request", report.error().message);
  // Who reported is the certificate's SPIFFE ID, whatever the body claims.
  reports.record(r.principal.subject, r.principal.agent, std::move(*report), now);
  HttpResponse res{boost::beast::http::status::no_content, 11};
  res.set(boost::beast::http::field::cache_control, "no-store");
  return res;
}

HttpResponse health(Context& c, Route& r, const ServerHealthInputs& server, SidecarReports& reports,
                    std::int64_t now) {
  if (r.segments.size() != 1) return error(404, "not_found", "no such route");
  if (r.method != "GET" && r.method != "HEAD") return error(405, "method_not_allowed", "use GET");
  if (!r.principal.canRead()) return error(403, "forbidden", "health needs a signed-in role");

  json doc = {{"generated_at", now}, {"server", describeServer(server, c.store, now)}};
  // Agent names as the registry has them now (a report keeps the SPIFFE ID it proved; the
  // agent may have been renamed or deleted since). A store failure shows as
  // server.store.ok false; the sidecars are still listed.
  std::map<std::string, std::string> agent_by_id;
  // Agents whose sidecar reports here: a SPIFFE ID of this trust domain. A federated
  // agent's sidecar (another trust domain) is governed by its own control plane.
  std::vector<std::string> local_agents;
  if (auto agents = c.store.listAgents()) {
    for (const auto& a : *agents) {
      if (a.spiffe_id.empty()) continue;
      agent_by_id[a.spiffe_id] = a.name;
      if (a.trust_domain_kind == TrustDomainKind::kLocal) local_agents.push_back(a.name);
    }
  }
  json sidecars = json::array();
  std::set<std::string> reported;
  for (const auto& entry : reports.list(now)) {
    json s = entry.report.document;
    const auto agent = agent_by_id.find(entry.spiffe_id);
    s["spiffe_id"] = entry.spiffe_id;
    s["agent"] = agent == agent_by_id.end() ? std::string() : agent->second;
    s["last_report_at"] = entry.received_at;
    s["report_age_seconds"] = entry.ageSeconds(now);
    s["stale"] = entry.stale(now);
    if (agent != agent_by_id.end()) reported.insert(agent->second);
    sidecars.push_back(std::move(s));
  }
  json missing = json::array();
  for (const auto& name : local_agents) {
    if (!reported.contains(name)) missing.push_back(name);
  }
  doc["sidecars"] = std::move(sidecars);
  doc["agents_without_sidecar"] = std::move(missing);
  auto res = ok(doc);
  res.set(boost::beast::http::field::cache_control, "no-store");
  return res;
}

}  // namespace warden::controlplane::api
