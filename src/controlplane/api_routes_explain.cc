// POST /api/v1/explain: "what if" for a hypothetical request (explain.h,
// docs/control-plane.md#explain). Every field is checked before anything is evaluated, and
// a bad one is a 4xx naming it: a verdict computed from a typo (an unknown name, a
// lower-case method, a path no sidecar would evaluate) would read as an answer about a
// request nobody can send.
#include "common/http_token.h"
#include "controlplane/agent_record.h"
#include "controlplane/api_context.h"
#include "controlplane/distribution.h"
#include "controlplane/dry_run.h"
#include "controlplane/explain.h"
#include "identity/spiffe_id.h"
#include "policy/policy.h"
#include "policy/request_path.h"

namespace warden::controlplane::api {
namespace {

constexpr std::size_t kMaxMethodLength = 32;

// Methods are case-sensitive (RFC 9110 §9.1), so "get" is an extension method that no
// GET rule covers; a sidecar would evaluate it as one. Explain refuses it with a hint
// instead: almost always it is a typo whose "denied" would mislead.
std::optional<std::string> methodProblem(const std::string& method) {
  if (method.empty())
    return "method: expected an HTTP method such as GET";
  if (method.size() > kMaxMethodLength) {
    return "method: longer than " + std::to_string(kMaxMethodLength) + " characters";
  }
  if (!isHttpToken(method)) {
    return std::string("method: not an HTTP method token (letters, digits and !#$%&'*+-.^_`|~)");
  }
  std::string upper = method;
  for (char& ch : upper)
    ch = ch >= 'a' && ch <= 'z' ? static_cast<char>(ch - 'a' + 'A') : ch;
  if (upper != method && policy::parseMethod(upper) != policy::Method::kOther) {
    return "method: methods are case-sensitive; did you mean " + upper + "?";
  }
  return std::nullopt;
}

// The path as a sidecar would see it in the request line. Explain answers about requests
// a sidecar evaluates; one it refuses before any layer (400 invalid_path) is not one.
std::optional<std::string> pathProblem(const std::string& path) {
  if (path.empty())
    return "path: expected an origin-form path such as /budget/read";
  if (path.front() != '/') {
    return "path: must be origin-form, starting with / (absolute-form, authority-form and * "
           "are never evaluated by a sidecar)";
  }
  if (auto normalized = policy::normalizeRequestTarget(path); !normalized) {
    return "path: " + normalized.error().message +
           " (a sidecar refuses such a request with 400 invalid_path before any layer)";
  }
  return std::nullopt;
}

HttpResponse badField(std::string reason) {
  return error(400, "invalid_request", reason);
}

}  // namespace

HttpResponse explain(Context& c, Route& r) {
  if (r.method != "POST")
    return error(405, "method_not_allowed", "use POST");
  if (!r.principal.canRead())
    return error(403, "forbidden", "explain needs a signed-in role");
  auto body = jsonBody(r);
  if (auto* res = std::get_if<HttpResponse>(&body))
    return std::move(*res);
  const json& b = std::get<json>(body);
  // Strict: a misspelt member ("role", "tokn") would otherwise be ignored and the verdict
  // computed without it.
  for (const auto& member : b.items()) {
    const std::string& key = member.key();
    if (key != "caller" && key != "target" && key != "method" && key != "path" && key != "roles") {
      return badField(key + ": unknown member (known: caller, target, method, path, roles)");
    }
  }
  for (const char* key : {"caller", "target", "method", "path"}) {
    auto it = b.find(key);
    if (it == b.end() || !it->is_string())
      return badField(std::string(key) + ": expected a string");
  }
  ExplainRequest req;
  req.caller = b.at("caller").get<std::string>();
  req.method = b.at("method").get<std::string>();
  req.path = b.at("path").get<std::string>();
  const std::string target = b.at("target").get<std::string>();
  if (auto it = b.find("roles"); it != b.end()) {
    if (!it->is_array())
      return badField("roles: expected a list of strings");
    req.roles.emplace();
    for (std::size_t i = 0; i < it->size(); ++i) {
      const json& role = (*it)[i];
      if (!role.is_string())
        return badField("roles[" + std::to_string(i) + "]: expected a string");
      req.roles->push_back(role.get<std::string>());
    }
  }
  if (auto why = methodProblem(req.method))
    return badField(std::move(*why));
  if (auto why = pathProblem(req.path))
    return badField(std::move(*why));

  // The caller: a registered agent's name stands for its SPIFFE ID; anything else must be
  // a SPIFFE ID itself (an unregistered caller is a fair question: "what if a stranger").
  if (validAgentName(req.caller)) {
    auto agent = c.store.getAgent(req.caller);
    if (!agent) {
      return agent.error().kind == StoreErrorKind::kNotFound
                 ? error(404, "unknown_caller",
                         "caller: no agent named " + req.caller +
                             " (give a registered agent's name or a SPIFFE ID)")
                 : storeError(agent.error());
    }
    if (agent->spiffe_id.empty()) {
      return badField("caller: agent " + req.caller +
                      " has no SPIFFE ID, so no sidecar can present it; give a SPIFFE ID");
    }
    req.caller = agent->spiffe_id;
  } else if (auto id = identity::SpiffeId::parse(req.caller); !id) {
    return badField("caller: neither an agent name ([a-z0-9-]{1,63}) nor a SPIFFE ID: " +
                    id.error().message);
  }

  if (!validAgentName(target)) {
    return badField("target: expected the target agent's name ([a-z0-9-]{1,63})");
  }
  if (auto agent = c.store.getAgent(target); !agent) {
    return agent.error().kind == StoreErrorKind::kNotFound
               ? error(404, "unknown_target", "target: no agent named " + target)
               : storeError(agent.error());
  }
  std::shared_ptr<const policy::PolicySnapshot> compiled;
  if (auto doc = c.store.getDocument(kPolicyDocument, target)) {
    auto stored = compileStoredPolicy(*doc);
    // Stored policies were compiled on the way in: a failure is a newer server's text.
    if (!stored)
      return error(500, "internal", "the live policy: " + stored.error().message);
    compiled = std::move(*stored);
  } else if (doc.error().kind != StoreErrorKind::kNotFound) {
    return storeError(doc.error());
  }
  auto gov = governanceFor(c.store, target, c.store.generation());
  if (!gov)
    return storeError(gov.error());
  auto gov_snapshot = governance::compileGovernance(std::move(*gov));
  if (!gov_snapshot)
    return error(500, "internal", "the live governance: " + gov_snapshot.error().message);
  json out = explainRequest(compiled.get(), gov_snapshot->get(), req);
  out["target"] = target;
  return ok(out);
}

}  // namespace warden::controlplane::api
