// The control plane's REST API end to end (issue 5, docs/control-plane.md#api): who may
// call what (driven by the served OpenAPI document, so every documented route is tried),
// the bootstrap administrator's login, optimistic concurrency, validation with field
// paths, history/diff/rollback, the agent registry, audit ingest/query/export/stream,
// the distribution long-poll, explain and health. Everything on 127.0.0.1.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <future>
#include <set>
#include <thread>

#include "audit/audit_event.h"
#include "support/control_plane_harness.h"
#include "support/hook_gate.h"
#include "support/test_env.h"

namespace warden::testing {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

const char* const kBackendPolicy = R"(version: "budget"
target: spiffe://example.org/budget-backend
allow:
  - trust_domain: example.org
callers:
  - match: { id: spiffe://example.org/budget-report }
    rules:
      - id: report-read
        methods: [GET]
        path: { exact: /budget/read }
        action: allow
  - match: { id: spiffe://example.org/budget-approval }
    rules:
      - id: approval-read
        methods: [GET]
        path: { exact: /budget/read }
        action: allow
      - id: approval-submit
        methods: [POST]
        path: { exact: /budget/submit }
        action: allow
)";

// kBackendPolicy without the approval-submit rule.
const char* const kBackendPolicyV2 = R"(version: "budget-2"
target: spiffe://example.org/budget-backend
allow:
  - trust_domain: example.org
callers:
  - match: { id: spiffe://example.org/budget-report }
    rules:
      - id: report-read
        methods: [GET]
        path: { exact: /budget/read }
        action: allow
  - match: { id: spiffe://example.org/budget-approval }
    rules:
      - id: approval-read
        methods: [GET]
        path: { exact: /budget/read }
        action: allow
)";

const char* const kBackendGovernance = "max_risk: medium\nrequired_tags: {team: finance}\n";

// The store's observable state: what a refused request must leave untouched.
struct StoreState {
  std::uint64_t generation = 0;
  std::uint64_t last_change = 0;
  std::uint64_t audit_events = 0;
  bool operator==(const StoreState&) const = default;
};

std::string describe(const StoreState& s) {
  return "generation " + std::to_string(s.generation) + ", last change " +
         std::to_string(s.last_change) + ", audit events " + std::to_string(s.audit_events);
}

std::string base64UrlDecode(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
  };
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : in) {
    const int v = value(c);
    if (v < 0) return {};
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  return out;
}

// The JSON of one part (0: header, 1: claims) of a compact JWS.
json jwtPart(const std::string& token, int part) {
  std::size_t start = 0;
  for (int i = 0; i < part; ++i) start = token.find('.', start) + 1;
  const std::size_t end = token.find('.', start);
  return json::parse(base64UrlDecode(token.substr(start, end - start)), nullptr, false);
}

std::string replaceAll(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

bool hasRole(const json& op, const std::string& role) {
  if (!op.contains("x-warden-roles")) return false;
  for (const auto& r : op["x-warden-roles"]) {
    if (r == role) return true;
  }
  return false;
}

// One audit event as a sidecar writes it (audit::toJsonLine).
std::string auditLine(std::int64_t unix_seconds, const std::string& request_id, bool allowed,
                      const std::string& layer, const std::string& reason, const std::string& caller,
                      const std::string& method, const std::string& path,
                      const std::string& policy_version = "budget@v1") {
  audit::AuditEvent e;
  e.time_unix_us = unix_seconds * 1000000;
  e.request_id = request_id;
  e.allowed = allowed;
  e.layer = layer;
  e.reason = reason;
  e.status = allowed ? 200 : 403;
  e.caller_id = "spiffe://example.org/" + caller;
  e.target_id = "spiffe://example.org/budget-backend";
  e.method = method;
  e.path = path;
  e.policy_version = policy_version;
  e.rule_id = allowed ? "report-read" : "";
  e.source_address = "127.0.0.1:40000";
  e.connection_id = 7;
  return audit::toJsonLine(e);
}

class ControlPlaneApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cp.addAgent({{"name", "budget-backend"}, {"spiffe_id", "spiffe://example.org/budget-backend"}});
    cp.addAgent({{"name", "budget-report"}, {"spiffe_id", "spiffe://example.org/budget-report"},
                 {"risk", "low"}, {"tags", {{"team", "finance"}}}});
    cp.addAgent({{"name", "budget-approval"}, {"spiffe_id", "spiffe://example.org/budget-approval"},
                 {"risk", "low"}, {"tags", {{"team", "finance"}}}});
    cp.addAgent({{"name", "employee-menus"}, {"spiffe_id", "spiffe://example.org/employee-menus"},
                 {"risk", "low"}});
    ASSERT_EQ(cp.putDocument("policies", "budget-backend", kBackendPolicy, "initial").status, 201);
    ASSERT_EQ(cp.putDocument("governance", "budget-backend", kBackendGovernance, "initial").status, 201);
  }

  // `who`: a registration entry ("admin", "viewer", an agent, ...) or "" for no certificate.
  HttpResponse as(const std::string& who, const std::string& method, const std::string& target,
                  const std::string& body = "", const std::string& headers = "") {
    if (who.empty()) return cp.call(std::nullopt, method, target, body, headers);
    return cp.call(cp.credential(who), method, target, body, headers);
  }
  HttpResponse withToken(const std::string& token, const std::string& method,
                         const std::string& target, const std::string& body = "",
                         const std::string& headers = "") {
    return cp.call(std::nullopt, method, target, body,
                   "Authorization: Bearer " + token + "\r\n" + headers);
  }
  static std::string ifMatch(const std::string& etag) { return "If-Match: " + etag + "\r\n"; }
  std::string etagOf(const std::string& target) {
    auto res = cp.admin("GET", target);
    EXPECT_EQ(res.status, 200) << target << ": " << res.body;
    EXPECT_FALSE(res.header("etag").empty()) << target;
    return res.header("etag");
  }
  HttpResponse login(const std::string& password) {
    return as("", "POST", "/api/v1/login", json{{"username", "admin"}, {"password", password}}.dump());
  }

  StoreState state() {
    StoreState s;
    s.generation = cp.store().generation();
    controlplane::ChangeQuery q;
    q.limit = 1;
    auto changes = cp.store().listChanges(q);
    EXPECT_TRUE(changes.ok());
    if (changes.ok() && !changes->empty()) s.last_change = changes->front().id;
    auto events = cp.store().countAuditEvents(controlplane::AuditQuery{});
    EXPECT_TRUE(events.ok());
    if (events.ok()) s.audit_events = *events;
    return s;
  }
  json changes(const std::string& query) {
    auto res = cp.admin("GET", "/api/v1/changes?" + query);
    EXPECT_EQ(res.status, 200) << res.body;
    return ControlPlane::json(res)["changes"];
  }
  json openapi() {
    auto res = as("", "GET", "/api/v1/openapi.json");
    EXPECT_EQ(res.status, 200);
    auto doc = ControlPlane::json(res);
    EXPECT_TRUE(doc.is_object() && doc.contains("paths")) << res.body.substr(0, 200);
    return doc;
  }
  // A documented path with real values for its parameters.
  static std::string concrete(const std::string& path) {
    return replaceAll(replaceAll(replaceAll(replaceAll(path, "{name}", "budget-report"), "{target}",
                                            "budget-backend"),
                                 "{version}", "1"),
                      "{id}", "0123456789abcdef01234567");
  }
  std::string auditBatch(const std::string& spool, std::uint64_t first_seq,
                          const std::vector<std::string>& lines) {
    std::string body = "{\"spool\":\"" + spool + "\",\"events\":[";
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (i) body += ",";
      body += "{\"seq\":" + std::to_string(first_seq + i) + ",\"event\":" + lines[i] + "}";
    }
    return body + "]}";
  }

  // A well-formed request for a documented mutating operation, with the ETag it needs:
  // if the role check were missing, it would change something.
  struct Attempt {
    std::string body = "{}";
    std::string headers;
  };
  Attempt attemptFor(const std::string& method, const std::string& path) {
    Attempt a;
    const std::string agent_etag = etagOf("/api/v1/agents/budget-report");
    if (path == "/api/v1/agents" && method == "POST") {
      a.body = json{{"name", "made-by-viewer"}, {"spiffe_id", "spiffe://example.org/made-by-viewer"}}.dump();
    } else if (path == "/api/v1/agents/{name}" && method == "DELETE") {
      a.body = R"({"comment":"attempted"})";
      a.headers = ifMatch(agent_etag);
    } else if (path == "/api/v1/agents/{name}") {
      auto agent = ControlPlane::json(cp.admin("GET", "/api/v1/agents/budget-report"));
      agent["display_name"] = "changed";
      a.body = agent.dump();
      a.headers = ifMatch(agent_etag);
    } else if (path.ends_with("/risk")) {
      a.body = R"({"risk":"high"})";
    } else if (path.ends_with("/state")) {
      a.body = R"({"state":"disabled"})";
    } else if (path.ends_with("/tags")) {
      a.body = R"({"tags":{"team":"ops"}})";
      a.headers = ifMatch(agent_etag);
    } else if (path == "/api/v1/agents/{name}/restore") {
      a.body = R"({"revision":1})";
      a.headers = ifMatch(agent_etag);
    } else if (path == "/api/v1/policies/{target}") {
      a.body = json{{"content", std::string(kBackendPolicy) + "# edited\n"}}.dump();
      a.headers = ifMatch(etagOf("/api/v1/policies/budget-backend"));
    } else if (path == "/api/v1/governance/{target}") {
      a.body = json{{"content", "max_risk: high\n"}}.dump();
      a.headers = ifMatch(etagOf("/api/v1/governance/budget-backend"));
    } else if (path.ends_with("/rollback")) {
      const std::string kind = path.starts_with("/api/v1/policies") ? "policies" : "governance";
      a.body = R"({"version":1})";
      a.headers = ifMatch(etagOf("/api/v1/" + kind + "/budget-backend"));
    } else if (path.ends_with("/validate")) {
      a.body = json{{"content", path.starts_with("/api/v1/policies") ? kBackendPolicy : kBackendGovernance},
                    {"target", "budget-backend"}}.dump();
    } else if (path.ends_with("/dry-run")) {
      a.body = json{{"document", path.starts_with("/api/v1/policies") ? kBackendPolicyV2 : kBackendGovernance}}.dump();
    } else if (path == "/api/v1/explain") {
      a.body = R"({"caller":"budget-report","target":"budget-backend","method":"GET","path":"/budget/read"})";
    } else if (path == "/api/v1/audit/events") {
      a.body = auditBatch("aa", 1, {auditLine(1714557600, "attempt", true, "rbac", "allowed",
                                              "budget-report", "GET", "/budget/read")});
    } else if (path == "/api/v1/test-calls") {
      a.body = R"({"caller":"budget-report","target":"budget-backend","method":"GET","path":"/budget/read"})";
    } else if (path == "/api/v1/sidecars/test-calls/{id}") {
      a.body = R"({"status":200,"latency_ms":1.5,"body":""})";
    } else if (path == "/api/v1/sidecars/status") {
      a.body = R"({"version":"0.1.0","started_at":1,"interval_seconds":15})";
    } else if (path == "/api/v1/users" && method == "POST") {
      a.body = R"({"username":"made-by-viewer","role":"admin"})";
    } else if (path == "/api/v1/login") {
      a.body = R"({"username":"admin","password":"not-the-password"})";
    } else if (path == "/api/v1/ssf/events") {
      a.body = "eyJhbGciOiJub25lIn0.e30.";
      a.headers = "Content-Type: application/secevent+jwt\r\n";
    }
    return a;
  }

  ControlPlane cp;
};

// --- 1. Authentication ------------------------------------------------------------------

TEST_F(ControlPlaneApiTest, NoIdentityStrangerOrBadTokenIs401OnEveryProtectedRoute) {
  const json doc = openapi();
  int tried = 0;
  for (const auto& [path, ops] : doc["paths"].items()) {
    for (const auto& [method_lc, op] : ops.items()) {
      if (method_lc == "parameters" || hasRole(op, "anyone")) continue;
      std::string method = method_lc;
      for (auto& ch : method) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      const std::string target = concrete(path);
      const std::string body = method == "GET" ? "" : "{}";
      const auto before = state();
      for (const auto& [label, res] :
           {std::pair<std::string, HttpResponse>{"no identity", as("", method, target, body)},
            {"stranger SVID", as("stranger", method, target, body)},
            {"bad bearer with the admin's certificate",
             as("admin", method, target, body, "Authorization: Bearer not.a.token\r\n")},
            {"another scheme with the admin's certificate",
             as("admin", method, target, body, "Authorization: Basic YWRtaW46eA==\r\n")}}) {
        EXPECT_EQ(res.status, 401) << label << ": " << method << " " << target << ": " << res.body;
        EXPECT_NE(res.header("www-authenticate"), "") << label << ": " << method << " " << target;
        EXPECT_EQ(ControlPlane::json(res).value("error", ""), "unauthenticated")
            << label << ": " << method << " " << target << ": " << res.body;
      }
      EXPECT_EQ(state(), before) << method << " " << target;
      ++tried;
    }
  }
  EXPECT_GE(tried, 35) << "the OpenAPI document lost routes";
  // The stranger's certificate does verify: it is known, just not allowed.
  EXPECT_EQ(as("admin", "GET", "/api/v1/whoami").status, 200);
}

// --- 2. Roles, driven by the OpenAPI document --------------------------------------------

