// /api/v1/agents: the registry (docs/control-plane.md#agents).
#include "controlplane/agent_api.h"
#include "controlplane/api_context.h"

namespace warden::controlplane::api {
namespace {

std::string commentOf(const json& body) {
  return body.contains("comment") && body["comment"].is_string() ? body["comment"].get<std::string>()
                                                                  : std::string();
}

HttpResponse withEtag(HttpResponse res, const AgentRecord& a) {
  res.set(boost::beast::http::field::etag, etagFor("agent", a.name, a.revision));
  return res;
}

HttpResponse forbidden() { return error(403, "forbidden", "this action needs the admin role"); }

// DELETE's comment: a JSON body {"comment"} as on every other change, or `?comment=`, the
// form this route first had (kept for old clients). The body is strict: a member DELETE
// does not read (a revision, an agent) would otherwise be silently ignored.
std::variant<std::string, HttpResponse> deleteComment(const Route& r) {
  auto body = optionalJsonBody(r);
  if (auto* res = std::get_if<HttpResponse>(&body)) return std::move(*res);
  const json& b = std::get<json>(body);
  for (auto it = b.begin(); it != b.end(); ++it) {
    if (it.key() != "comment") {
      return error(400, "invalid_request", it.key() + ": unknown member; a DELETE body has only comment");
    }
  }
  auto comment = optionalString(b, "comment");
  if (std::holds_alternative<HttpResponse>(comment)) return comment;
  auto query = r.query.find("comment");
  if (query == r.query.end()) return comment;
  if (b.contains("comment") && query->second != std::get<std::string>(comment)) {
    return error(400, "invalid_request",
                 "comment: given in the body and as ?comment= with different text");
  }
  return query->second;
}

}  // namespace

boost::asio::awaitable<HttpResponse> agents(Context& c, Route& r) {
  const auto& seg = r.segments;
  const bool read = r.method == "GET" || r.method == "HEAD";
  if (!r.principal.canRead()) co_return forbidden();
  if (!read && !r.principal.isAdmin()) co_return forbidden();

  if (seg.size() == 1) {
    if (read) {
      auto list = c.store.listAgents();
      if (!list) co_return storeError(list.error());
      json out = json::array();
      for (const auto& a : *list) out.push_back(agentToApiJson(a));
      co_return ok(json{{"agents", out}});
    }
    if (r.method != "POST") co_return error(405, "method_not_allowed", "use GET or POST");
    auto body = jsonBody(r);
    if (auto* res = std::get_if<HttpResponse>(&body)) co_return std::move(*res);
    auto parsed = agentFromApiJson(std::get<json>(body));
    if (auto* why = std::get_if<std::string>(&parsed)) co_return error(400, "invalid_agent", *why);
    auto created = c.store.createAgent(std::get<AgentRecord>(parsed), r.actor(),
                                       commentOf(std::get<json>(body)));
    if (!created) co_return storeError(created.error());
    co_return withEtag(ok(agentToApiJson(*created), 201), *created);
  }

  const std::string& name = seg[1];
  auto current = c.store.getAgent(name);
  if (seg.size() == 2) {
    if (read) {
      if (!current) co_return storeError(current.error());
      co_return withEtag(ok(agentToApiJson(*current)), *current);
    }
    if (r.method == "PUT" || r.method == "DELETE") {
      if (!current) co_return storeError(current.error());
      auto expected = expectedVersion(r, "agent", name, current->revision);
      if (auto* res = std::get_if<HttpResponse>(&expected)) co_return std::move(*res);
      const std::uint64_t revision = std::get<0>(expected).value_or(current->revision);
      if (r.method == "DELETE") {
        auto comment = deleteComment(r);
        if (auto* res = std::get_if<HttpResponse>(&comment)) co_return std::move(*res);
        auto done = c.store.deleteAgent(name, revision, r.actor(), std::get<std::string>(comment));
        if (!done) co_return storeError(done.error());
        co_return ok(json{{"deleted", name}});
      }
      auto body = jsonBody(r);
      if (auto* res = std::get_if<HttpResponse>(&body)) co_return std::move(*res);
      auto parsed = agentFromApiJson(std::get<json>(body));
      if (auto* why = std::get_if<std::string>(&parsed)) co_return error(400, "invalid_agent", *why);
      AgentRecord record = std::get<AgentRecord>(parsed);
      if (record.name.empty()) record.name = name;
      if (record.name != name) co_return error(400, "invalid_agent", "name: cannot be changed");
      auto updated = c.store.updateAgent(std::move(record), revision, r.actor(),
                                         commentOf(std::get<json>(body)));
      if (!updated) co_return storeError(updated.error());
      co_return withEtag(ok(agentToApiJson(*updated)), *updated);
    }
    co_return error(405, "method_not_allowed", "use GET, PUT or DELETE");
  }

  const std::string& action = seg[2];
  if (seg.size() == 3 && action == "history" && read) {
    auto history = c.store.agentHistory(name);
    if (!history) co_return storeError(history.error());
    json out = json::array();
    for (const auto& v : *history) {
      out.push_back({{"revision", v.revision}, {"time", v.time_unix},
                     {"actor", {{"subject", v.actor.subject}, {"method", v.actor.method}}},
                     {"action", v.action}, {"comment", v.comment},
                     {"agent", v.record ? agentToApiJson(*v.record) : json(nullptr)}});
    }
    co_return ok(json{{"agent", name}, {"history", out}});
  }
  if (read || seg.size() != 3) co_return error(404, "not_found", "no such route");
  // Containment and its reversal need nothing but an optional comment: an empty body will do.
  const bool body_optional = action == "isolate" || action == "restore-access";
  auto body = body_optional ? optionalJsonBody(r) : jsonBody(r);
  if (auto* res = std::get_if<HttpResponse>(&body)) co_return std::move(*res);
  const json& b = std::get<json>(body);
  const std::string comment = commentOf(b);
  auto field = [&](const char* key) -> std::string {
    return b.contains(key) && b[key].is_string() ? b[key].get<std::string>() : std::string();
  };

  if (action == "risk" && r.method == "PUT") {
    auto level = governance::riskLevelFromName(field("risk"));
    if (!level) co_return error(400, "invalid_request", "risk: expected none, low, medium or high");
    auto updated = c.store.setRisk(name, *level, "admin", r.actor(), comment);
    if (!updated) co_return storeError(updated.error());
    co_return withEtag(ok(agentToApiJson(*updated)), *updated);
  }
  if (action == "state" && r.method == "PUT") {
    auto state = governance::agentStateFromName(field("state"));
    if (!state) co_return error(400, "invalid_request", "state: expected enabled, disabled or quarantined");
    auto updated = c.store.setState(name, *state, r.actor(), comment);
    if (!updated) co_return storeError(updated.error());
    co_return withEtag(ok(agentToApiJson(*updated)), *updated);
  }
  if (action == "tags" && r.method == "PUT") {
    if (!current) co_return storeError(current.error());
    auto expected = expectedVersion(r, "agent", name, current->revision);
    if (auto* res = std::get_if<HttpResponse>(&expected)) co_return std::move(*res);
    if (!b.contains("tags") || !b["tags"].is_object()) {
      co_return error(400, "invalid_request", "tags: expected an object of strings");
    }
    AgentRecord record = *current;
    record.tags.clear();
    for (const auto& [k, v] : b["tags"].items()) {
      if (!v.is_string()) co_return error(400, "invalid_request", "tags." + k + ": expected a string");
      record.tags[k] = v.get<std::string>();
    }
    auto updated = c.store.updateAgent(std::move(record),
                                       std::get<0>(expected).value_or(current->revision),
                                       r.actor(), comment);
    if (!updated) co_return storeError(updated.error());
    co_return withEtag(ok(agentToApiJson(*updated)), *updated);
  }
  if (action == "isolate" && r.method == "POST") {
    // The SOC's containment (prototype S40): quarantined denies at layer 4a on every
    // target, whatever its allow-list says, and high risk makes the token service refuse
    // new tokens; both are recorded and reversed with /restore-access.
    auto quarantined = c.store.setState(name, governance::AgentState::kQuarantined, r.actor(),
                                        comment.empty() ? "isolated" : comment);
    if (!quarantined) co_return storeError(quarantined.error());
    auto risky = c.store.setRisk(name, governance::RiskLevel::kHigh, "admin", r.actor(),
                                 comment.empty() ? "isolated" : comment);
    if (!risky) co_return storeError(risky.error());
    co_return withEtag(ok(agentToApiJson(*risky)), *risky);
  }
  if (action == "restore-access" && r.method == "POST") {
    auto level = governance::riskLevelFromName(field("risk").empty() ? "low" : field("risk"));
    if (!level) co_return error(400, "invalid_request", "risk: expected none, low, medium or high");
    auto enabled = c.store.setState(name, governance::AgentState::kEnabled, r.actor(),
                                    comment.empty() ? "restored" : comment);
    if (!enabled) co_return storeError(enabled.error());
    auto risk = c.store.setRisk(name, *level, "admin", r.actor(), comment.empty() ? "restored" : comment);
    if (!risk) co_return storeError(risk.error());
    co_return withEtag(ok(agentToApiJson(*risk)), *risk);
  }
  if (action == "restore" && r.method == "POST") {
    if (!b.contains("revision") || !b["revision"].is_number_unsigned()) {
      co_return error(400, "invalid_request", "revision: expected a positive integer");
    }
    std::optional<std::uint64_t> expected;
    if (current) {
      auto e = expectedVersion(r, "agent", name, current->revision);
      if (auto* res = std::get_if<HttpResponse>(&e)) co_return std::move(*res);
      expected = std::get<0>(e);
    }
    auto restored = c.store.restoreAgent(name, b["revision"].get<std::uint64_t>(), r.actor(),
                                         comment, expected);
    if (!restored) co_return storeError(restored.error());
    co_return withEtag(ok(agentToApiJson(*restored)), *restored);
  }
  co_return error(404, "not_found", "no such route");
}

}  // namespace warden::controlplane::api
