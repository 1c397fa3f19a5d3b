// /api/v1/policies and /api/v1/governance: a target's developer policy and its admin
// governance block, each a versioned document (docs/control-plane.md#policies).
// Both are validated with the compilers the sidecars use before anything is stored; a
// candidate can be dry-run against the target's recorded requests first (dry_run.h).
#include "controlplane/agent_record.h"
#include "controlplane/api_context.h"
#include "controlplane/distribution.h"
#include "controlplane/dry_run.h"
#include "controlplane/text_diff.h"
#include "governance/governance.h"
#include "identity/spiffe_id.h"
#include "policy/policy.h"
#include "policy/policy_config.h"

namespace warden::controlplane::api {
namespace {

// A candidate document compiled with the compilers the sidecars use.
struct Candidate {
  std::shared_ptr<const policy::PolicySnapshot> policy;  // kPolicyDocument
  governance::TargetGovernance governance;               // kGovernanceDocument
};

// What a policy's `target:` line must name, when it has one.
struct TargetCheck {
  std::string spiffe_id;  // empty: an agent without a SPIFFE ID, which no `target:` names
  std::string agent;      // the agent's name; empty when a SPIFFE ID was given instead
};

TargetCheck targetCheckFor(const AgentRecord& agent) {
  return TargetCheck{agent.spiffe_id, agent.name};
}

std::string targetMismatch(const std::string& named, const TargetCheck& check) {
  if (check.agent.empty()) return named + " is not the given target " + check.spiffe_id;
  if (check.spiffe_id.empty()) {
    return named + " names a workload, but agent " + check.agent +
           " has no SPIFFE ID: remove the line";
  }
  return named + " is not agent " + check.agent + "'s SPIFFE ID " + check.spiffe_id;
}

// Compiles a document of `kind`, named `source` in messages ("policy/budget-backend"); the
// error names the line and field path. `check` null: a draft for no particular target,
// whose `target:` is only checked to be a SPIFFE ID.
Result<Candidate> compileCandidate(std::string_view kind, const std::string& source,
                                   const std::string& content, const TargetCheck* check) {
  Candidate candidate;
  if (kind == kPolicyDocument) {
    auto parsed = policy::parsePolicyYaml(content, source);
    if (!parsed) return parsed.error();
    if (check != nullptr && !parsed->target.empty() && parsed->target != check->spiffe_id) {
      return policy::configError(source, parsed->target_mark, "target",
                                 targetMismatch(parsed->target, *check));
    }
    auto compiled = policy::compilePolicy(std::move(*parsed));
    if (!compiled) return compiled.error();
    candidate.policy = std::move(*compiled);
    return candidate;
  }
  auto parsed = governance::parseTargetGovernanceYaml(content, source);
  if (!parsed) return parsed.error();
  candidate.governance = std::move(*parsed);
  return candidate;
}

std::string sourceName(std::string_view kind, const std::string& target) {
  return std::string(kind) + "/" + target;
}

Status validateDocument(std::string_view kind, const std::string& source,
                        const std::string& content, const TargetCheck* check) {
  auto candidate = compileCandidate(kind, source, content, check);
  if (!candidate) return candidate.error();
  return {};
}

// What POST {kind}/validate checks a document's `target:` against: a registered agent's
// SPIFFE ID (an unknown name is 404, as for PUT: "valid" must not be said of a document
// that could not be stored), a SPIFFE ID given as is (no registry needed, as `warden
// policy validate --target` offline), or nothing for a draft without a target.
std::variant<std::optional<TargetCheck>, HttpResponse> validationTarget(Context& c,
                                                                        const std::string& target) {
  if (target.empty()) return std::optional<TargetCheck>{};
  if (validAgentName(target)) {
    auto agent = c.store.getAgent(target);
    if (agent) return std::optional<TargetCheck>{targetCheckFor(*agent)};
    return agent.error().kind == StoreErrorKind::kNotFound
               ? error(404, "unknown_target", "target: no agent named " + target)
               : storeError(agent.error());
  }
  auto id = identity::SpiffeId::parse(target);
  if (!id) {
    return error(
        400, "invalid_request",
        "target: neither an agent name ([a-z0-9-]{1,63}) nor a SPIFFE ID: " + id.error().message);
  }
  return std::optional<TargetCheck>{TargetCheck{target, ""}};
}

// POST {kind}/{target}/dry-run (dry_run.h): read-only, so open to every reader, and not
// in the change log.
HttpResponse dryRun(Context& c, const Route& r, std::string_view kind, const std::string& target,
                    std::uint64_t live_version) {
  auto agent = c.store.getAgent(target);
  if (!agent) {
    return agent.error().kind == StoreErrorKind::kNotFound
               ? error(404, "unknown_target", "no agent named " + target)
               : storeError(agent.error());
  }
  auto body = jsonBody(r);
  if (auto* res = std::get_if<HttpResponse>(&body)) return std::move(*res);
  auto request = parseDryRunRequest(std::get<json>(body));
  if (!request) return error(400, "invalid_request", request.error().message);
  const TargetCheck check = targetCheckFor(*agent);
  auto candidate = compileCandidate(kind, sourceName(kind, target), request->document, &check);
  if (!candidate) {
    // The shape of PUT's refusal, plus the list /validate answers, for the portal's editor.
    return net::jsonResponse(400, json{{"error", "invalid_" + std::string(kind)},
                                       {"layer", "control_plane"},
                                       {"reason", candidate.error().message},
                                       {"errors", json::array({candidate.error().message})}}
                                      .dump());
  }

  DryRunInputs in;
  std::shared_ptr<const policy::PolicySnapshot> live_policy;
  if (auto doc = c.store.getDocument(kPolicyDocument, target)) {
    auto compiled = compileStoredPolicy(*doc);
    // Stored policies were compiled on the way in: a failure is a newer server's text.
    if (!compiled) return error(500, "internal", "the live policy: " + compiled.error().message);
    live_policy = std::move(*compiled);
  } else if (doc.error().kind != StoreErrorKind::kNotFound) {
    return storeError(doc.error());
  }
  auto gov = governanceFor(c.store, target, c.store.generation());
  if (!gov) return storeError(gov.error());
  in.live_policy = live_policy.get();
  in.candidate_policy = kind == kPolicyDocument ? candidate->policy.get() : live_policy.get();
  in.live_governance = gov->target;
  in.candidate_governance = kind == kPolicyDocument ? gov->target : candidate->governance;
  for (auto& facts : gov->agents) in.registry.emplace(facts.spiffe_id, std::move(facts));

  std::vector<AuditRow> rows;
  if (!agent->spiffe_id.empty()) {
    auto recent = c.store.recentIngressRequests(agent->spiffe_id, request->limit);
    if (!recent) return storeError(recent.error());
    rows = std::move(*recent);
  }
  auto replayed = replayRecordedRequests(in, rows);
  return ok(json{{"target", target},
                 {"kind", kind},
                 {"live_version", live_version},
                 {"evaluated", replayed.results.size()},
                 {"changed", replayed.changed},
                 {"results", std::move(replayed.results)}});
}

json versionJson(const DocumentVersion& v, bool with_content) {
  json j{{"kind", v.kind},
         {"target", v.target},
         {"version", v.version},
         {"etag", etagFor(v.kind, v.target, v.version)},
         {"sha256", v.sha256},
         {"author", {{"subject", v.author.subject}, {"method", v.author.method}}},
         {"time", v.time_unix},
         {"comment", v.comment},
         {"action", v.action}};
  if (v.restored_from != 0) j["restored_from"] = v.restored_from;
  if (with_content) j["content"] = v.content;
  return j;
}

HttpResponse withEtag(HttpResponse res, const DocumentVersion& v) {
  res.set(boost::beast::http::field::etag, etagFor(v.kind, v.target, v.version));
  return res;
}

std::optional<std::uint64_t> parseVersion(const std::string& text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  std::uint64_t n = 0;
  for (char ch : text) {
    if (ch < '0' || ch > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(ch - '0');
  }
  return n == 0 ? std::nullopt : std::optional<std::uint64_t>(n);
}

}  // namespace

boost::asio::awaitable<HttpResponse> documents(Context& c, Route& r, std::string_view kind) {
  const auto& seg = r.segments;
  const bool read = r.method == "GET" || r.method == "HEAD";
  if (!r.principal.canRead()) co_return error(403, "forbidden", "this action needs a signed-in role");
  const bool may_write = kind == kPolicyDocument ? r.principal.canWritePolicy() : r.principal.isAdmin();
  const std::string who = kind == kPolicyDocument ? "the developer or admin role" : "the admin role";

  if (seg.size() == 1 && read) {
    auto list = c.store.listDocuments(kind);
    if (!list) co_return storeError(list.error());
    json out = json::array();
    for (const auto& v : *list) out.push_back(versionJson(v, false));
    co_return ok(json{{"documents", out}});
  }
  if (seg.size() == 2 && seg[1] == "validate" && r.method == "POST") {
    // Dry validation, open to every reader (the portal validates as you type).
    auto body = jsonBody(r);
    if (auto* res = std::get_if<HttpResponse>(&body)) co_return std::move(*res);
    const json& b = std::get<json>(body);
    if (!b.contains("content") || !b["content"].is_string()) {
      co_return error(400, "invalid_request", "content: expected the document text");
    }
    auto target_field = optionalString(b, "target");
    if (auto* res = std::get_if<HttpResponse>(&target_field)) co_return std::move(*res);
    const std::string& target = std::get<std::string>(target_field);
    auto check = validationTarget(c, target);
    if (auto* res = std::get_if<HttpResponse>(&check)) co_return std::move(*res);
    const auto& expected = std::get<std::optional<TargetCheck>>(check);
    // A SPIFFE ID would make a confusing source name ("policy/spiffe://...:2:9: ...").
    const std::string source = sourceName(kind, validAgentName(target) ? target : "draft");
    auto st = validateDocument(kind, source, b["content"].get<std::string>(),
                               expected ? &*expected : nullptr);
    co_return ok(json{{"valid", st.ok()},
                      {"errors", st.ok() ? json::array() : json::array({st.message()})}});
  }
  if (seg.size() < 2) co_return error(405, "method_not_allowed", "use GET");
  const std::string& target = seg[1];
  auto current = c.store.getDocument(kind, target);
  if (!current && current.error().kind != StoreErrorKind::kNotFound) co_return storeError(current.error());

  if (seg.size() == 2) {
    if (read) {
      if (!current) co_return storeError(current.error());
      if (r.queryValue("format") == "raw") {
        HttpResponse res{boost::beast::http::status::ok, 11};
        res.set(boost::beast::http::field::content_type, "application/yaml");
        res.body() = current->content;
        co_return withEtag(std::move(res), *current);
      }
      co_return withEtag(ok(versionJson(*current, true)), *current);
    }
    if (r.method != "PUT") co_return error(405, "method_not_allowed", "use GET or PUT");
    if (!may_write) co_return error(403, "forbidden", "changing this document needs " + who);
    auto agent = c.store.getAgent(target);
    if (!agent) {
      co_return agent.error().kind == StoreErrorKind::kNotFound
                    ? error(404, "unknown_target", "no agent named " + target)
                    : storeError(agent.error());
    }
    auto body = jsonBody(r);
    if (auto* res = std::get_if<HttpResponse>(&body)) co_return std::move(*res);
    const json& b = std::get<json>(body);
    if (!b.contains("content") || !b["content"].is_string()) {
      co_return error(400, "invalid_request", "content: expected the document text");
    }
    const std::string content = b["content"].get<std::string>();
    auto comment = optionalString(b, "comment");
    if (auto* res = std::get_if<HttpResponse>(&comment)) co_return std::move(*res);
    const TargetCheck check = targetCheckFor(*agent);
    if (auto st = validateDocument(kind, sourceName(kind, target), content, &check); !st) {
      auto res = error(400, std::string("invalid_") + std::string(kind), st.message());
      co_return res;
    }
    auto expected = expectedVersion(r, kind, target, current ? current->version : 0);
    if (auto* res = std::get_if<HttpResponse>(&expected)) co_return std::move(*res);
    auto put = c.store.putDocument(kind, target, content, std::get<0>(expected), r.actor(),
                                   std::get<std::string>(comment));
    if (!put) co_return storeError(put.error());
    co_return withEtag(ok(versionJson(*put, false), current ? 200 : 201), *put);
  }

  const std::string& action = seg[2];
  if (action == "dry-run" && seg.size() == 3) {
    if (r.method != "POST") co_return error(405, "method_not_allowed", "use POST");
    co_return dryRun(c, r, kind, target, current ? current->version : 0);
  }
  if (action == "history" && read && seg.size() == 3) {
    auto history = c.store.documentHistory(kind, target);
    if (!history) co_return storeError(history.error());
    json out = json::array();
    for (const auto& v : *history) out.push_back(versionJson(v, false));
    co_return ok(json{{"target", target}, {"kind", kind}, {"history", out}});
  }
  if (action == "versions" && read && seg.size() == 4) {
    auto n = parseVersion(seg[3]);
    if (!n) co_return error(400, "invalid_request", "version: expected a positive integer");
    auto v = c.store.getDocumentVersion(kind, target, *n);
    if (!v) co_return storeError(v.error());
    co_return ok(versionJson(*v, true));
  }
  if (action == "diff" && read && seg.size() == 3) {
    if (!current) co_return storeError(current.error());
    auto from = parseVersion(r.queryValue("from"));
    auto to = r.queryValue("to").empty() ? std::optional<std::uint64_t>(current->version)
                                         : parseVersion(r.queryValue("to"));
    if (!from || !to) co_return error(400, "invalid_request", "from and to: expected versions");
    auto a = c.store.getDocumentVersion(kind, target, *from);
    if (!a) co_return storeError(a.error());
    auto b = c.store.getDocumentVersion(kind, target, *to);
    if (!b) co_return storeError(b.error());
    HttpResponse res{boost::beast::http::status::ok, 11};
    res.set(boost::beast::http::field::content_type, "text/x-diff; charset=utf-8");
    res.body() = unifiedDiff(a->content, b->content, target + "@v" + std::to_string(*from),
                             target + "@v" + std::to_string(*to));
    co_return res;
  }
  if (action == "rollback" && r.method == "POST" && seg.size() == 3) {
    if (!may_write) co_return error(403, "forbidden", "changing this document needs " + who);
    if (!current) co_return storeError(current.error());
    auto body = jsonBody(r);
    if (auto* res = std::get_if<HttpResponse>(&body)) co_return std::move(*res);
    const json& b = std::get<json>(body);
    if (!b.contains("version") || !b["version"].is_number_unsigned()) {
      co_return error(400, "invalid_request", "version: expected a positive integer");
    }
    auto comment = optionalString(b, "comment");
    if (auto* res = std::get_if<HttpResponse>(&comment)) co_return std::move(*res);
    auto expected = expectedVersion(r, kind, target, current->version);
    if (auto* res = std::get_if<HttpResponse>(&expected)) co_return std::move(*res);
    auto restored = c.store.restoreDocument(kind, target, b["version"].get<std::uint64_t>(),
                                            std::get<0>(expected), r.actor(),
                                            std::get<std::string>(comment));
    if (!restored) co_return storeError(restored.error());
    co_return withEtag(ok(versionJson(*restored, false)), *restored);
  }
  co_return error(404, "not_found", "no such route");
}

}  // namespace warden::controlplane::api