TEST_F(ControlPlaneApiTest, ViewerCannotChangeAnythingOnAnyDocumentedRoute) {
  const json doc = openapi();
  const std::set<std::string> expected_open{
      "POST /api/v1/login", "POST /api/v1/ssf/events", "POST /api/v1/policies/validate",
      "POST /api/v1/governance/validate", "POST /api/v1/explain",
      "POST /api/v1/policies/{target}/dry-run", "POST /api/v1/governance/{target}/dry-run"};
  std::set<std::string> open;
  int tried = 0;
  for (const auto& [path, ops] : doc["paths"].items()) {
    for (const auto& [method_lc, op] : ops.items()) {
      if (method_lc == "parameters" || method_lc == "get" || method_lc == "head") continue;
      std::string method = method_lc;
      for (auto& ch : method) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      const std::string name = method + " " + path;
      const Attempt attempt = attemptFor(method, path);
      const auto before = state();
      const auto res = as("viewer", method, concrete(path), attempt.body, attempt.headers);
      if (hasRole(op, "anyone") || hasRole(op, "viewer")) {
        // Open to the viewer: read-only operations.
        open.insert(name);
        EXPECT_NE(res.status, 403) << name << ": " << res.body;
        if (path.ends_with("/validate") || path.ends_with("/dry-run") || path == "/api/v1/explain") {
          EXPECT_EQ(res.status, 200) << name << ": " << res.body;
        }
      } else {
        EXPECT_EQ(res.status, 403) << name << ": " << res.body;
        EXPECT_EQ(ControlPlane::json(res).value("error", ""), "forbidden") << name << ": " << res.body;
      }
      EXPECT_EQ(state(), before) << name << " changed the store: " << describe(before) << " -> "
                                 << describe(state());
      ++tried;
    }
  }
  EXPECT_EQ(open, expected_open);
  EXPECT_GE(tried, 20) << "the OpenAPI document lost routes";
  // And the same requests as the admin do change things (the attempts were real).
  const auto before = state();
  const Attempt risk = attemptFor("PUT", "/api/v1/agents/{name}/risk");
  EXPECT_EQ(cp.admin("PUT", "/api/v1/agents/budget-report/risk", risk.body).status, 200);
  const Attempt policy = attemptFor("PUT", "/api/v1/policies/{target}");
  EXPECT_EQ(cp.admin("PUT", "/api/v1/policies/budget-backend", policy.body, policy.headers).status, 200);
  EXPECT_EQ(state().generation, before.generation + 2);
}

TEST_F(ControlPlaneApiTest, DeveloperWritesPoliciesOnly) {
  const json doc = openapi();
  for (const auto& [path, ops] : doc["paths"].items()) {
    for (const auto& [method_lc, op] : ops.items()) {
      if (method_lc == "parameters" || method_lc == "get" || method_lc == "head") continue;
      if (hasRole(op, "developer") || hasRole(op, "anyone")) continue;
      std::string method = method_lc;
      for (auto& ch : method) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      const Attempt attempt = attemptFor(method, path);
      const auto before = state();
      const auto res = as("developer", method, concrete(path), attempt.body, attempt.headers);
      EXPECT_EQ(res.status, 403) << method << " " << path << ": " << res.body;
      EXPECT_EQ(state(), before) << method << " " << path;
    }
  }
  // Governance always wins and is the admins': a developer cannot touch it.
  const Attempt gov = attemptFor("PUT", "/api/v1/governance/{target}");
  EXPECT_EQ(as("developer", "PUT", "/api/v1/governance/budget-backend", gov.body, gov.headers).status, 403);
  // The developer's own document: written, attributed to the developer's SPIFFE ID.
  const Attempt policy = attemptFor("PUT", "/api/v1/policies/{target}");
  auto put = as("developer", "PUT", "/api/v1/policies/budget-backend",
                json{{"content", std::string(kBackendPolicy) + "# dev\n"}, {"comment", "by dev"}}.dump(),
                policy.headers);
  ASSERT_EQ(put.status, 200) << put.body;
  const json log = changes("kind=policy&id=budget-backend&limit=1");
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["actor"]["subject"], kDeveloperId);
  EXPECT_EQ(log[0]["comment"], "by dev");
  // An invalid policy is refused for developers as well.
  auto bad = as("developer", "PUT", "/api/v1/policies/budget-backend",
                json{{"content", "version: x\nallow: []\nbogus: 1\n"}}.dump(),
                ifMatch(put.header("etag")));
  EXPECT_EQ(bad.status, 400) << bad.body;
}

TEST_F(ControlPlaneApiTest, EveryDocumentedGetAnswersAnAdmin) {
  const json doc = openapi();
  int tried = 0;
  for (const auto& [path, ops] : doc["paths"].items()) {
    if (!ops.contains("get")) continue;
    const json& op = ops["get"];
    std::string target = concrete(path);
    std::string query;
    auto params = op.value("parameters", json::array());
    for (const auto& p : ops.value("parameters", json::array())) params.push_back(p);
    for (const auto& p : params) {
      if (p.value("in", "") != "query") continue;
      const std::string name = p.value("name", "");
      if (name == "agent") query += "&agent=budget-backend";
      if (name == "from") query += "&from=1";
    }
    if (!query.empty()) target += "?" + query.substr(1);
    int status = 0;
    if (path == "/api/v1/audit/stream") {
      auto c = TestConnection::tls(cp.api().port(), cp.credential("admin"));
      ASSERT_NE(c, nullptr);
      ASSERT_TRUE(c->send(makeRequest("GET", target)));
      auto res = c->readStreaming([](std::string_view) { return false; });
      ASSERT_TRUE(res) << c->lastError();
      status = res->status;
      EXPECT_EQ(res->header("content-type"), "text/event-stream");
    } else {
      status = cp.admin("GET", target).status;
    }
    EXPECT_NE(status, 404) << "GET " << target;
    EXPECT_NE(status, 405) << "GET " << target;
    EXPECT_LT(status, 500) << "GET " << target;
    ++tried;
  }
  EXPECT_GE(tried, 20);
  // And something that is not documented is not served.
  EXPECT_EQ(cp.admin("GET", "/api/v1/nonsense").status, 404);
}

TEST_F(ControlPlaneApiTest, SidecarMayOnlyFetchItsViewAndShipAudit) {
  const json doc = openapi();
  int allowed = 0;
  for (const auto& [path, ops] : doc["paths"].items()) {
    for (const auto& [method_lc, op] : ops.items()) {
      if (method_lc == "parameters" || hasRole(op, "anyone")) continue;
      std::string method = method_lc;
      for (auto& ch : method) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      const Attempt attempt = method == "GET" ? Attempt{"", ""} : attemptFor(method, path);
      const auto before = state();
      const auto res = as("budget-backend", method, concrete(path), attempt.body, attempt.headers);
      if (hasRole(op, "sidecar")) {
        // A test call's answer for a call that was never made: refused as unknown, which
        // shows the sidecar reached the route.
        const unsigned expected = path == "/api/v1/sidecars/status"               ? 204
                                  : path == "/api/v1/sidecars/test-calls/{id}" ? 404
                                                                               : 200;
        EXPECT_EQ(res.status, expected)
            << method << " " << path << ": " << res.body;
        ++allowed;
        continue;
      }
      EXPECT_EQ(res.status, 403) << method << " " << path << ": " << res.body;
      EXPECT_EQ(state(), before) << method << " " << path;
    }
  }
  // The view, the audit ingest, the status report, whoami, and taking and answering test
  // calls.
  EXPECT_EQ(allowed, 6);
  auto who = ControlPlane::json(as("budget-backend", "GET", "/api/v1/whoami"));
  EXPECT_EQ(who["role"], "sidecar");
  EXPECT_EQ(who["agent"], "budget-backend");
}

// --- 3. Bootstrap administrator -----------------------------------------------------------

TEST_F(ControlPlaneApiTest, BootstrapAdminLogsInRotatesAndTokensExpire) {
  const std::string password = cp.adminPassword();
  ASSERT_FALSE(password.empty());
  auto res = login(password);
  ASSERT_EQ(res.status, 200) << res.body;
  const json body = ControlPlane::json(res);
  const std::string token = body.value("access_token", "");
  ASSERT_FALSE(token.empty());
  EXPECT_EQ(body["token_type"], "Bearer");
  // An RFC 9068 access token.
  const json header = jwtPart(token, 0);
  EXPECT_EQ(header["typ"], "at+jwt");
  EXPECT_EQ(header["alg"], "ES256");
  const json claims = jwtPart(token, 1);
  EXPECT_EQ(claims["sub"], "admin");
  EXPECT_EQ(claims["aud"], "warden-api");
  const std::int64_t ttl = claims["exp"].get<std::int64_t>() - claims["iat"].get<std::int64_t>();
  EXPECT_EQ(ttl, body["expires_in"].get<std::int64_t>());
  EXPECT_GT(ttl, 0);

  auto who = withToken(token, "GET", "/api/v1/whoami");
  ASSERT_EQ(who.status, 200) << who.body;
  EXPECT_EQ(ControlPlane::json(who)["subject"], "admin");
  EXPECT_EQ(ControlPlane::json(who)["method"], "login");
  EXPECT_EQ(ControlPlane::json(who)["role"], "admin");
  // The token is an admin's: it may change things, attributed to the login.
  EXPECT_EQ(withToken(token, "PUT", "/api/v1/agents/budget-report/risk",
                      R"({"risk":"medium","comment":"via login"})").status, 200);
  const json log = changes("kind=agent&id=budget-report&limit=1");
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["actor"], (json{{"subject", "admin"}, {"method", "login"}}));

  // Wrong password, unknown user, malformed fields: 401 or 400, never a token.
  EXPECT_EQ(login(password + "x").status, 401);
  EXPECT_EQ(as("", "POST", "/api/v1/login", json{{"username", "root"}, {"password", password}}.dump()).status, 401);
  EXPECT_EQ(as("", "POST", "/api/v1/login", R"({"username":5,"password":[]})").status, 400);
  // A tampered token (claims changed, signature kept) is refused.
  {
    const std::size_t dot1 = token.find('.');
    const std::size_t dot2 = token.find('.', dot1 + 1);
    std::string tampered = token;
    tampered[dot2 - 2] = tampered[dot2 - 2] == 'A' ? 'B' : 'A';
    EXPECT_EQ(withToken(tampered, "GET", "/api/v1/whoami").status, 401);
  }

  // Rotation: a new password, shown once; the old one no longer works.
  auto rotated = withToken(token, "POST", "/api/v1/credentials/rotate", "{}");
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  const std::string new_password = ControlPlane::json(rotated).value("password", "");
  ASSERT_FALSE(new_password.empty());
  EXPECT_NE(new_password, password);
  EXPECT_EQ(login(password).status, 401);
  // A rotated password ends the sessions it opened: the token from before is refused.
  EXPECT_EQ(withToken(token, "GET", "/api/v1/whoami").status, 401);
  auto again = login(new_password);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_FALSE(changes("kind=credential").empty());
  EXPECT_EQ(rotated.body.find("scrypt$"), std::string::npos);

  // Expiry: once the clock passes exp, the token is refused (401), while a fresh one works.
  const std::string fresh = ControlPlane::json(again)["access_token"];
  cp.api_clock_offset = ttl + 120;
  auto expired = withToken(fresh, "GET", "/api/v1/whoami");
  EXPECT_EQ(expired.status, 401) << expired.body;
  EXPECT_NE(expired.header("www-authenticate"), "");
  cp.api_clock_offset = 0;
  EXPECT_EQ(withToken(fresh, "GET", "/api/v1/whoami").status, 200);
}

// scrypt runs on the API's password thread: while a sign-in is inside its password check
// (held there by the test hook), the I/O thread answers probes, people and sidecars at
// once. With the hash on the I/O thread, each of these would wait for it.
TEST_F(ControlPlaneApiTest, OtherRequestsAreAnsweredWhileASignInIsBeingChecked) {
  auto gate = HookGate::create();
  cp.stop();
  cp.before_password_work = gate->hook();
  cp.start();
  std::future<HttpResponse> held, new_user, rotated;  // joined after the gate opens
  HookGate::OpenOnExit opener{gate};

  held = std::async(std::launch::async, [&] { return login(cp.adminPassword()); });
  ASSERT_TRUE(gate->waitForArrivals(1, 10s)) << "the sign-in never reached its password check";
  // A new user's password is hashed on that thread too: queued behind the sign-in.
  new_user = std::async(std::launch::async, [&] {
    return cp.admin("POST", "/api/v1/users", R"({"username":"vera","role":"viewer"})");
  });
  // Each answer must come while the sign-in is still held: one that had to wait for the
  // password check comes only after the gate let it go (its hold limit), and says so.
  auto answeredWhileHeld = [&](const std::optional<ClientCredential>& who,
                               const std::string& target) {
    auto c = TestConnection::tls(cp.api().port(), who);
    if (!c || !c->send(makeRequest("GET", target))) return false;
    auto res = c->read(false, 3s);
    EXPECT_TRUE(res && res->status == 200) << target << ": " << (res ? res->body : c->lastError());
    return gate->held() == 1;
  };
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(answeredWhileHeld(std::nullopt, "/healthz")) << "probe " << i;
    EXPECT_TRUE(answeredWhileHeld(cp.credential("viewer"), "/api/v1/whoami")) << "whoami " << i;
    EXPECT_TRUE(answeredWhileHeld(cp.credential("budget-backend"), "/api/v1/distribution/view"))
        << "sidecar " << i;
  }
  EXPECT_EQ(held.wait_for(0s), std::future_status::timeout) << "the held sign-in answered";

  gate->open();
  const auto signed_in = held.get();
  EXPECT_EQ(signed_in.status, 200) << signed_in.body;
  EXPECT_EQ(ControlPlane::json(signed_in).value("role", ""), "admin");
  const auto added = new_user.get();
  EXPECT_EQ(added.status, 201) << added.body;
  const std::string vera_password = ControlPlane::json(added).value("password", "");
  // The bootstrap password's rotation is hashed there too.
  rotated = std::async(std::launch::async,
                       [&] { return cp.admin("POST", "/api/v1/credentials/rotate"); });
  EXPECT_EQ(rotated.get().status, 200);
  EXPECT_EQ(gate->arrivals(), 3)
      << "the new user's or the rotation's hash was not made on the password thread";
  auto vera = as("", "POST", "/api/v1/login",
                 json{{"username", "vera"}, {"password", vera_password}}.dump());
  EXPECT_EQ(vera.status, 200) << vera.body;
  EXPECT_EQ(ControlPlane::json(vera).value("role", ""), "viewer");
}

// One password thread decides sign-ins one at a time: a burst of concurrent wrong guesses
// cannot all pass the throttle before the first failure is recorded. Exactly
// `free_failures` of them are hashed and refused; the rest are throttled unhashed.
TEST_F(ControlPlaneApiTest, ConcurrentGuessesCannotOutrunTheLoginThrottle) {
  auto hashed = std::make_shared<std::atomic<int>>(0);
  cp.stop();
  cp.before_password_work = [hashed] { ++*hashed; };
  // Long enough that no delay runs out while the burst is still arriving.
  cp.login_throttle.base_delay = std::chrono::minutes(10);
  cp.login_throttle.max_delay = std::chrono::minutes(15);
  cp.start();
  constexpr int kGuesses = 12;
  const int free = static_cast<int>(cp.login_throttle.free_failures);
  std::vector<std::future<HttpResponse>> guesses;
  for (int i = 0; i < kGuesses; ++i) {
    guesses.push_back(
        std::async(std::launch::async, [this, i] { return login("guess-" + std::to_string(i)); }));
  }
  int refused = 0;
  int throttled = 0;
  for (auto& g : guesses) {
    const auto res = g.get();
    if (res.status == 401) {
      ++refused;
    } else if (res.status == 429) {
      ++throttled;
      EXPECT_FALSE(res.header("retry-after").empty());
    } else {
      ADD_FAILURE() << res.status << " " << res.body;
    }
  }
  EXPECT_EQ(refused, free);
  EXPECT_EQ(throttled, kGuesses - free);
  EXPECT_EQ(hashed->load(), free);
  EXPECT_EQ(login(cp.adminPassword()).status, 429) << "the right password must wait too";
}

// --- 4. Optimistic concurrency ------------------------------------------------------------

TEST_F(ControlPlaneApiTest, TwoAdminsWithTheSameEtagExactlyOneWins) {
  auto token_res = login(cp.adminPassword());
  ASSERT_EQ(token_res.status, 200);
  const std::string token = ControlPlane::json(token_res)["access_token"];
  const std::string etag = etagOf("/api/v1/policies/budget-backend");
  const auto before = state();
  const std::string mine = std::string(kBackendPolicy) + "# admin one\n";
  const std::string theirs = std::string(kBackendPolicy) + "# admin two\n";
  HttpResponse a, b;
  std::thread ta([&] {
    a = cp.admin("PUT", "/api/v1/policies/budget-backend", json{{"content", mine}}.dump(), ifMatch(etag));
  });
  std::thread tb([&] {
    b = withToken(token, "PUT", "/api/v1/policies/budget-backend", json{{"content", theirs}}.dump(),
                  ifMatch(etag));
  });
  ta.join();
  tb.join();
  std::multiset<int> statuses{a.status, b.status};
  EXPECT_EQ(statuses, (std::multiset<int>{200, 412})) << a.body << " / " << b.body;
  const std::string& winner = a.status == 200 ? mine : theirs;
  const auto& loser_res = a.status == 200 ? b : a;
  EXPECT_EQ(ControlPlane::json(loser_res).value("error", ""), "precondition_failed");
  auto current = ControlPlane::json(cp.admin("GET", "/api/v1/policies/budget-backend"));
  EXPECT_EQ(current["content"], winner);
  EXPECT_EQ(current["version"], 2);
  auto history = ControlPlane::json(cp.admin("GET", "/api/v1/policies/budget-backend/history"));
  EXPECT_EQ(history["history"].size(), 2u);
  EXPECT_EQ(state().generation, before.generation + 1);
}

TEST_F(ControlPlaneApiTest, MissingStaleOrForeignIfMatchIsRefused) {
  const auto before = state();
  const std::string body = json{{"content", std::string(kBackendPolicy) + "# x\n"}}.dump();
  // No If-Match on an existing document: 428, never a blind overwrite.
  auto res = cp.admin("PUT", "/api/v1/policies/budget-backend", body);
  EXPECT_EQ(res.status, 428) << res.body;
  EXPECT_EQ(ControlPlane::json(res).value("error", ""), "precondition_required");
  // The ETag of another object (the governance document of the same target, an agent).
  res = cp.admin("PUT", "/api/v1/policies/budget-backend", body,
                 ifMatch(etagOf("/api/v1/governance/budget-backend")));
  EXPECT_EQ(res.status, 412) << res.body;
  res = cp.admin("PUT", "/api/v1/policies/budget-backend", body,
                 ifMatch(etagOf("/api/v1/agents/budget-backend")));
  EXPECT_EQ(res.status, 412) << res.body;
  // A weak tag never matches under If-Match; a malformed one is a 400.
  res = cp.admin("PUT", "/api/v1/policies/budget-backend", body,
                 ifMatch("W/" + etagOf("/api/v1/policies/budget-backend")));
  EXPECT_EQ(res.status, 412) << res.body;
  res = cp.admin("PUT", "/api/v1/policies/budget-backend", body, ifMatch("policy-budget-backend-v1"));
  EXPECT_EQ(res.status, 400) << res.body;
  EXPECT_EQ(state(), before);

  // Agents: a stale ETag is refused and the change is not stored.
  const std::string stale = etagOf("/api/v1/agents/budget-report");
  auto agent = ControlPlane::json(cp.admin("GET", "/api/v1/agents/budget-report"));
  ASSERT_EQ(cp.admin("PUT", "/api/v1/agents/budget-report/risk", R"({"risk":"medium"})").status, 200);
  agent["display_name"] = "Lost update";
  res = cp.admin("PUT", "/api/v1/agents/budget-report", agent.dump(), ifMatch(stale));
  EXPECT_EQ(res.status, 412) << res.body;
  res = cp.admin("PUT", "/api/v1/agents/budget-report", agent.dump());
  EXPECT_EQ(res.status, 428) << res.body;
  res = cp.admin("PUT", "/api/v1/agents/budget-report/tags", R"({"tags":{"team":"ops"}})", ifMatch(stale));
  EXPECT_EQ(res.status, 412) << res.body;
  res = cp.admin("DELETE", "/api/v1/agents/budget-report", "", ifMatch(stale));
  EXPECT_EQ(res.status, 412) << res.body;
  auto now = ControlPlane::json(cp.admin("GET", "/api/v1/agents/budget-report"));
  EXPECT_EQ(now["display_name"], "");
  EXPECT_EQ(now["risk"], "medium");
  EXPECT_EQ(now["tags"], (json{{"team", "finance"}}));
  // With the current ETag it goes through.
  res = cp.admin("PUT", "/api/v1/agents/budget-report", agent.dump(),
                 ifMatch(etagOf("/api/v1/agents/budget-report")));
  EXPECT_EQ(res.status, 200) << res.body;
}

TEST_F(ControlPlaneApiTest, ConcurrentReadModifyWriteLosesNothing) {
  constexpr int kWriters = 6;
  constexpr int kMaxAttempts = 60;
  std::atomic<int> conflicts{0};
  std::vector<std::thread> threads;
  std::vector<int> outcome(kWriters, 0);
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
        // A policy edit: append this writer's line to the current content.
        auto cur = cp.admin("GET", "/api/v1/policies/budget-backend");
        if (cur.status != 200) continue;
        const std::string content =
            ControlPlane::json(cur)["content"].get<std::string>() + "# writer " + std::to_string(i) + "\n";
        auto put = cp.admin("PUT", "/api/v1/policies/budget-backend", json{{"content", content}}.dump(),
                            ifMatch(cur.header("etag")));
        if (put.status == 412) {
          ++conflicts;
          continue;
        }
        outcome[i] = put.status;
        break;
      }
      for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
        // An agent edit: add this writer's tag.
        auto cur = cp.admin("GET", "/api/v1/agents/budget-report");
        if (cur.status != 200) continue;
        json tags = ControlPlane::json(cur)["tags"];
        tags["writer-" + std::to_string(i)] = "yes";
        auto put = cp.admin("PUT", "/api/v1/agents/budget-report/tags", json{{"tags", tags}}.dump(),
                            ifMatch(cur.header("etag")));
        if (put.status == 412) {
          ++conflicts;
          continue;
        }
        if (put.status != 200) outcome[i] = put.status;
        break;
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kWriters; ++i) EXPECT_EQ(outcome[i], 200) << "writer " << i;
  auto policy = ControlPlane::json(cp.admin("GET", "/api/v1/policies/budget-backend"));
  const std::string content = policy["content"];
  auto agent = ControlPlane::json(cp.admin("GET", "/api/v1/agents/budget-report"));
  for (int i = 0; i < kWriters; ++i) {
    EXPECT_NE(content.find("# writer " + std::to_string(i) + "\n"), std::string::npos) << i;
    EXPECT_EQ(agent["tags"].value("writer-" + std::to_string(i), ""), "yes") << i;
  }
  EXPECT_EQ(agent["tags"].value("team", ""), "finance");
  // Every accepted write is one version: nothing was overwritten.
  EXPECT_EQ(policy["version"], 1 + kWriters);
  RecordProperty("conflicts", conflicts.load());
}

// --- 5. Validation ------------------------------------------------------------------------

TEST_F(ControlPlaneApiTest, InvalidDocumentsAreRejectedWithFieldPathsAndNothingStored) {
  const std::string etag = etagOf("/api/v1/policies/budget-backend");
  const auto before = state();
  struct Case {
    std::string name;
    std::string content;
    std::string field;  // must appear in `reason`
  };
  const std::string bad_id = replaceAll(kBackendPolicy, "id: spiffe://example.org/budget-report",
                                        "id: spiffe://example.org/budget report");
  const std::vector<Case> cases{
      {"bad YAML", "version: \"x\"\nallow: [\n", "policy/budget-backend"},
      {"unknown key", std::string(kBackendPolicy) + "alow: []\n", "alow"},
      {"bad SPIFFE ID", bad_id, "callers[0].match.id"},
      {"another agent's target",
       replaceAll(kBackendPolicy, "target: spiffe://example.org/budget-backend",
                  "target: spiffe://example.org/budget-report"),
       "target"},
      {"roles without a token section",
       replaceAll(kBackendPolicy, "        action: allow\n  - match: { id: spiffe://example.org/budget-approval }",
                  "        action: allow\n        roles: [reader]\n  - match: { id: spiffe://example.org/budget-approval }"),
       "roles"},
  };
  for (const auto& c : cases) {
    auto res = cp.admin("PUT", "/api/v1/policies/budget-backend", json{{"content", c.content}}.dump(),
                        ifMatch(etag));
    EXPECT_EQ(res.status, 400) << c.name << ": " << res.body;
    const json err = ControlPlane::json(res);
    EXPECT_EQ(err.value("error", ""), "invalid_policy") << c.name;
    EXPECT_EQ(err.value("layer", ""), "control_plane") << c.name;
    EXPECT_NE(err.value("reason", "").find(c.field), std::string::npos)
        << c.name << ": reason does not name " << c.field << ": " << res.body;
    // The dry run says the same.
    auto dry = cp.admin("POST", "/api/v1/policies/validate",
                        json{{"content", c.content}, {"target", "budget-backend"}}.dump());
    ASSERT_EQ(dry.status, 200) << dry.body;
    EXPECT_EQ(ControlPlane::json(dry)["valid"], false) << c.name;
    EXPECT_NE(ControlPlane::json(dry)["errors"].dump().find(c.field), std::string::npos) << c.name;
  }
  EXPECT_EQ(state(), before);
  auto current = ControlPlane::json(cp.admin("GET", "/api/v1/policies/budget-backend"));
  EXPECT_EQ(current["content"], kBackendPolicy);
  EXPECT_EQ(current["version"], 1);

  // Governance blocks: validated with the governance compiler.
  const std::string gov_etag = etagOf("/api/v1/governance/budget-backend");
  for (const auto& [content, field] : std::vector<std::pair<std::string, std::string>>{
           {"max_risk: extreme\n", "max_risk"},
           {"required_tags: {\"bad key!\": x}\n", "required_tags"},
           {"max_risk: low\nreqired_tags: {}\n", "reqired_tags"},
           {"max_risk: [\n", "governance/budget-backend"}}) {
    auto res = cp.admin("PUT", "/api/v1/governance/budget-backend", json{{"content", content}}.dump(),
                        ifMatch(gov_etag));
    EXPECT_EQ(res.status, 400) << content << ": " << res.body;
    EXPECT_EQ(ControlPlane::json(res).value("error", ""), "invalid_governance");
    EXPECT_NE(ControlPlane::json(res).value("reason", "").find(field), std::string::npos) << res.body;
  }
  // Malformed requests: 400/415, never a dropped connection.
  for (const auto& [body, type] : std::vector<std::pair<std::string, std::string>>{
           {R"({"content":5})", ""},
           {R"({"content":"version: x\nallow: []\n","comment":5})", ""},
           {R"({"content":"a","content":"b"})", ""},
           {"not json", ""},
           {R"({"content":"version: x\nallow: []\n"})", "Content-Type: text/plain\r\n"}}) {
    auto res = cp.admin("PUT", "/api/v1/policies/budget-backend", body, ifMatch(etag) + type);
    EXPECT_TRUE(res.status == 400 || res.status == 415) << body << ": " << res.status << " " << res.body;
  }
  auto dry = cp.admin("POST", "/api/v1/policies/validate", R"({"content":"version: x\nallow: []\n","target":7})");
  EXPECT_EQ(dry.status, 400) << dry.body;
  // A target that is not a registered agent.
  auto res = cp.admin("PUT", "/api/v1/policies/nobody", json{{"content", kBackendPolicy}}.dump());
  EXPECT_EQ(res.status, 404) << res.body;
  EXPECT_EQ(state(), before);
}

// /validate checks the document's `target:` whatever the registry holds: against a
// registered agent's SPIFFE ID, against a SPIFFE ID given as the target, and refuses a
// target name nobody registered (404, as PUT would) instead of calling the document valid.
TEST_F(ControlPlaneApiTest, ValidateChecksTheTargetLineWhateverTheRegistryHolds) {
  cp.addAgent({{"name", "ci-only"}, {"client_id", "ci-only-client"}});  // no SPIFFE ID
  cp.addAgent({{"name", "draft"}, {"spiffe_id", "spiffe://example.org/draft"}});
  const std::string names_report =
      replaceAll(kBackendPolicy, "target: spiffe://example.org/budget-backend",
                 "target: spiffe://example.org/budget-report");
  const std::string no_target_line =
      replaceAll(kBackendPolicy, "target: spiffe://example.org/budget-backend\n", "");
  auto validate = [&](const std::string& kind, const std::string& content, const json& target) {
    json body{{"content", content}};
    if (!target.is_null()) body["target"] = target;
    return as("viewer", "POST", "/api/v1/" + kind + "/validate", body.dump());
  };
  auto errorsOf = [&](const HttpResponse& res) {
    EXPECT_EQ(res.status, 200) << res.body;
    const json out = ControlPlane::json(res);
    EXPECT_EQ(out.value("valid", true), false) << res.body;
    return out.value("errors", json::array()).dump();
  };
  auto valid = [&](const HttpResponse& res) {
    EXPECT_EQ(res.status, 200) << res.body;
    return ControlPlane::json(res).value("valid", false);
  };

  // A registered agent: its SPIFFE ID, the message pointing at the line.
  std::string errors = errorsOf(validate("policies", names_report, "budget-backend"));
  EXPECT_NE(
      errors.find("policy/budget-backend:2:9: target: spiffe://example.org/budget-report is not "
                  "agent budget-backend's SPIFFE ID spiffe://example.org/budget-backend"),
      std::string::npos)
      << errors;
  EXPECT_TRUE(valid(validate("policies", kBackendPolicy, "budget-backend")));

  // A SPIFFE ID as the target: compared as is, registered or not.
  errors = errorsOf(validate("policies", names_report, "spiffe://example.org/budget-backend"));
  EXPECT_NE(errors.find(":2:9: target: spiffe://example.org/budget-report is not the given target "
                        "spiffe://example.org/budget-backend"),
            std::string::npos)
      << errors;
  errors = errorsOf(validate("policies", kBackendPolicy, "spiffe://example.org/not-registered"));
  EXPECT_NE(errors.find("target: "), std::string::npos) << errors;
  EXPECT_TRUE(valid(validate("policies", kBackendPolicy, "spiffe://example.org/budget-backend")));

  // An agent without a SPIFFE ID: no `target:` line can name it.
  errors = errorsOf(validate("policies", kBackendPolicy, "ci-only"));
  EXPECT_NE(
      errors.find("target: spiffe://example.org/budget-backend names a workload, but agent ci-only "
                  "has no SPIFFE ID"),
      std::string::npos)
      << errors;
  EXPECT_TRUE(valid(validate("policies", no_target_line, "ci-only")));
  auto put = cp.admin("PUT", "/api/v1/policies/ci-only", json{{"content", kBackendPolicy}}.dump());
  EXPECT_EQ(put.status, 400) << put.body;
  EXPECT_NE(ControlPlane::json(put).value("reason", "").find("has no SPIFFE ID"), std::string::npos)
      << put.body;

  // A name nobody registered: 404 for both kinds, as PUT answers.
  for (const std::string kind : {"policies", "governance"}) {
    auto res = validate(kind, kind == "policies" ? names_report : kBackendGovernance, "nobody");
    EXPECT_EQ(res.status, 404) << kind << ": " << res.body;
    const json err = ControlPlane::json(res);
    EXPECT_EQ(err.value("error", ""), "unknown_target") << res.body;
    EXPECT_EQ(err.value("layer", ""), "control_plane") << res.body;
    EXPECT_EQ(err.value("reason", ""), "target: no agent named nobody") << res.body;
  }
  // Neither a name nor a SPIFFE ID.
  auto bad = validate("policies", kBackendPolicy, "Budget Backend");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(ControlPlane::json(bad).value("reason", "").find("target: neither an agent name"),
            std::string::npos)
      << bad.body;

  // No target: a draft for nobody in particular (not the agent that happens to be called
  // "draft"); its `target:` is checked to be a SPIFFE ID and nothing more.
  EXPECT_TRUE(valid(validate("policies", names_report, nullptr)));
  errors = errorsOf(validate(
      "policies", replaceAll(kBackendPolicy, "example.org/budget-backend", "example.org/bad id"),
      nullptr));
  EXPECT_NE(errors.find("policy/draft:2:9: target: "), std::string::npos) << errors;
  EXPECT_TRUE(valid(validate("governance", kBackendGovernance, "budget-backend")));
  EXPECT_TRUE(valid(validate("governance", kBackendGovernance, nullptr)));
}

// --- 6. History, diff, rollback -----------------------------------------------------------

TEST_F(ControlPlaneApiTest, HistoryDiffAndRollbackRestoreTheExactPreviousDecisions) {
  auto explainSubmit = [&] {
    auto res = cp.admin("POST", "/api/v1/explain",
                        R"({"caller":"budget-approval","target":"budget-backend","method":"POST","path":"/budget/submit"})");
    EXPECT_EQ(res.status, 200) << res.body;
    return ControlPlane::json(res).value("decision", "");
  };
  EXPECT_EQ(explainSubmit(), "allow");
  auto v2 = cp.putDocument("policies", "budget-backend", kBackendPolicyV2, "drop submit");
  ASSERT_EQ(v2.status, 200) << v2.body;
  EXPECT_EQ(ControlPlane::json(v2)["version"], 2);
  EXPECT_EQ(explainSubmit(), "deny");

  auto diff = cp.admin("GET", "/api/v1/policies/budget-backend/diff?from=1&to=2");
  ASSERT_EQ(diff.status, 200) << diff.body;
  EXPECT_EQ(diff.header("content-type").rfind("text/x-diff", 0), 0u);
  EXPECT_NE(diff.body.find("--- budget-backend@v1"), std::string::npos) << diff.body;
  EXPECT_NE(diff.body.find("+++ budget-backend@v2"), std::string::npos) << diff.body;
  EXPECT_NE(diff.body.find("@@ "), std::string::npos) << diff.body;
  EXPECT_NE(diff.body.find("\n-      - id: approval-submit\n"), std::string::npos) << diff.body;
  EXPECT_NE(diff.body.find("\n-version: \"budget\"\n+version: \"budget-2\"\n"), std::string::npos) << diff.body;
  EXPECT_EQ(cp.admin("GET", "/api/v1/policies/budget-backend/diff?from=1&to=9").status, 404);
  EXPECT_EQ(cp.admin("GET", "/api/v1/policies/budget-backend/diff?from=x").status, 400);

  // Rollback needs the current ETag.
  const std::string v2_etag = v2.header("etag");
  EXPECT_EQ(cp.admin("POST", "/api/v1/policies/budget-backend/rollback", R"({"version":1})").status, 428);
  EXPECT_EQ(cp.admin("POST", "/api/v1/policies/budget-backend/rollback", R"({"version":1})",
                     ifMatch("\"policy-budget-backend-v1\"")).status, 412);
  auto rolled = cp.admin("POST", "/api/v1/policies/budget-backend/rollback",
                         R"({"version":1,"comment":"back to v1"})", ifMatch(v2_etag));
  ASSERT_EQ(rolled.status, 200) << rolled.body;
  const json v3 = ControlPlane::json(rolled);
  EXPECT_EQ(v3["version"], 3);
  EXPECT_EQ(v3["restored_from"], 1);
  EXPECT_EQ(v3["action"], "restore");
  EXPECT_NE(rolled.header("etag"), v2_etag);
  // Byte-identical content, and the same decisions as v1.
  auto raw = cp.admin("GET", "/api/v1/policies/budget-backend?format=raw");
  EXPECT_EQ(raw.body, kBackendPolicy);
  auto version3 = ControlPlane::json(cp.admin("GET", "/api/v1/policies/budget-backend/versions/3"));
  auto version1 = ControlPlane::json(cp.admin("GET", "/api/v1/policies/budget-backend/versions/1"));
  EXPECT_EQ(version3["content"], version1["content"]);
  EXPECT_EQ(version3["sha256"], version1["sha256"]);
  EXPECT_EQ(explainSubmit(), "allow");
  // Stale ETag after the rollback.
  EXPECT_EQ(cp.admin("POST", "/api/v1/policies/budget-backend/rollback", R"({"version":2})",
                     ifMatch(v2_etag)).status, 412);

  auto history = ControlPlane::json(cp.admin("GET", "/api/v1/policies/budget-backend/history"))["history"];
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[0]["version"], 3);
  EXPECT_EQ(history[0]["comment"], "back to v1");
  EXPECT_EQ(history[1]["comment"], "drop submit");
  EXPECT_EQ(history[2]["comment"], "initial");
  for (const auto& h : history) EXPECT_FALSE(h.contains("content"));

  const json log = changes("kind=policy&id=budget-backend");
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0]["action"], "policy.restore");
  EXPECT_EQ(log[0]["comment"], "back to v1");
  EXPECT_EQ(log[0]["version"], 3);
  EXPECT_EQ(log[1]["action"], "policy.put");
  EXPECT_EQ(log[1]["comment"], "drop submit");
  EXPECT_EQ(log[2]["action"], "policy.put");
  for (const auto& c : log) {
    EXPECT_EQ(c["actor"]["subject"], kAdminId);
    EXPECT_EQ(c["actor"]["method"], "mtls");
  }
  EXPECT_NE(log[1]["detail"].get<std::string>().find("-      - id: approval-submit"), std::string::npos);

  // Governance has the same history.
  auto g2 = cp.putDocument("governance", "budget-backend", "max_risk: high\n", "relax");
  ASSERT_EQ(g2.status, 200) << g2.body;
  auto grolled = cp.admin("POST", "/api/v1/governance/budget-backend/rollback", R"({"version":1})",
                          ifMatch(g2.header("etag")));
  ASSERT_EQ(grolled.status, 200) << grolled.body;
  EXPECT_EQ(cp.admin("GET", "/api/v1/governance/budget-backend?format=raw").body, kBackendGovernance);
  EXPECT_EQ(changes("kind=governance&id=budget-backend&limit=1")[0]["action"], "governance.restore");
}

// --- 7. Agents ---------------------------------------------------------------------------

TEST_F(ControlPlaneApiTest, AgentLifecycleIsRecordedWithTheActor) {
  auto created = cp.admin("POST", "/api/v1/agents",
                          R"({"name":"new-agent","spiffe_id":"spiffe://example.org/new-agent","comment":"onboard"})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.header("etag"), "\"agent-new-agent-v1\"");
  // Duplicates, bad names, unknown fields.
  EXPECT_EQ(cp.admin("POST", "/api/v1/agents", R"({"name":"new-agent","spiffe_id":"spiffe://example.org/other"})").status, 409);
  EXPECT_EQ(cp.admin("POST", "/api/v1/agents", R"({"name":"other","spiffe_id":"spiffe://example.org/new-agent"})").status, 409);
  auto bad = cp.admin("POST", "/api/v1/agents", R"({"name":"Bad Name!","spiffe_id":"spiffe://example.org/bad"})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  bad = cp.admin("POST", "/api/v1/agents", R"({"name":"ok-name","colour":"red"})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(ControlPlane::json(bad).value("reason", "").find("colour"), std::string::npos);
  bad = cp.admin("POST", "/api/v1/agents", R"({"name":"ok-name","spiffe_id":"not-spiffe"})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(cp.admin("GET", "/api/v1/agents/nobody").status, 404);

  // Replace, risk, state, tags.
  auto agent = ControlPlane::json(cp.admin("GET", "/api/v1/agents/new-agent"));
  agent["display_name"] = "New Agent";
  agent["owner"] = "team-a";
  auto put = cp.admin("PUT", "/api/v1/agents/new-agent", agent.dump(), ifMatch(created.header("etag")));
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(ControlPlane::json(put)["display_name"], "New Agent");
  agent["name"] = "renamed";
  EXPECT_EQ(cp.admin("PUT", "/api/v1/agents/new-agent", agent.dump(), ifMatch(put.header("etag"))).status, 400);
  auto risk = cp.admin("PUT", "/api/v1/agents/new-agent/risk", R"({"risk":"medium","comment":"SOC says"})");
  ASSERT_EQ(risk.status, 200) << risk.body;
  EXPECT_EQ(ControlPlane::json(risk)["risk"], "medium");
  EXPECT_EQ(ControlPlane::json(risk)["risk_source"], "admin");
  EXPECT_EQ(cp.admin("PUT", "/api/v1/agents/new-agent/risk", R"({"risk":"extreme"})").status, 400);
  EXPECT_EQ(cp.admin("PUT", "/api/v1/agents/nobody/risk", R"({"risk":"low"})").status, 404);
  auto st = cp.admin("PUT", "/api/v1/agents/new-agent/state", R"({"state":"disabled"})");
  ASSERT_EQ(st.status, 200) << st.body;
  EXPECT_EQ(ControlPlane::json(st)["state"], "disabled");
  EXPECT_EQ(cp.admin("PUT", "/api/v1/agents/new-agent/state", R"({"state":"off"})").status, 400);
  EXPECT_EQ(cp.admin("PUT", "/api/v1/agents/new-agent/tags", R"({"tags":{"team":"finance"}})").status, 428);
  auto tags = cp.admin("PUT", "/api/v1/agents/new-agent/tags", R"({"tags":{"team":"finance"}})",
                       ifMatch(st.header("etag")));
  ASSERT_EQ(tags.status, 200) << tags.body;
  EXPECT_EQ(ControlPlane::json(tags)["tags"], (json{{"team", "finance"}}));
  EXPECT_EQ(cp.admin("PUT", "/api/v1/agents/new-agent/tags", R"({"tags":{"team":5}})",
                     ifMatch(tags.header("etag"))).status, 400);

  // Isolate and restore access (the SOC's containment, prototype S40).
  auto isolated = cp.admin("POST", "/api/v1/agents/new-agent/isolate", R"({"comment":"incident 42"})");
  ASSERT_EQ(isolated.status, 200) << isolated.body;
  EXPECT_EQ(ControlPlane::json(isolated)["state"], "quarantined");
  EXPECT_EQ(ControlPlane::json(isolated)["risk"], "high");
  auto restored = cp.admin("POST", "/api/v1/agents/new-agent/restore-access", R"({"comment":"cleared"})");
  ASSERT_EQ(restored.status, 200) << restored.body;
  EXPECT_EQ(ControlPlane::json(restored)["state"], "enabled");
  EXPECT_EQ(ControlPlane::json(restored)["risk"], "low");
  // Without a body as well (nothing to say).
  EXPECT_EQ(cp.admin("POST", "/api/v1/agents/new-agent/isolate").status, 200);
  EXPECT_EQ(cp.admin("POST", "/api/v1/agents/new-agent/restore-access").status, 200);

  // History and restore of an earlier revision (revision 2: after the PUT).
  auto history = ControlPlane::json(cp.admin("GET", "/api/v1/agents/new-agent/history"))["history"];
  ASSERT_GE(history.size(), 8u);
  EXPECT_EQ(history.back()["revision"], 1);
  EXPECT_EQ(history.back()["action"], "agent.create");
  EXPECT_EQ(history.back()["comment"], "onboard");
  const std::string current_etag = etagOf("/api/v1/agents/new-agent");
  EXPECT_EQ(cp.admin("POST", "/api/v1/agents/new-agent/restore", R"({"revision":2})",
                     ifMatch(created.header("etag"))).status, 412);
  auto back = cp.admin("POST", "/api/v1/agents/new-agent/restore", R"({"revision":2,"comment":"undo"})",
                       ifMatch(current_etag));
  ASSERT_EQ(back.status, 200) << back.body;
  const json b = ControlPlane::json(back);
  EXPECT_EQ(b["display_name"], "New Agent");
  EXPECT_EQ(b["state"], "enabled");
  EXPECT_EQ(b["risk"], "none");
  EXPECT_EQ(b["tags"], json::object());

  // Delete, then the name is gone.
  auto del = cp.admin("DELETE", "/api/v1/agents/new-agent?comment=offboard", "", ifMatch(back.header("etag")));
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_EQ(cp.admin("GET", "/api/v1/agents/new-agent").status, 404);

  // Everything is in the change log, with the admin as the actor.
  const json log = changes("kind=agent&id=new-agent");
  std::multiset<std::string> actions;
  std::set<std::string> comments;
  for (const auto& c : log) {
    actions.insert(c["action"].get<std::string>());
    comments.insert(c["comment"].get<std::string>());
    EXPECT_EQ(c["actor"]["subject"], kAdminId) << c.dump();
    EXPECT_EQ(c["actor"]["method"], "mtls");
  }
  for (const char* action : {"agent.create", "agent.update", "agent.risk", "agent.state",
                             "agent.restore", "agent.delete"}) {
    EXPECT_EQ(actions.count(action) > 0, true) << action;
  }
  for (const char* comment : {"onboard", "SOC says", "incident 42", "cleared", "undo", "offboard"}) {
    EXPECT_EQ(comments.count(comment), 1u) << comment;
  }
  EXPECT_EQ(log[0]["action"], "agent.delete");
  const json detail = json::parse(log[0]["detail"].get<std::string>(), nullptr, false);
  EXPECT_TRUE(detail["after"].is_null());
  EXPECT_EQ(detail["before"]["name"], "new-agent");
}

// DELETE takes its comment as a JSON body like every other change, and still as the
// ?comment= it first had; a body it cannot read refuses the deletion.
TEST_F(ControlPlaneApiTest, DeleteAgentTakesItsCommentAsJsonBodyOrQuery) {
  for (const char* name : {"gone-body", "gone-query", "gone-both", "kept"}) {
    cp.addAgent({{"name", name}, {"spiffe_id", std::string("spiffe://example.org/") + name}});
  }
  auto deletionComment = [&](const std::string& name) {
    const json log = changes("kind=agent&id=" + name);
    EXPECT_FALSE(log.empty()) << name;
    if (log.empty()) return std::string("<none>");
    EXPECT_EQ(log[0]["action"], "agent.delete") << log.dump();
    return log[0]["comment"].get<std::string>();
  };
  const std::string path = "/api/v1/agents/";
  const json doc = openapi();
  const json::json_pointer body_schema(
      "/paths/~1api~1v1~1agents~1{name}/delete/requestBody/content/application~1json/schema/$ref");
  EXPECT_EQ(doc.value(body_schema, ""), "#/components/schemas/DeleteAgent");
  EXPECT_TRUE(doc.contains(json::json_pointer("/components/schemas/DeleteAgent/properties/comment")));

  auto del = cp.admin("DELETE", path + "gone-body", R"({"comment":"offboarded, ticket 7"})",
                      ifMatch(etagOf(path + "gone-body")));
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_EQ(deletionComment("gone-body"), "offboarded, ticket 7");

  del = cp.admin("DELETE", path + "gone-query?comment=legacy%20client", "",
                 ifMatch(etagOf(path + "gone-query")));
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_EQ(deletionComment("gone-query"), "legacy client");

  del = cp.admin("DELETE", path + "gone-both?comment=same", R"({"comment":"same"})",
                 ifMatch(etagOf(path + "gone-both")));
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_EQ(deletionComment("gone-both"), "same");

  // Bodies it cannot read: nothing is deleted.
  const std::string etag = etagOf(path + "kept");
  const auto before = state();
  struct Case {
    std::string target;
    std::string body;
    std::string headers;
    int status;
    std::string reason;  // must appear in `reason`
  };
  const std::vector<Case> cases{
      {"kept", "not json", "", 400, ""},
      {"kept", "[]", "", 400, "object"},
      {"kept", R"({"comment":"a","comment":"b"})", "", 400, ""},
      {"kept", R"({"comment":5})", "", 400, "comment: expected a string"},
      {"kept", R"({"comment":"x","revision":3})", "", 400, "revision: unknown member"},
      {"kept", R"({"comment":"x"})", "Content-Type: text/plain\r\n", 415, "application/json"},
      {"kept?comment=other", R"({"comment":"x"})", "", 400,
       "comment: given in the body and as ?comment="},
  };
  for (const auto& c : cases) {
    auto res = cp.admin("DELETE", path + c.target, c.body, ifMatch(etag) + c.headers);
    EXPECT_EQ(res.status, c.status) << c.body << ": " << res.body;
    const json err = ControlPlane::json(res);
    EXPECT_EQ(err.value("layer", ""), "control_plane") << c.body << ": " << res.body;
    EXPECT_NE(err.value("reason", "").find(c.reason), std::string::npos)
        << c.body << ": reason does not say \"" << c.reason << "\": " << res.body;
  }
  EXPECT_EQ(state(), before);
  EXPECT_EQ(cp.admin("GET", path + "kept").status, 200);
  // No body at all is still a deletion without a comment.
  del = cp.admin("DELETE", path + "kept", "", ifMatch(etag));
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_EQ(deletionComment("kept"), "");
}

// --- 8. Audit ----------------------------------------------------------------------------

class ControlPlaneAuditTest : public ControlPlaneApiTest {
 protected:
  static constexpr std::int64_t kT0 = 1714557600;  // 2024-05-01T10:00:00Z
  void SetUp() override {
    ControlPlaneApiTest::SetUp();
    lines_ = {
        auditLine(kT0, "r1", true, "rbac", "allowed", "budget-report", "GET", "/budget/read"),
        auditLine(kT0 + 60, "r2", false, "risk", "risk_too_high", "budget-report", "GET", "/budget/read"),
        auditLine(kT0 + 120, "r3", true, "rbac", "allowed", "budget-approval", "POST", "/budget/submit"),
        auditLine(kT0 + 180, "r4", false, "tags", "tag_mismatch", "employee-menus", "GET", "/budget/read"),
        auditLine(kT0 + 240, "r5", false, "rbac", "rule_denied", "budget-approval", "GET",
                  "/reports/2024", "v1,\"beta\""),
    };
  }
  std::vector<std::string> requestIds(const HttpResponse& res) {
    EXPECT_EQ(res.status, 200) << res.body;
    std::vector<std::string> out;
    const json body = ControlPlane::json(res);
    for (const auto& e : body["events"]) out.push_back(e["event"]["request_id"]);
    return out;
  }
  std::vector<std::string> query(const std::string& q) {
    return requestIds(as("viewer", "GET", "/api/v1/audit/events?" + q));
  }
  using Ids = std::vector<std::string>;
  std::vector<std::string> lines_;
};

TEST_F(ControlPlaneAuditTest, SidecarShipsIdempotentlyViewerQueriesAndExports) {
  const std::string batch = auditBatch("ab12", 1, lines_);
  auto res = as("budget-backend", "POST", "/api/v1/audit/events", batch);
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(ControlPlane::json(res)["stored"], 5);
  const auto after_first = state();
  // A re-sent batch (a lost answer) stores nothing new.
  res = as("budget-backend", "POST", "/api/v1/audit/events", batch);
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(ControlPlane::json(res)["received"], 5);
  EXPECT_EQ(ControlPlane::json(res)["stored"], 0);
  EXPECT_EQ(state(), after_first);
  // Audit is not configuration: the generation did not move.
  // People cannot ship events, only sidecars can.
  EXPECT_EQ(as("viewer", "POST", "/api/v1/audit/events", batch).status, 403);
  EXPECT_EQ(cp.admin("POST", "/api/v1/audit/events", batch).status, 403);
  EXPECT_EQ(state(), after_first);
  // Malformed batches: 400 (the sidecar isolates the bad event).
  EXPECT_EQ(as("budget-backend", "POST", "/api/v1/audit/events", R"({"events":[{"seq":-1,"event":{}}]})").status, 400);
  EXPECT_EQ(as("budget-backend", "POST", "/api/v1/audit/events", R"({"spool":"XY","events":[]})").status, 400);
  EXPECT_EQ(as("budget-backend", "POST", "/api/v1/audit/events", R"({"events":{}})").status, 400);

  // The source is the sidecar's SPIFFE ID (and spool), not anything the body claims.
  auto all = ControlPlane::json(as("viewer", "GET", "/api/v1/audit/events"));
  ASSERT_EQ(all["events"].size(), 5u);
  EXPECT_EQ(all["events"][0]["source"], "spiffe://example.org/budget-backend#ab12");
  EXPECT_EQ(all["events"][0]["event"], json::parse(lines_[0]));

  EXPECT_EQ(query("caller=spiffe://example.org/budget-report"), (Ids{"r1", "r2"}));
  EXPECT_EQ(query("decision=deny"), (Ids{"r2", "r4", "r5"}));
  EXPECT_EQ(query("layer=rbac"), (Ids{"r1", "r3", "r5"}));
  EXPECT_EQ(query("reason=tag_mismatch"), (Ids{"r4"}));
  EXPECT_EQ(query("path=/budget/"), (Ids{"r1", "r2", "r3", "r4"}));
  EXPECT_EQ(query("path=reports/20"), (Ids{"r5"}));
  EXPECT_EQ(query("path=/BUDGET"), Ids{});
  EXPECT_EQ(query("request_id=r3"), (Ids{"r3"}));
  EXPECT_EQ(query("from=" + std::to_string(kT0 + 60) + "&to=" + std::to_string(kT0 + 180)), (Ids{"r2", "r3"}));
  EXPECT_EQ(query("decision=deny&layer=rbac&caller=spiffe://example.org/budget-approval"), (Ids{"r5"}));
  EXPECT_EQ(as("viewer", "GET", "/api/v1/audit/events?decision=maybe").status, 400);
  EXPECT_EQ(as("viewer", "GET", "/api/v1/audit/events?limit=0").status, 400);
  EXPECT_EQ(as("viewer", "GET", "/api/v1/audit/events?from=yesterday").status, 400);
  // Out of range: refused, not wrapped into some other time or cursor.
  EXPECT_EQ(as("viewer", "GET", "/api/v1/audit/events?from=9999999999999999999").status, 400);
  EXPECT_EQ(as("viewer", "GET", "/api/v1/audit/events?to=99999999999999").status, 400);
  EXPECT_EQ(as("viewer", "GET", "/api/v1/audit/events?after=99999999999999999999").status, 400);

  // Pagination: limit + next_after.
  Ids paged;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    auto r = as("viewer", "GET", "/api/v1/audit/events?limit=2" + (cursor.empty() ? "" : "&after=" + cursor));
    ASSERT_EQ(r.status, 200) << r.body;
    const json body = ControlPlane::json(r);
    EXPECT_LE(body["events"].size(), 2u);
    for (const auto& e : body["events"]) paged.push_back(e["event"]["request_id"]);
    if (body["next_after"].is_null()) break;
    cursor = std::to_string(body["next_after"].get<std::uint64_t>());
  }
  EXPECT_EQ(paged, (Ids{"r1", "r2", "r3", "r4", "r5"}));

  // Export: JSON lines, verbatim.
  auto jsonl = as("viewer", "GET", "/api/v1/audit/export?format=jsonl&decision=deny");
  ASSERT_EQ(jsonl.status, 200) << jsonl.body;
  EXPECT_EQ(jsonl.header("content-type"), "application/x-ndjson");
  EXPECT_EQ(jsonl.body, lines_[1] + "\n" + lines_[3] + "\n" + lines_[4] + "\n");
  // CSV: a header row, every field quoted, quotes doubled.
  auto csv = as("viewer", "GET", "/api/v1/audit/export?format=csv");
  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_EQ(csv.header("content-type").rfind("text/csv", 0), 0u);
  std::vector<std::string> rows;
  for (std::size_t pos = 0; pos < csv.body.size();) {
    const std::size_t end = csv.body.find("\r\n", pos);
    ASSERT_NE(end, std::string::npos) << "rows end with CRLF";
    rows.push_back(csv.body.substr(pos, end - pos));
    pos = end + 2;
  }
  ASSERT_EQ(rows.size(), 6u) << csv.body;
  EXPECT_EQ(rows[0],
            "id,time,request_id,decision,layer,reason,status,caller,target,method,path,rule_id,"
            "policy_version,source");
  EXPECT_NE(rows[5].find(",\"r5\",\"deny\",\"rbac\",\"rule_denied\",\"403\","), std::string::npos) << rows[5];
  EXPECT_NE(rows[5].find(",\"v1,\"\"beta\"\"\","), std::string::npos) << rows[5];
  EXPECT_NE(rows[1].find("\"2024-05-01T10:00:00.000000Z\""), std::string::npos) << rows[1];
  EXPECT_EQ(as("viewer", "GET", "/api/v1/audit/export?format=xml").status, 400);
}

// One event of the budget backend's sidecar, to be adjusted (kind, direction, token,
// governance facts) before it is rendered as audit::toJsonLine does.
audit::AuditEvent backendEvent(std::int64_t unix_seconds, const std::string& request_id,
                               const std::string& caller, const std::string& method,
                               const std::string& path, bool allowed, const std::string& layer,
                               const std::string& reason, const std::string& rule = "") {
  audit::AuditEvent e;
  e.time_unix_us = unix_seconds * 1000000;
  e.request_id = request_id;
  e.allowed = allowed;
  e.layer = layer;
  e.reason = reason;
  e.status = allowed ? 200 : 403;
  e.caller_id = caller.empty() ? "" : "spiffe://example.org/" + caller;
  e.target_id = "spiffe://example.org/budget-backend";
  e.method = method;
  e.path = path;
  e.rule_id = rule;
  e.policy_version = "budget@v1";
  return e;
}

TEST_F(ControlPlaneAuditTest, PolicyDryRunReplaysRecordedRequestsAgainstACandidate) {
  auto handshake = backendEvent(kT0 + 10, "", "employee-menus", "", "", false, "transport",
                                "peer_not_allowed");
  handshake.kind = audit::EventKind::kHandshake;
  // The same call as budget-report's sidecar audits it: egress, not replayed.
  auto egress = backendEvent(kT0 + 20, "e1", "budget-report", "POST", "/budget/submit", true,
                             "rbac", "allowed");
  egress.direction = audit::Direction::kEgress;
  // Recorded while budget-approval was high risk (the registry says low today).
  auto risky = backendEvent(kT0 + 30, "g1", "budget-approval", "GET", "/budget/read", false, "risk",
                            "risk_too_high");
  risky.caller_risk = "high";
  risky.caller_state = "enabled";
  risky.caller_name = "budget-approval";
  risky.caller_tags = "team=finance";
  const std::vector<std::string> lines = {
      audit::toJsonLine(backendEvent(kT0, "d1", "budget-report", "GET", "/budget/read", true, "rbac",
                                     "allowed", "report-read")),
      audit::toJsonLine(handshake),
      audit::toJsonLine(egress),
      audit::toJsonLine(risky),
      audit::toJsonLine(backendEvent(kT0 + 60, "d2", "budget-approval", "GET", "/budget/read", true,
                                     "rbac", "allowed", "approval-read")),
      audit::toJsonLine(backendEvent(kT0 + 120, "d3", "budget-approval", "POST", "/budget/submit",
                                     true, "rbac", "allowed", "approval-submit")),
  };
  ASSERT_EQ(as("budget-backend", "POST", "/api/v1/audit/events", auditBatch("dd01", 1, lines)).status, 200);
  const auto before = state();

  auto dryRun = [&](const std::string& kind, const json& body, const std::string& target = "budget-backend") {
    return as("viewer", "POST", "/api/v1/" + kind + "/" + target + "/dry-run", body.dump());
  };
  auto ids = [](const json& out) {
    std::vector<std::string> v;
    for (const auto& r : out["results"]) v.push_back(r["request_id"]);
    return v;
  };

  // The candidate drops approval-submit: only d3's decision changes.
  auto res = dryRun("policies", {{"document", kBackendPolicyV2}});
  ASSERT_EQ(res.status, 200) << res.body;
  json out = ControlPlane::json(res);
  EXPECT_EQ(out["target"], "budget-backend");
  EXPECT_EQ(out["live_version"], 1);
  EXPECT_EQ(out["evaluated"], 4);
  EXPECT_EQ(out["changed"], 1);
  // Newest first; the handshake and the egress record are not replayed.
  EXPECT_EQ(ids(out), (std::vector<std::string>{"d3", "d2", "g1", "d1"}));
  const json& d3 = out["results"][0];
  EXPECT_EQ(d3["changed"], true);
  EXPECT_EQ(d3["caller_id"], "spiffe://example.org/budget-approval");
  EXPECT_EQ(d3["caller_name"], "budget-approval");
  EXPECT_EQ(d3["method"], "POST");
  EXPECT_EQ(d3["path"], "/budget/submit");
  EXPECT_EQ(d3["time_unix_us"], (kT0 + 120) * 1000000);
  EXPECT_EQ(d3["recorded"], (json{{"decision", "allow"}, {"layer", "rbac"}, {"reason", "allowed"},
                                  {"rule_id", "approval-submit"}}));
  EXPECT_EQ(d3["live"], d3["recorded"]);
  EXPECT_EQ(d3["candidate"], (json{{"decision", "deny"}, {"layer", "rbac"},
                                   {"reason", "no_matching_rule"}, {"rule_id", ""}}));
  EXPECT_EQ(out["results"][1]["changed"], false);
  EXPECT_EQ(out["results"][1]["candidate"]["rule_id"], "approval-read");
  // g1 is replayed with the facts it recorded (high risk), not today's registry (low).
  const json& g1 = out["results"][2];
  EXPECT_EQ(g1["caller_facts"], "recorded");
  EXPECT_EQ(g1["live"]["reason"], "risk_too_high") << g1.dump();
  EXPECT_EQ(g1["changed"], false);
  EXPECT_EQ(out["results"][3]["caller_facts"], "registry");

  // The live policy itself as the candidate: nothing changes.
  out = ControlPlane::json(dryRun("policies", {{"document", kBackendPolicy}, {"limit", 1000}}));
  EXPECT_EQ(out["evaluated"], 4);
  EXPECT_EQ(out["changed"], 0) << out.dump();

  // limit: the newest N.
  out = ControlPlane::json(dryRun("policies", {{"document", kBackendPolicyV2}, {"limit", 1}}));
  EXPECT_EQ(ids(out), (std::vector<std::string>{"d3"}));
  for (const json& bad : {json(0), json(1001), json(-3), json(2.5), json("10")}) {
    res = dryRun("policies", {{"document", kBackendPolicyV2}, {"limit", bad}});
    EXPECT_EQ(res.status, 400) << bad.dump() << ": " << res.body;
    EXPECT_EQ(ControlPlane::json(res)["reason"],
              "limit: expected an integer from 1 to 1000, got " + bad.dump());
  }
  res = dryRun("policies", {{"document", kBackendPolicyV2}, {"content", "x"}});
  EXPECT_EQ(res.status, 400) << res.body;
  EXPECT_EQ(ControlPlane::json(res)["reason"], "content: unknown member (expected document and limit)");
  EXPECT_EQ(dryRun("policies", json::object()).status, 400);

  // An invalid candidate: 400 with the very error list /validate gives.
  const std::string invalid = "version: x\nallow: []\nbogus: 1\n";
  res = dryRun("policies", {{"document", invalid}});
  ASSERT_EQ(res.status, 400) << res.body;
  out = ControlPlane::json(res);
  EXPECT_EQ(out["error"], "invalid_policy");
  auto validated = ControlPlane::json(as("viewer", "POST", "/api/v1/policies/validate",
                                         json{{"content", invalid}, {"target", "budget-backend"}}.dump()));
  ASSERT_EQ(validated["valid"], false);
  EXPECT_EQ(out["errors"], validated["errors"]);
  EXPECT_NE(out["errors"][0].get<std::string>().find("bogus"), std::string::npos) << out.dump();
  // A policy naming another target is refused as PUT refuses it.
  res = dryRun("policies", {{"document", replaceAll(kBackendPolicyV2, "budget-backend", "elsewhere")}});
  EXPECT_EQ(res.status, 400) << res.body;

  // Governance: a block requiring another tag denies every replayed request at the tags
  // layer; g1 was refused at the risk layer before and still is.
  res = dryRun("governance", {{"document", "max_risk: medium\nrequired_tags: {team: ops}\n"}});
  ASSERT_EQ(res.status, 200) << res.body;
  out = ControlPlane::json(res);
  EXPECT_EQ(out["live_version"], 1);
  EXPECT_EQ(out["changed"], 3) << out.dump();
  EXPECT_EQ(out["results"][0]["candidate"]["layer"], "tags");
  EXPECT_EQ(out["results"][0]["candidate"]["reason"], "tag_mismatch");
  // Tolerating high risk lets g1 through, judged by the facts it recorded.
  out = ControlPlane::json(dryRun("governance", {{"document", "max_risk: high\nrequired_tags: {team: finance}\n"}}));
  EXPECT_EQ(out["changed"], 1) << out.dump();
  EXPECT_EQ(out["results"][2]["request_id"], "g1");
  EXPECT_EQ(out["results"][2]["candidate"]["decision"], "allow");
  res = dryRun("governance", {{"document", "max_risk: extreme\n"}});
  EXPECT_EQ(res.status, 400) << res.body;
  EXPECT_EQ(ControlPlane::json(res)["error"], "invalid_governance");
  EXPECT_EQ(ControlPlane::json(res)["errors"].size(), 1u);

  // Unknown target, wrong method, and a target without recorded requests.
  res = dryRun("policies", {{"document", kBackendPolicyV2}}, "nobody");
  EXPECT_EQ(res.status, 404) << res.body;
  EXPECT_EQ(ControlPlane::json(res)["error"], "unknown_target");
  EXPECT_EQ(as("viewer", "GET", "/api/v1/policies/budget-backend/dry-run").status, 405);
  out = ControlPlane::json(dryRun("governance", {{"document", "max_risk: low\n"}}, "employee-menus"));
  EXPECT_EQ(out["evaluated"], 0);
  EXPECT_EQ(out["live_version"], 0);
  EXPECT_EQ(out["results"], json::array());

  // Read-only: no version, no change record, no generation bump.
  EXPECT_EQ(state(), before) << describe(before) << " -> " << describe(state());
}

TEST_F(ControlPlaneAuditTest, AuditStatsCountBucketsEdgesAndTotals) {
  auto handshake = backendEvent(kT0 + 30, "", "", "", "", false, "transport", "handshake_failed");
  handshake.kind = audit::EventKind::kHandshake;
  auto egress = backendEvent(kT0 + 5, "e1", "budget-report", "GET", "/budget/read", true, "rbac", "allowed");
  egress.direction = audit::Direction::kEgress;
  std::vector<std::string> lines = lines_;
  lines.push_back(audit::toJsonLine(handshake));
  lines.push_back(audit::toJsonLine(egress));
  ASSERT_EQ(as("budget-backend", "POST", "/api/v1/audit/events", auditBatch("5a75", 1, lines)).status, 200);

  auto stats = [&](const std::string& query) {
    return as("viewer", "GET", "/api/v1/audit/stats" + query);
  };
  auto res = stats("?since=" + std::to_string(kT0) + "&until=" + std::to_string(kT0 + 300) + "&bucket=60");
  ASSERT_EQ(res.status, 200) << res.body;
  json out = ControlPlane::json(res);
  EXPECT_EQ(out["since"], kT0);
  EXPECT_EQ(out["until"], kT0 + 300);
  EXPECT_EQ(out["bucket_seconds"], 60);
  EXPECT_EQ(out["layers"], (json{"transport", "risk", "tags", "rbac", "token", "proxy"}));
  // r1..r5 one a minute, plus the handshake in the first minute; the egress copy is not
  // counted.
  std::vector<std::tuple<std::int64_t, int, int, std::string>> series;
  for (const auto& b : out["series"]) {
    std::string layers;
    for (const auto& [layer, n] : b["deny_by_layer"].items()) {
      if (n != 0) layers += layer + "=" + n.dump() + " ";
    }
    series.emplace_back(b["start"], b["allow"], b["deny"], layers);
  }
  EXPECT_EQ(series, (decltype(series){{kT0, 1, 1, "transport=1 "},
                                      {kT0 + 60, 0, 1, "risk=1 "},
                                      {kT0 + 120, 1, 0, ""},
                                      {kT0 + 180, 0, 1, "tags=1 "},
                                      {kT0 + 240, 0, 1, "rbac=1 "}}));
  EXPECT_EQ(out["totals"]["allow"], 2);
  EXPECT_EQ(out["totals"]["deny"], 4);
  EXPECT_EQ(out["totals"]["deny_by_layer"],
            (json{{"transport", 1}, {"risk", 1}, {"tags", 1}, {"rbac", 1}, {"token", 0}, {"proxy", 0}}));
  EXPECT_EQ(out["totals"]["deny_by_reason"],
            (json{{"handshake_failed", 1}, {"risk_too_high", 1}, {"tag_mismatch", 1}, {"rule_denied", 1}}));
  std::map<std::string, json> edges;
  for (const auto& e : out["edges"]) edges[e["caller_id"]] = e;
  ASSERT_EQ(edges.size(), 4u) << out["edges"].dump();
  const json& report = edges["spiffe://example.org/budget-report"];
  EXPECT_EQ(report["caller_name"], "budget-report");
  EXPECT_EQ(report["target_id"], "spiffe://example.org/budget-backend");
  EXPECT_EQ(report["target_name"], "budget-backend");
  EXPECT_EQ(report["allow"], 1);
  EXPECT_EQ(report["deny"], 1);
  EXPECT_EQ(report["last_time_unix_us"], (kT0 + 60) * 1000000);
  EXPECT_EQ(report["last_decision"], "deny");
  EXPECT_EQ(report["last_reason"], "risk_too_high");
  EXPECT_EQ(edges["spiffe://example.org/budget-approval"]["last_reason"], "rule_denied");
  EXPECT_EQ(edges["spiffe://example.org/employee-menus"]["deny"], 1);
  EXPECT_EQ(edges[""]["caller_name"], "");
  EXPECT_EQ(edges[""]["last_reason"], "handshake_failed");

  // Wider buckets, the last one partial; a range holding nothing has zeros.
  out = ControlPlane::json(stats("?since=" + std::to_string(kT0) + "&until=" + std::to_string(kT0 + 300) + "&bucket=120"));
  ASSERT_EQ(out["series"].size(), 3u);
  EXPECT_EQ(out["series"][2]["start"], kT0 + 240);
  EXPECT_EQ(out["series"][0]["allow"], 1);
  EXPECT_EQ(out["series"][0]["deny"], 2);
  out = ControlPlane::json(stats("?since=" + std::to_string(kT0 - 600) + "&until=" + std::to_string(kT0)));
  EXPECT_EQ(out["series"].size(), 10u);
  EXPECT_EQ(out["totals"]["allow"], 0);
  EXPECT_EQ(out["edges"], json::array());
  // Defaults: the last hour, by the minute.
  res = stats("");
  ASSERT_EQ(res.status, 200) << res.body;
  out = ControlPlane::json(res);
  EXPECT_EQ(out["until"].get<std::int64_t>() - out["since"].get<std::int64_t>(), 3600);
  EXPECT_EQ(out["series"].size(), 60u);

  // Bounds: 400 naming what is wrong.
  const std::string t = std::to_string(kT0);
  for (const auto& [query, reason_starts] : std::vector<std::pair<std::string, std::string>>{
           {"?since=" + t + "&until=" + t, "since: must be before until"},
           {"?since=" + std::to_string(kT0 + 10) + "&until=" + t, "since: must be before until"},
           {"?since=0&until=" + std::to_string(7 * 86400 + 1) + "&bucket=3600", "until - since: at most 604800"},
           {"?bucket=0", "bucket: expected a whole number"},
           {"?bucket=1", "bucket: 3600 seconds in buckets of 1 is 3600 buckets, at most 720"},
           {"?since=soon", "since: expected Unix seconds"}}) {
    res = stats(query);
    EXPECT_EQ(res.status, 400) << query << ": " << res.body;
    EXPECT_EQ(ControlPlane::json(res)["reason"].get<std::string>().rfind(reason_starts, 0), 0u)
        << query << ": " << res.body;
  }
  // Any signed-in reader; not sidecars.
  EXPECT_EQ(as("developer", "GET", "/api/v1/audit/stats").status, 200);
  EXPECT_EQ(as("budget-backend", "GET", "/api/v1/audit/stats").status, 403);
}

TEST_F(ControlPlaneAuditTest, LiveStreamDeliversNewEventsAndHonoursLastEventId) {
  ASSERT_EQ(as("budget-backend", "POST", "/api/v1/audit/events",
               auditBatch("ab12", 1, {lines_[0], lines_[1], lines_[2]})).status, 200);
  auto ids = ControlPlane::json(as("viewer", "GET", "/api/v1/audit/events"))["events"];
  ASSERT_EQ(ids.size(), 3u);
  const std::uint64_t second_id = ids[1]["id"];
  const std::uint64_t third_id = ids[2]["id"];

  // Connected: only events inserted afterwards arrive.
  {
    auto c = TestConnection::tls(cp.api().port(), cp.credential("viewer"));
    ASSERT_NE(c, nullptr);
    ASSERT_TRUE(c->send(makeRequest("GET", "/api/v1/audit/stream")));
    std::string seen;
    bool shipped = false;
    const auto deadline = Clock::now() + 5s;
    auto res = c->readStreaming([&](std::string_view piece) {
      seen.append(piece);
      if (!shipped && seen.find(": connected") != std::string::npos) {
        shipped = true;
        EXPECT_EQ(as("budget-backend", "POST", "/api/v1/audit/events",
                     auditBatch("ab12", 4, {lines_[3]})).status, 200);
      }
      // Bounded: a stream that never delivers stops at the first piece (a 15 s ping at
      // most) after the deadline.
      return seen.find("\"r4\"") == std::string::npos && Clock::now() < deadline;
    });
    ASSERT_TRUE(res) << c->lastError() << " after " << seen;
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->header("content-type"), "text/event-stream");
    EXPECT_TRUE(shipped);
    EXPECT_NE(seen.find("data: " + lines_[3] + "\n\n"), std::string::npos) << seen;
    EXPECT_EQ(seen.find("\"r1\""), std::string::npos) << "an old event was replayed: " << seen;
    EXPECT_NE(seen.find("id: "), std::string::npos);
  }
  // Resuming after the second event: the third and fourth, nothing earlier.
  {
    auto c = TestConnection::tls(cp.api().port(), cp.credential("viewer"));
    ASSERT_NE(c, nullptr);
    ASSERT_TRUE(c->send(makeRequest("GET", "/api/v1/audit/stream",
                                    "Last-Event-ID: " + std::to_string(second_id) + "\r\n")));
    std::string seen;
    const auto deadline = Clock::now() + 5s;
    auto res = c->readStreaming([&](std::string_view piece) {
      seen.append(piece);
      return seen.find("\"r4\"") == std::string::npos && Clock::now() < deadline;
    });
    ASSERT_TRUE(res) << c->lastError() << " after " << seen;
    EXPECT_NE(seen.find("id: " + std::to_string(third_id) + "\ndata: " + lines_[2]), std::string::npos) << seen;
    EXPECT_EQ(seen.find("\"r1\""), std::string::npos) << seen;
    EXPECT_EQ(seen.find("\"r2\""), std::string::npos) << seen;
  }
  // Filters apply to the stream too; a bad cursor is a 400; a sidecar may not read.
  EXPECT_EQ(as("viewer", "GET", "/api/v1/audit/stream", "", "Last-Event-ID: abc\r\n").status, 400);
  EXPECT_EQ(as("budget-backend", "GET", "/api/v1/audit/stream").status, 403);
  EXPECT_EQ(as("viewer", "POST", "/api/v1/audit/events", auditBatch("ab12", 9, {lines_[4]})).status, 403);
}

// Two sidecars ship at their own pace: an event stored while the stream is busy writing
// the one before must still be sent now, not after the next 15 s keep-alive. Each round
// ships two batches at once from two sidecars, so the second lands while the stream is
// sending the first, in some of the rounds at least.
TEST_F(ControlPlaneAuditTest, LiveStreamSendsEventsStoredWhileItWasWriting) {
  auto c = TestConnection::tls(cp.api().port(), cp.credential("viewer"));
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->send(makeRequest("GET", "/api/v1/audit/stream")));
  constexpr int kRounds = 8;
  std::string seen;
  int round = 0;
  std::vector<std::string> waiting_for;
  auto deadline = Clock::now() + 2s;
  bool late = false;
  auto res = c->readStreaming([&](std::string_view piece) {
    seen.append(piece);
    const bool both_seen = std::ranges::all_of(waiting_for, [&](const std::string& id) {
      return seen.find(id) != std::string::npos;
    });
    if (!both_seen) {
      // Every piece is a chance to notice lateness; a stream that went quiet ends with its
      // 15 s ping, which is past the deadline.
      if (Clock::now() < deadline) return true;
      late = true;
      return false;
    }
    if (round == kRounds) return false;
    ++round;
    const std::string a = "round" + std::to_string(round) + "a";
    const std::string b = "round" + std::to_string(round) + "b";
    const auto seq = static_cast<std::uint64_t>(round);
    auto first = std::async(std::launch::async, [&] {
      return as("budget-backend", "POST", "/api/v1/audit/events",
                auditBatch("ee01", seq, {auditLine(kT0, a, true, "rbac", "allowed", "budget-report",
                                                   "GET", "/budget/read")})).status;
    });
    auto second = std::async(std::launch::async, [&] {
      return as("budget-report", "POST", "/api/v1/audit/events",
                auditBatch("ee02", seq, {auditLine(kT0, b, true, "rbac", "allowed", "budget-report",
                                                   "GET", "/budget/read")})).status;
    });
    EXPECT_EQ(first.get(), 200);
    EXPECT_EQ(second.get(), 200);
    waiting_for = {"\"" + a + "\"", "\"" + b + "\""};
    deadline = Clock::now() + 2s;
    return true;
  });
  ASSERT_TRUE(res) << c->lastError() << " after " << seen;
  EXPECT_FALSE(late) << "round " << round << ": an event stored 2 s ago was not streamed: " << seen;
  EXPECT_EQ(round, kRounds);
  for (int i = 1; i <= round; ++i) {
    for (const char* side : {"a", "b"}) {
      const std::string id = "\"round" + std::to_string(i) + side + "\"";
      EXPECT_NE(seen.find(id), std::string::npos) << id << " never arrived";
    }
  }
}

// --- 9. Distribution ---------------------------------------------------------------------

TEST_F(ControlPlaneApiTest, DistributionLongPollAnswersPromptlyOnChange) {
  auto res = as("budget-backend", "GET", "/api/v1/distribution/view");
  ASSERT_EQ(res.status, 200) << res.body;
  json view = ControlPlane::json(res);
  EXPECT_EQ(view["agent"], "budget-backend");
  EXPECT_EQ(view["generation"], cp.store().generation());
  EXPECT_EQ(view["policy"]["content"], kBackendPolicy);
  EXPECT_EQ(view["policy"]["version"], 1);
  // A sidecar cannot ask for another agent's view: its SVID decides.
  auto other = ControlPlane::json(as("budget-backend", "GET", "/api/v1/distribution/view?agent=budget-report"));
  EXPECT_EQ(other["agent"], "budget-backend");
  // People preview any agent's view.
  auto preview = cp.admin("GET", "/api/v1/distribution/view?agent=budget-report");
  ASSERT_EQ(preview.status, 200) << preview.body;
  EXPECT_EQ(ControlPlane::json(preview)["agent"], "budget-report");
  EXPECT_TRUE(ControlPlane::json(preview)["policy"].is_null());
  EXPECT_EQ(as("viewer", "GET", "/api/v1/distribution/view?agent=budget-report").status, 200);
  EXPECT_EQ(cp.admin("GET", "/api/v1/distribution/view").status, 400);
  EXPECT_EQ(cp.admin("GET", "/api/v1/distribution/view?agent=nobody").status, 404);

  const std::uint64_t generation = view["generation"];
  const std::string poll = "/api/v1/distribution/view?generation=" + std::to_string(generation) + "&wait=2";
  // Nothing changes: 304 after the wait.
  auto started = Clock::now();
  res = as("budget-backend", "GET", poll);
  auto took = Clock::now() - started;
  EXPECT_EQ(res.status, 304) << res.body;
  EXPECT_GE(took, 1800ms);
  EXPECT_LT(took, 4s);
  // An absurd wait is capped, not overflowed.
  started = Clock::now();
  res = as("budget-backend", "GET", "/api/v1/distribution/view?generation=" + std::to_string(generation) +
                                        "&wait=9223372036854775807");
  took = Clock::now() - started;
  EXPECT_EQ(res.status, 304);
  EXPECT_GE(took, 4s) << "the server's long_poll_max (5 s) should bound the wait";
  EXPECT_LT(took, 8s);

  // A change during the wait answers at once.
  HttpResponse polled;
  Clock::time_point answered;
  std::thread poller([&] {
    polled = as("budget-backend", "GET", poll);
    answered = Clock::now();
  });
  // Let the poll reach the server and start waiting; the change must wake it.
  std::this_thread::sleep_for(500ms);
  ASSERT_EQ(cp.admin("PUT", "/api/v1/agents/budget-report/risk", R"({"risk":"high"})").status, 200);
  const auto committed = Clock::now();  // the change is committed before the PUT answers
  poller.join();
  EXPECT_EQ(polled.status, 200) << polled.body;
  // Woken by the commit, not by the end of the 2 s wait.
  EXPECT_LT(answered - committed, 500ms) << "the long-poll was not woken by the change";
  view = ControlPlane::json(polled);
  EXPECT_GT(view["generation"].get<std::uint64_t>(), generation);
  bool found = false;
  for (const auto& a : view["governance"]["agents"]) {
    if (a["spiffe_id"] == "spiffe://example.org/budget-report") {
      found = true;
      EXPECT_EQ(a["risk"], "high");
    }
  }
  EXPECT_TRUE(found) << view.dump();
  // A generation the sidecar is behind on answers at once.
  started = Clock::now();
  res = as("budget-backend", "GET", poll);
  EXPECT_EQ(res.status, 200);
  EXPECT_LT(Clock::now() - started, 1s);
  EXPECT_EQ(as("budget-backend", "GET", "/api/v1/distribution/view?generation=x").status, 400);
}

// --- 10. Explain -------------------------------------------------------------------------

TEST_F(ControlPlaneApiTest, ExplainReportsEveryLayerAndTheDecidingRule) {
  auto explain = [&](const json& request) {
    auto res = as("viewer", "POST", "/api/v1/explain", request.dump());
    EXPECT_EQ(res.status, 200) << res.body;
    return ControlPlane::json(res);
  };
  auto layer = [](const json& out, const std::string& name) {
    for (const auto& l : out["layers"]) {
      if (l["layer"] == name) return l;
    }
    return json();
  };
  json req{{"caller", "budget-report"}, {"target", "budget-backend"}, {"method", "GET"}, {"path", "/budget/read"}};
  json out = explain(req);
  EXPECT_EQ(out["decision"], "allow") << out.dump();
  EXPECT_EQ(out["rule"], "report-read");
  EXPECT_EQ(out["caller"], "spiffe://example.org/budget-report");
  for (const char* name : {"transport", "risk", "tags", "rbac"}) {
    EXPECT_EQ(layer(out, name).value("verdict", ""), "allow") << name << ": " << out.dump();
  }
  EXPECT_EQ(out["policy_version"], "budget@v1");

  // A path that needs normalisation is normalised first.
  req["path"] = "/budget/./read";
  out = explain(req);
  EXPECT_EQ(out["path"], "/budget/read");
  EXPECT_EQ(out["decision"], "allow");
  req["path"] = "/budget/x/../read";
  EXPECT_EQ(explain(req)["decision"], "allow");
  req["path"] = "/budget/read";
  // Another method on the same path: no matching rule, rbac decides.
  req["method"] = "DELETE";
  out = explain(req);
  EXPECT_EQ(out["decision"], "deny");
  EXPECT_EQ(out["layer"], "rbac");
  EXPECT_EQ(out["reason"], "no_matching_rule");
  req["method"] = "GET";

  // High risk: denied by the risk layer, and every later layer is still evaluated.
  ASSERT_EQ(cp.admin("PUT", "/api/v1/agents/budget-report/risk", R"({"risk":"high"})").status, 200);
  out = explain(req);
  EXPECT_EQ(out["decision"], "deny") << out.dump();
  EXPECT_EQ(out["layer"], "risk");
  EXPECT_EQ(out["reason"], "risk_too_high");
  EXPECT_EQ(out["status"], 403);
  EXPECT_EQ(layer(out, "rbac").value("verdict", ""), "allow") << out.dump();
  EXPECT_EQ(layer(out, "rbac").value("rule", ""), "report-read");
  EXPECT_EQ(layer(out, "tags").value("verdict", ""), "allow") << out.dump();
  // Both governance layers failing: the first decides, the second is still reported.
  ASSERT_EQ(cp.admin("PUT", "/api/v1/agents/budget-approval/risk", R"({"risk":"high"})").status, 200);
  auto approval = ControlPlane::json(cp.admin("GET", "/api/v1/agents/budget-approval"));
  ASSERT_EQ(cp.admin("PUT", "/api/v1/agents/budget-approval/tags", R"({"tags":{}})",
                     ifMatch(approval["etag"].get<std::string>())).status, 200);
  out = explain({{"caller", "budget-approval"}, {"target", "budget-backend"}, {"method", "POST"},
                 {"path", "/budget/submit"}});
  EXPECT_EQ(out["reason"], "risk_too_high") << out.dump();
  EXPECT_EQ(layer(out, "tags").value("verdict", ""), "deny") << out.dump();
  EXPECT_EQ(layer(out, "tags").value("reason", ""), "tag_mismatch") << out.dump();
  EXPECT_EQ(layer(out, "rbac").value("rule", ""), "approval-submit");
  ASSERT_EQ(cp.admin("PUT", "/api/v1/agents/budget-report/risk", R"({"risk":"low"})").status, 200);

  // An unregistered caller: not on the policy's callers, assumed high risk.
  out = explain({{"caller", "spiffe://example.org/mallory"}, {"target", "budget-backend"},
                 {"method", "GET"}, {"path", "/budget/read"}});
  EXPECT_EQ(out["decision"], "deny");
  EXPECT_EQ(out["reason"], "risk_unknown") << out.dump();
  EXPECT_EQ(layer(out, "rbac").value("reason", ""), "no_caller_policy") << out.dump();

  // Layer 3: the rule's roles against the roles given.
  const std::string menus_policy = R"(version: "menus"
allow:
  - trust_domain: example.org
callers:
  - match: { id: spiffe://example.org/budget-report }
    rules:
      - id: menus-admin
        methods: [POST]
        path: { exact: /menus }
        action: allow
        roles: [menus.read, menus.write]
token:
  issuers:
    - issuer: https://127.0.0.1:1
      jwks_url: https://127.0.0.1:1/jwks
      audiences: [api://employee-menus]
)";
  auto put = cp.putDocument("policies", "employee-menus", menus_policy);
  ASSERT_EQ(put.status, 201) << put.body;
  json menus{{"caller", "budget-report"}, {"target", "employee-menus"}, {"method", "POST"},
             {"path", "/menus"}, {"roles", {"menus.read"}}};
  out = explain(menus);
  EXPECT_EQ(out["decision"], "deny") << out.dump();
  EXPECT_EQ(out["layer"], "token");
  EXPECT_EQ(out["reason"], "insufficient_roles");
  EXPECT_EQ(layer(out, "token")["missing_roles"], (json{"menus.write"}));
  EXPECT_EQ(layer(out, "token")["required_roles"], (json{"menus.read", "menus.write"}));
  menus["roles"] = {"menus.read", "menus.write"};
  out = explain(menus);
  EXPECT_EQ(out["decision"], "allow") << out.dump();
  EXPECT_EQ(out["rule"], "menus-admin");
  menus.erase("roles");
  EXPECT_EQ(layer(explain(menus), "token").value("verdict", ""), "requires_token");

  // Bad requests.
  EXPECT_EQ(as("viewer", "POST", "/api/v1/explain", R"({"caller":"budget-report"})").status, 400);
  EXPECT_EQ(as("viewer", "POST", "/api/v1/explain",
               R"({"caller":"nobody","target":"budget-backend","method":"GET","path":"/"})").status, 404);
  EXPECT_EQ(as("viewer", "POST", "/api/v1/explain",
               R"({"caller":"budget-report","target":"budget-backend","method":"GET","path":"/x","roles":"admin"})").status, 400);
}

// Every malformed field is a 4xx whose reason names it: never a 500, a dropped connection,
// or a verdict about a request no sidecar would evaluate.
TEST_F(ControlPlaneApiTest, ExplainRefusesEveryBadFieldWithAnErrorNamingIt) {
  cp.addAgent({{"name", "no-svid"}, {"client_id", "no-svid-client"}});
  const json good{{"caller", "budget-report"},
                  {"target", "budget-backend"},
                  {"method", "GET"},
                  {"path", "/budget/read"}};
  auto with = [&](const char* key, const json& value) {
    json body = good;
    if (value.is_discarded()) {
      body.erase(key);
    } else {
      body[key] = value;
    }
    return body.dump();
  };
  const json absent = json(json::value_t::discarded);
  struct Case {
    std::string body;
    int status;
    std::string error;
    std::string reason;  // must appear in `reason`
  };
  const std::vector<Case> cases{
      {with("caller", absent), 400, "invalid_request", "caller: expected a string"},
      {with("caller", 7), 400, "invalid_request", "caller: expected a string"},
      {with("target", nullptr), 400, "invalid_request", "target: expected a string"},
      {with("method", json::array({"GET"})), 400, "invalid_request", "method: expected a string"},
      {with("path", absent), 400, "invalid_request", "path: expected a string"},
      // Strict: a misspelt or unsupported member is named, not ignored.
      {with("role", json::array({"Budget.Read"})), 400, "invalid_request", "role: unknown member"},
      {with("token", "eyJ..."), 400, "invalid_request", "token: unknown member"},
      // The caller: a registered name, else a SPIFFE ID.
      {with("caller", "nobody"), 404, "unknown_caller", "caller: no agent named nobody"},
      {with("caller", ""), 400, "invalid_request", "caller: neither an agent name"},
      {with("caller", "Budget-Report"), 400, "invalid_request", "caller: neither an agent name"},
      {with("caller", "spiffe://example.org/budget report"), 400, "invalid_request", "caller: "},
      {with("caller", "spiffe://"), 400, "invalid_request", "caller: "},
      {with("caller", "https://example.org/budget-report"), 400, "invalid_request", "caller: "},
      {with("caller", "no-svid"), 400, "invalid_request", "caller: agent no-svid has no SPIFFE ID"},
      // The target: a registered agent's name.
      {with("target", "nobody"), 404, "unknown_target", "target: no agent named nobody"},
      {with("target", "spiffe://example.org/budget-backend"), 400, "invalid_request", "target: "},
      {with("target", ""), 400, "invalid_request", "target: "},
      // The method: an HTTP token, case-sensitive.
      {with("method", ""), 400, "invalid_request", "method: expected an HTTP method"},
      {with("method", "GE T"), 400, "invalid_request", "method: not an HTTP method token"},
      {with("method", "GET\r\nX: y"), 400, "invalid_request", "method: not an HTTP method token"},
      {with("method", "get"), 400, "invalid_request",
       "method: methods are case-sensitive; did you mean GET?"},
      {with("method", std::string(40, 'X')), 400, "invalid_request", "method: longer than"},
      // The path: origin-form, and one normalisation accepts.
      {with("path", ""), 400, "invalid_request", "path: expected an origin-form path"},
      {with("path", "budget/read"), 400, "invalid_request", "path: must be origin-form"},
      {with("path", "https://budget-backend/budget/read"), 400, "invalid_request",
       "path: must be origin-form"},
      {with("path", "*"), 400, "invalid_request", "path: must be origin-form"},
      {with("path", "/budget/%2Fread"), 400, "invalid_request", "path: encoded '/'"},
      {with("path", "/budget\\read"), 400, "invalid_request", "path: "},
      {with("path", "/budget/read#x"), 400, "invalid_request", "path: fragment"},
      {with("path", "/budget/re%6"), 400, "invalid_request", "path: malformed percent-escape"},
      {with("path", "/budget/read?x=%zz"), 400, "invalid_request",
       "path: malformed percent-escape"},
      // Roles: a list of strings.
      {with("roles", "admin"), 400, "invalid_request", "roles: expected a list of strings"},
      {with("roles", json::array({"a", 1})), 400, "invalid_request", "roles[1]: expected a string"},
      // The body itself.
      {"[]", 400, "invalid_json", "object"},
      {"{\"caller\":", 400, "invalid_json", ""},
  };
  const auto before = state();
  for (const auto& c : cases) {
    auto res = as("viewer", "POST", "/api/v1/explain", c.body);
    EXPECT_EQ(res.status, c.status) << c.body << ": " << res.body;
    const json err = ControlPlane::json(res);
    EXPECT_EQ(err.value("error", ""), c.error) << c.body << ": " << res.body;
    EXPECT_EQ(err.value("layer", ""), "control_plane") << c.body << ": " << res.body;
    EXPECT_NE(err.value("reason", "").find(c.reason), std::string::npos)
        << c.body << ": reason does not say \"" << c.reason << "\": " << res.body;
    EXPECT_FALSE(err.contains("decision")) << c.body << ": " << res.body;
  }
  auto typed = as("viewer", "POST", "/api/v1/explain", good.dump(), "Content-Type: text/plain\r\n");
  EXPECT_EQ(typed.status, 415) << typed.body;
  EXPECT_EQ(state(), before);

  // What is well-formed is still answered: an extension method (only a "*" rule could allow
  // it), a stranger's SPIFFE ID, a path with a query.
  auto extension = as("viewer", "POST", "/api/v1/explain", with("method", "PROPFIND"));
  ASSERT_EQ(extension.status, 200) << extension.body;
  EXPECT_EQ(ControlPlane::json(extension)["layer"], "rbac") << extension.body;
  auto stranger =
      as("viewer", "POST", "/api/v1/explain", with("caller", "spiffe://partner.example/x"));
  ASSERT_EQ(stranger.status, 200) << stranger.body;
  EXPECT_EQ(ControlPlane::json(stranger)["decision"], "deny");
  auto query = as("viewer", "POST", "/api/v1/explain", with("path", "/budget/read?month=5"));
  ASSERT_EQ(query.status, 200) << query.body;
  EXPECT_EQ(ControlPlane::json(query)["decision"], "allow") << query.body;
}

// --- 11. Health --------------------------------------------------------------------------

TEST_F(ControlPlaneApiTest, HealthReadinessAndMetrics) {
  auto health = as("", "GET", "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(ControlPlane::json(health)["status"], "ok");
  auto ready = as("", "GET", "/readyz");
  ASSERT_EQ(ready.status, 200) << ready.body;
  const json r = ControlPlane::json(ready);
  EXPECT_EQ(r["ready"], true);
  EXPECT_EQ(r["components"]["store"]["ok"], true);
  EXPECT_EQ(r["components"]["store"]["generation"], cp.store().generation());
  EXPECT_EQ(r["components"]["distribution"]["ok"], true);

  auto anonymous = as("", "GET", "/metrics");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_NE(anonymous.header("www-authenticate"), "");
  EXPECT_EQ(as("stranger", "GET", "/metrics").status, 401);
  auto sidecar = as("budget-backend", "GET", "/metrics");
  EXPECT_EQ(sidecar.status, 403) << sidecar.body;
  auto metrics = as("viewer", "GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.header("content-type").rfind("text/plain", 0), 0u);
  EXPECT_NE(metrics.body.find("warden_control_plane_generation " + std::to_string(cp.store().generation())),
            std::string::npos) << metrics.body;
  EXPECT_NE(metrics.body.find("warden_control_plane_agents{state=\"enabled\"} 4"), std::string::npos)
      << metrics.body;
}

}  // namespace
}  // namespace warden::testing
