#include "cli/matrix.h"

#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_future.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "cli/api_client.h"
#include "demo/local_http.h"
#include "demo/sidecar_status.h"
#include "issuer/key_store.h"
#include "demo/mesh_config.h"
#include "demo/mesh_up.h"
#include "net/tls_client.h"
#include "token/fetch_url.h"
#include "token/http_fetch.h"
#include "workload/endpoint_address.h"
#include "workload/workload_client.h"

namespace warden::cli {
namespace {

namespace fs = std::filesystem;
namespace asio = boost::asio;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// How long a change made through the API may take to reach the sidecars (measured: p99
// well under 1 s; tokens already held by egress sidecars are not affected).
constexpr auto kPropagation = std::chrono::seconds(15);

struct Observed {
  int status = 0;
  std::string layer;
  std::string reason;
  json body;          // the target's (or the error's) JSON
  std::string error;  // no answer: why
};

struct Expected {
  int status = 200;
  std::string layer;   // empty for allowed
  std::string reason;  // "allowed" for 2xx
};

std::string text(const Expected& e) {
  return std::to_string(e.status) + " " + (e.layer.empty() ? e.reason : e.layer + "/" + e.reason);
}
std::string text(const Observed& o) {
  if (o.status == 0) return "no answer (" + o.error + ")";
  return std::to_string(o.status) + " " + (o.layer.empty() ? o.reason : o.layer + "/" + o.reason);
}
bool matches(const Observed& o, const Expected& e) {
  return o.status == e.status && o.reason == e.reason && o.layer == e.layer;
}

class Matrix;

struct Case {
  std::string id;
  std::string caller;
  std::string host;  // the Host the caller's app asks its sidecar for
  std::string method = "GET";
  std::string path = "/budget/read";
  Expected expected;
  std::string setup;                                      // what the admin does first, for the table
  std::function<void(Matrix&)> before;                    // that admin change
  std::function<Observed(Matrix&)> observe;               // instead of a call through the caller's app
  std::function<std::string(Matrix&, const json&)> check; // more about an allowed answer: "" or why not
};

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw CliFailure("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void writePrivateFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::trunc);
  if (!out) throw CliFailure("cannot write " + path);
  ::chmod(path.c_str(), 0600);
  out << content;
}

std::string jsonText(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

bool listContains(const json& list, const std::string& value) {
  if (!list.is_array()) return false;
  for (const auto& v : list) {
    if (v.is_string() && v.get<std::string>() == value) return true;
  }
  return false;
}

// An HTTPS exchange whose server is verified against a CA file with the RFC 6125 host
// check: the token service and the OIDC stand-in have Web PKI certificates.
struct HttpsAnswer {
  int status = 0;
  std::string body;
  std::string error;
};

HttpsAnswer https(const std::string& url_text, const std::string& ca_file, const std::string& method,
                  const std::string& form, const std::vector<std::pair<std::string, std::string>>& headers) {
  auto url = token::parseFetchUrl(url_text);
  if (!url) return {0, "", url.error().message};
  asio::ssl::context tls(asio::ssl::context::tls_client);
  net::hardenTls(tls.native_handle());
  boost::system::error_code ec;
  tls.load_verify_file(ca_file, ec);
  if (ec) return {0, "", "cannot load " + ca_file + ": " + ec.message()};
  tls.set_verify_mode(asio::ssl::verify_peer);
  token::HttpFetchRequest r;
  r.url = &*url;
  r.method = method;
  r.tls = &tls;
  r.headers = headers;
  r.timeout = std::chrono::seconds(10);
  if (!form.empty()) {
    r.body = form;
    r.content_type = "application/x-www-form-urlencoded";
  }
  asio::io_context ioc;
  auto fut = asio::co_spawn(ioc, token::httpFetch(r), asio::use_future);
  ioc.run();
  auto res = fut.get();
  if (!res.ok) return {0, "", res.error};
  return {res.status, res.body, ""};
}

class Matrix {
 public:
  Matrix(json mesh, std::string run_dir) : mesh_(std::move(mesh)), run_dir_(std::move(run_dir)) {}

  const json& agent(const std::string& name) const {
    const auto& agents = mesh_["agents"];
    if (!agents.contains(name)) throw CliFailure("the mesh has no agent " + name);
    return agents[name];
  }
  std::string spiffeId(const std::string& name) const { return jsonText(agent(name), "spiffe_id"); }
  static std::uint16_t portOf(const std::string& url) {
    return static_cast<std::uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
  }

  // The matrix's admin identity: an X509-SVID from the mesh's Workload API socket.
  void connectAdmin() {
    const auto socket = jsonText(mesh_["control_plane"], "admin_socket");
    auto address = workload::parseEndpointAddress("unix://" + socket);
    if (!address) throw CliFailure("admin socket " + socket + ": " + address.error().message);
    workload::WorkloadClient client(*address);
    auto ctx = client.fetchX509Context();
    if (!ctx) throw CliFailure("fetching the matrix's X509-SVID from " + socket + ": " + ctx.error().message);
    cred_dir_ = run_dir_ + "/matrix";
    fs::create_directories(cred_dir_);
    fs::permissions(cred_dir_, fs::perms::owner_all);
    writePrivateFile(cred_dir_ + "/svid.pem", ctx->defaultSvid().chainPem());
    writePrivateFile(cred_dir_ + "/svid.key", ctx->defaultSvid().keyPem());
    std::string bundle;
    const auto home = mesh_["home_trust_domain"].get<std::string>();
    for (const auto& [td, certs] : ctx->bundles) {
      if (td != home && td != "spiffe://" + home) continue;
      for (const auto& c : certs) {
        bundle += issuer::certificatePem(c.get());
      }
      break;
    }
    writePrivateFile(cred_dir_ + "/bundle.pem", bundle);
    ConnectionOptions o;
    o.server = jsonText(mesh_["control_plane"], "url");
    o.server_id = jsonText(mesh_["control_plane"], "server_id");
    o.cert = cred_dir_ + "/svid.pem";
    o.key = cred_dir_ + "/svid.key";
    o.bundle = cred_dir_ + "/bundle.pem";
    api_ = ApiClient::connect(o);
  }

  json api(const std::string& what, const std::string& method, const std::string& path,
           const std::optional<json>& body = std::nullopt, const ApiClient::Headers& headers = {}) {
    auto res = api_->request(what, method, path, body, headers);
    ApiClient::expectOk(what, res);
    return res.asJson();
  }

  void setRisk(const std::string& name, const std::string& level) {
    api("setting " + name + "'s risk", "PUT", "/api/v1/agents/" + name + "/risk",
        json{{"risk", level}, {"comment", "warden matrix"}});
  }
  void setState(const std::string& name, const std::string& state) {
    api("setting " + name + "'s state", "PUT", "/api/v1/agents/" + name + "/state",
        json{{"state", state}, {"comment", "warden matrix"}});
  }
  void setTags(const std::string& name, const json& tags) {
    const auto a = api("reading " + name, "GET", "/api/v1/agents/" + name);
    api("setting " + name + "'s tags", "PUT", "/api/v1/agents/" + name + "/tags",
        json{{"tags", tags}, {"comment", "warden matrix"}}, {{"If-Match", jsonText(a, "etag")}});
  }
  json policy(const std::string& target) {
    return api("reading " + target + "'s policy", "GET", "/api/v1/policies/" + target);
  }
  void putPolicy(const std::string& target, const std::string& content, const std::string& comment) {
    const auto live = policy(target);
    if (jsonText(live, "content") == content) return;
    api("applying " + target + "'s policy", "PUT", "/api/v1/policies/" + target,
        json{{"content", content}, {"comment", comment}}, {{"If-Match", jsonText(live, "etag")}});
  }
  // The live policy with `edit` applied to its YAML (structure, not text, so a policy
  // an operator reformatted still works).
  void editPolicy(const std::string& target, const std::function<void(YAML::Node&)>& edit, const std::string& comment) {
    auto node = YAML::Load(jsonText(policy(target), "content"));
    edit(node);
    YAML::Emitter e;
    e << node;
    putPolicy(target, std::string(e.c_str()) + "\n", comment);
  }

  // Remembers what the matrix may change, so that exit restores it.
  void snapshot() {
    for (const auto& target : {"budget-backend"}) original_policies_[target] = jsonText(policy(target), "content");
    for (const auto& name : {"budget-report", "budget-approval", "github-budget-reader", "demo-agent"}) {
      const auto a = api("reading " + std::string(name), "GET", std::string("/api/v1/agents/") + name);
      original_agents_[name] = a;
    }
  }
  void restoreSnapshot() {
    for (const auto& [target, content] : original_policies_) putPolicy(target, content, "warden matrix: restore");
    for (const auto& [name, a] : original_agents_) {
      const auto now = api("reading " + name, "GET", "/api/v1/agents/" + name);
      if (now.value("state", "") != a.value("state", "")) setState(name, a.value("state", "enabled"));
      if (now.value("risk", "") != a.value("risk", "")) setRisk(name, a.value("risk", "low"));
      if (now.value("tags", json::object()) != a.value("tags", json::object())) setTags(name, a.value("tags", json::object()));
    }
  }

  // Through the caller's sample app, which calls its own sidecar's egress.
  Observed callViaApp(const std::string& caller, const std::string& host, const std::string& method,
                      const std::string& path) const {
    const auto& a = agent(caller);
    const auto target = "/call?target=" + urlEncode(host) + "&method=" + method + "&path=" + urlEncode(path);
    const auto res = demo::localHttp(portOf(jsonText(a, "app_url")), "GET", target);
    Observed o;
    if (res.status != 200) {
      o.error = res.status == 0 ? res.error : "the app answered " + std::to_string(res.status) + ": " + res.body;
      return o;
    }
    const auto j = json::parse(res.body, nullptr, false);
    if (!j.is_object() || !j.contains("status") || !j["status"].is_number_integer()) {
      o.error = "unexpected answer from " + caller + "'s app: " + res.body.substr(0, 200);
      return o;
    }
    o.status = j["status"].get<int>();
    o.body = j.value("response", json());
    if (o.status == 0) o.error = j.value("error", std::string("no answer"));
    return classify(o);
  }

  // Straight to a caller's egress listener, as that workload's own code would (the
  // external CI job holds the token it got by RFC 8693 exchange).
  Observed callViaEgress(const std::string& caller, const std::string& host, const std::string& path,
                         const std::string& bearer) const {
    const auto res = demo::localHttp(portOf(jsonText(agent(caller), "egress_url")), "GET", path,
                                     {{"Authorization", "Bearer " + bearer}}, "", std::chrono::seconds(10), host);
    Observed o;
    o.status = res.status;
    o.error = res.error;
    o.body = json::parse(res.body, nullptr, false);
    return classify(o);
  }

  static Observed classify(Observed o) {
    if (o.status >= 200 && o.status < 300) {
      o.reason = "allowed";
    } else if (o.status != 0) {
      o.reason = jsonText(o.body, "error");
      o.layer = jsonText(o.body, "layer");
      if (o.reason.empty()) o.reason = "?";
    }
    return o;
  }

  // A token of the stand-in issuer, fetched the way a GitHub Actions job does.
  std::string externalOidcToken() const {
    const auto& oidc = mesh_["external_oidc"];
    auto request_token = readFile(jsonText(oidc, "request_token_file"));
    while (!request_token.empty() && std::isspace(static_cast<unsigned char>(request_token.back()))) request_token.pop_back();
    const auto res = https(jsonText(oidc, "issuer") + "/token?audience=" + urlEncode("api://AzureADTokenExchange"),
                           jsonText(oidc, "ca_file"), "GET", "", {{"Authorization", "Bearer " + request_token}});
    const auto j = json::parse(res.body, nullptr, false);
    if (res.status != 200 || jsonText(j, "value").empty()) {
      throw CliFailure("getting a token from the OIDC stand-in: " + (res.error.empty() ? "HTTP " + std::to_string(res.status) : res.error));
    }
    return jsonText(j, "value");
  }

  // RFC 8693 token exchange at the token service; the answer as an Observed (reason: the
  // OAuth error, or the governance reason its description starts with).
  Observed exchange(const std::string& subject_token, std::string* access_token, int* expires_in) const {
    const auto& ts = mesh_["token_service"];
    const std::string form = "grant_type=" + urlEncode("urn:ietf:params:oauth:grant-type:token-exchange") +
                             "&subject_token=" + urlEncode(subject_token) + "&subject_token_type=" +
                             urlEncode("urn:ietf:params:oauth:token-type:jwt") + "&audience=" +
                             urlEncode("api://budget-backend");
    const auto res = https(jsonText(ts, "issuer") + "/token", jsonText(ts, "ca_file"), "POST", form, {});
    Observed o;
    o.status = res.status;
    o.error = res.error;
    o.body = json::parse(res.body, nullptr, false);
    if (o.status == 200) {
      o.reason = "allowed";
      if (access_token) *access_token = jsonText(o.body, "access_token");
      if (expires_in) *expires_in = o.body.value("expires_in", 0);
    } else if (o.status != 0) {
      o.layer = "token-service";
      const auto description = jsonText(o.body, "error_description");
      const auto colon = description.find(':');
      o.reason = jsonText(o.body, "error") + (colon == std::string::npos ? "" : "/" + description.substr(0, colon));
    }
    return o;
  }

  bool waitForMesh(std::chrono::seconds limit) const {
    const auto deadline = Clock::now() + limit;
    for (;;) {
      bool all = true;
      std::string waiting;
      std::vector<std::string> domains;
      for (const auto& td : mesh_.value("trust_domains", json::array())) domains.push_back(td.get<std::string>());
      for (const auto& [name, a] : mesh_["agents"].items()) {
        const auto status = demo::sidecarStatus(portOf(jsonText(a, "admin_url")), domains);
        if (!status.ready) {
          all = false;
          waiting = name + "'s sidecar is not ready (waiting for " + status.waiting_for + ")";
        }
      }
      if (all) return true;
      if (Clock::now() > deadline) {
        std::cerr << "warden matrix: " << waiting << "\n";
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  }

  const json& mesh() const { return mesh_; }

  // The external job's token, obtained at the start so that it has expired by the end.
  std::string early_token;
  Clock::time_point early_token_expiry;

 private:
  json mesh_;
  std::string run_dir_;
  std::string cred_dir_;
  std::unique_ptr<ApiClient> api_;
  std::map<std::string, std::string> original_policies_;
  std::map<std::string, json> original_agents_;
};

Expected allowed() { return {200, "", "allowed"}; }
Expected denied(int status, const std::string& layer, const std::string& reason) { return {status, layer, reason}; }

// The verified caller and token facts the backend echoes (what the app received from
// its sidecar, never from the caller).
std::function<std::string(Matrix&, const json&)> identityIs(const std::string& agent) {
  return [agent](Matrix& m, const json& body) -> std::string {
    const auto want = m.spiffeId(agent);
    const auto got = jsonText(body.value("identity", json::object()), "spiffe_id");
    return got == want ? "" : "identity.spiffe_id is \"" + got + "\", expected " + want;
  };
}
std::function<std::string(Matrix&, const json&)> tokenHas(const std::string& agent, const std::string& role) {
  return [agent, role](Matrix& m, const json& body) -> std::string {
    const auto token = body.value("token", json::object());
    if (!token.value("present", false)) return "the app saw no verified token";
    if (jsonText(token, "subject") != m.spiffeId(agent)) return "token.subject is " + jsonText(token, "subject");
    if (!listContains(token.value("audience", json::array()), "api://budget-backend")) return "token.audience lacks api://budget-backend";
    if (!listContains(token.value("roles", json::array()), role)) return "token.roles lacks " + role;
    return "";
  };
}

std::vector<Case> cases() {
  const std::string backend = "budget-backend";
  auto risk = [](const std::string& agent, const std::string& level) {
    return [agent, level](Matrix& m) { m.setRisk(agent, level); };
  };
  std::vector<Case> c;
  // --- The prototype's live matrix (scripts/test_agents.py), exact expectations.
  c.push_back({"T-1", "budget-report", backend, "GET", "/budget/read", allowed(), "", {}, {}, {}});
  c.push_back({"T-2", "employee-menus", backend, "GET", "/budget/read", denied(502, "transport", "handshake_refused"),
               "", {}, {}, {}});
  c.push_back({"T-3", "budget-approval", backend, "GET", "/budget/read", allowed(), "", {}, {}, {}});
  c.push_back({"S1", "budget-report", backend, "GET", "/budget/read", allowed(), "", {}, {}, {}});
  c.push_back({"S2", "budget-report", backend, "POST", "/budget/submit", denied(403, "rbac", "rule_denied"), "", {}, {}, {}});
  c.push_back({"S3", "employee-menus", backend, "GET", "/budget/read", denied(502, "transport", "handshake_refused"),
               "", {}, {}, {}});
  c.push_back({"S4", "budget-approval", backend, "POST", "/budget/submit", allowed(), "", {}, {}, {}});
  c.push_back({"S5", "budget-approval", backend, "GET", "/budget/read", allowed(), "", {}, {}, {}});
  c.push_back({"ID-1", "budget-report", backend, "GET", "/budget/read", allowed(), "", {}, {}, identityIs("budget-report")});
  c.push_back({"ID-2", "budget-approval", backend, "GET", "/budget/read", allowed(), "", {}, {}, identityIs("budget-approval")});
  c.push_back({"OA-1", "budget-report", backend, "GET", "/budget/read", allowed(), "", {}, {},
               tokenHas("budget-report", "Budget.Read")});
  c.push_back({"OA-2", "budget-approval", backend, "POST", "/budget/submit", allowed(), "", {}, {},
               tokenHas("budget-approval", "Budget.Submit")});
  c.push_back({"S2S-1", "budget-report", backend, "GET", "/budget/read", allowed(), "", {}, {}, {}});
  c.push_back({"S2S-2", "budget-report", backend, "POST", "/budget/submit", denied(403, "rbac", "rule_denied"), "", {}, {}, {}});
  c.push_back({"S2S-3", "budget-approval", backend, "POST", "/budget/submit", allowed(), "", {}, {}, {}});
  c.push_back({"S2S-4", "budget-approval", backend, "GET", "/budget/read", allowed(), "", {}, {}, {}});
  // The prototype's direct A2A calls are ordinary governed sidecar-to-sidecar calls.
  c.push_back({"A2A-1", "budget-report", "budget-approval", "GET", "/a2a/status", allowed(), "", {}, {}, {}});
  c.push_back({"A2A-2", "employee-menus", "budget-approval", "GET", "/a2a/status", denied(403, "tags", "tag_mismatch"),
               "", {}, {}, {}});
  c.push_back({"A2A-3", "budget-report", "employee-menus", "GET", "/a2a/status", denied(403, "tags", "tag_mismatch"),
               "", {}, {}, {}});
  c.push_back({"CA-1", "budget-report", backend, "GET", "/budget/read", denied(403, "risk", "risk_too_high"),
               "risk budget-report high", risk("budget-report", "high"), {}, {}});
  c.push_back({"CA-2", "budget-report", backend, "GET", "/budget/read", allowed(), "risk budget-report low",
               risk("budget-report", "low"), {}, {}});
  c.push_back({"CA-3", "budget-approval", backend, "POST", "/budget/submit", denied(403, "risk", "risk_too_high"),
               "risk budget-approval high", risk("budget-approval", "high"), {}, {}});
  c.push_back({"CA-4", "budget-approval", backend, "POST", "/budget/submit", allowed(), "risk budget-approval low",
               risk("budget-approval", "low"), {}, {}});

  // --- What the prototype only designed.
  const auto approval_id = std::string("spiffe://example.org/budget-approval");
  c.push_back({"AL-1", "budget-approval", backend, "GET", "/budget/read", denied(502, "transport", "handshake_refused"),
               "policy budget-backend: budget-approval removed from allow",
               [approval_id](Matrix& m) {
                 m.editPolicy("budget-backend", [&](YAML::Node& p) {
                   YAML::Node kept(YAML::NodeType::Sequence);
                   for (const auto& e : p["allow"]) {
                     if (!(e["id"] && e["id"].as<std::string>() == approval_id)) kept.push_back(e);
                   }
                   p["allow"] = kept;
                 }, "warden matrix: remove budget-approval from the allow-list");
               },
               {}, {}});
  c.push_back({"AL-2", "budget-approval", backend, "GET", "/budget/read", allowed(), "policy budget-backend: restored",
               [](Matrix& m) { m.restoreSnapshot(); }, {}, {}});
  c.push_back({"DIS-1", "budget-report", backend, "GET", "/budget/read", denied(403, "risk", "agent_disabled"),
               "state budget-report disabled", [](Matrix& m) { m.setState("budget-report", "disabled"); }, {}, {}});
  c.push_back({"DIS-2", "budget-report", backend, "GET", "/budget/read", allowed(), "state budget-report enabled",
               [](Matrix& m) { m.setState("budget-report", "enabled"); }, {}, {}});
  c.push_back({"TAG-1", "budget-report", backend, "GET", "/budget/read", denied(403, "tags", "tag_mismatch"),
               "tags budget-report department=marketing",
               [](Matrix& m) { m.setTags("budget-report", json{{"department", "marketing"}}); }, {}, {}});
  c.push_back({"TAG-2", "budget-report", backend, "GET", "/budget/read", allowed(), "tags budget-report department=finance",
               [](Matrix& m) { m.setTags("budget-report", json{{"department", "finance"}}); }, {}, {}});
  c.push_back({"TOK-1", "budget-report", "budget-backend.no-token", "GET", "/budget/read",
               denied(401, "token", "token_missing"), "", {}, {}, {}});
  c.push_back({"TOK-2", "budget-report", "budget-backend.wrong-audience", "GET", "/budget/read",
               denied(401, "token", "wrong_audience"), "", {}, {}, {}});
  c.push_back({"DEL-1", "budget-approval", backend, "DELETE", "/budget/admin", denied(403, "rbac", "rule_denied"), "", {}, {}, {}});
  c.push_back({"GCP-1", "google-budget-reader", backend, "GET", "/budget/read", allowed(), "", {}, {},
               identityIs("google-budget-reader")});
  c.push_back({"GCP-2", "google-budget-reader", backend, "POST", "/budget/submit", denied(403, "rbac", "rule_denied"),
               "", {}, {}, {}});
  c.push_back({"GHA-1", "github-budget-reader", backend, "GET", "/budget/read", allowed(), "", {}, {},
               tokenHas("github-budget-reader", "Budget.Read")});
  c.push_back({"GHA-2", "github-budget-reader", backend, "POST", "/budget/submit", denied(403, "rbac", "rule_denied"),
               "", {}, {}, {}});
  c.push_back({"GHA-3", "github-budget-reader", "budget-backend.raw", "GET", "/budget/read", allowed(),
               "the job exchanges its own OIDC token (RFC 8693) and sends it", {},
               [](Matrix& m) { return m.callViaEgress("github-budget-reader", "budget-backend.raw", "/budget/read", m.early_token); },
               {}});
  c.push_back({"RISK-T1", "github-budget-reader", "token service", "POST", "/token", denied(403, "token-service", "access_denied/risk_too_high"),
               "risk github-budget-reader high; the job asks for a token", risk("github-budget-reader", "high"),
               [](Matrix& m) { return m.exchange(m.externalOidcToken(), nullptr, nullptr); }, {}});
  c.push_back({"RISK-T2", "github-budget-reader", "token service", "POST", "/token", allowed(),
               "risk github-budget-reader low", risk("github-budget-reader", "low"),
               [](Matrix& m) { return m.exchange(m.externalOidcToken(), nullptr, nullptr); }, {}});
  c.push_back({"ISO-1", "budget-report", backend, "GET", "/budget/read", denied(502, "transport", "handshake_refused"),
               "agents isolate budget-report",
               [](Matrix& m) { m.api("isolating budget-report", "POST", "/api/v1/agents/budget-report/isolate", json{{"comment", "warden matrix"}}); },
               {}, {}});
  c.push_back({"ISO-2", "budget-report", backend, "GET", "/budget/read", allowed(), "agents restore-access budget-report",
               [](Matrix& m) {
                 m.api("restoring budget-report", "POST", "/api/v1/agents/budget-report/restore-access",
                       json{{"risk", "low"}, {"comment", "warden matrix"}});
               },
               {}, {}});
  c.push_back({"ONB-1", "demo-agent", backend, "GET", "/budget/read", denied(502, "transport", "handshake_refused"), "", {}, {}, {}});
  c.push_back({"ONB-2", "demo-agent", backend, "GET", "/budget/read", allowed(),
               "policy budget-backend: demo-agent allowed to read",
               [](Matrix& m) {
                 const auto id = m.spiffeId("demo-agent");
                 m.editPolicy("budget-backend", [&](YAML::Node& p) {
                   YAML::Node allow;
                   allow["id"] = id;
                   p["allow"].push_back(allow);
                   YAML::Node caller = YAML::Load("{rules: [{id: demo-agent-read, methods: [GET], path: {exact: /budget/read}, "
                                                  "action: allow, roles: [Budget.Read]}, {id: demo-agent-default-deny, "
                                                  "methods: ['*'], path: {prefix: /}, action: deny}]}");
                   caller["match"]["id"] = id;
                   p["callers"].push_back(caller);
                 }, "warden matrix: onboard demo-agent");
               },
               {}, {}});
  c.push_back({"ONB-3", "demo-agent", backend, "GET", "/budget/read", denied(502, "transport", "handshake_refused"),
               "policy budget-backend: restored", [](Matrix& m) { m.restoreSnapshot(); }, {}, {}});
  c.push_back({"TOK-3", "github-budget-reader", "budget-backend.raw", "GET", "/budget/read",
               denied(401, "token", "token_expired"), "the job's token from GHA-3, after it expired", {},
               [](Matrix& m) {
                 const auto now = Clock::now();
                 if (m.early_token_expiry > now) std::this_thread::sleep_until(m.early_token_expiry);
                 return m.callViaEgress("github-budget-reader", "budget-backend.raw", "/budget/read", m.early_token);
               },
               {}});
  return c;
}

std::string cell(std::string s, std::size_t width) {
  if (s.size() >= width) s = s.substr(0, width - 2) + "~";
  s.resize(width, ' ');
  return s;
}

json loadMesh(const MatrixOptions& o, std::string& run_dir) {
  run_dir = o.run_dir;
  if (run_dir.empty()) {
    std::string mesh_file = o.mesh_file.empty() ? "examples/budget/mesh.yaml" : o.mesh_file;
    auto config = demo::loadMeshConfig(mesh_file);
    if (!config) throw CliFailure(config.error().message, kExitUsage);
    run_dir = demo::defaultRunDir(config->name);
  }
  const auto path = run_dir + "/mesh.json";
  std::ifstream in(path);
  if (!in) throw CliFailure("no running mesh found (" + path + " is missing): start one with `warden up`");
  auto j = json::parse(in, nullptr, false);
  if (!j.is_object() || !j.contains("agents")) throw CliFailure(path + ": not a mesh description");
  return j;
}

}  // namespace

int runMatrix(const MatrixOptions& o) {
  std::string run_dir;
  Matrix m(loadMesh(o, run_dir), run_dir);
  if (!m.waitForMesh(std::chrono::seconds(60))) return kExitFailure;
  m.connectAdmin();
  m.snapshot();
  m.restoreSnapshot();  // a run that was interrupted may have left changes behind
  {
    int expires_in = 0;
    const auto first = m.exchange(m.externalOidcToken(), &m.early_token, &expires_in);
    if (first.status != 200) throw CliFailure("the external job's token exchange failed: " + text(first) + " " + first.body.dump());
    // Expired for the target: past `exp` plus the target's clock skew (5 s in the demo policy).
    m.early_token_expiry = Clock::now() + std::chrono::seconds(expires_in + 6);
  }
  const auto all = cases();
  // Columns as wide as the widest expectation, so that a passing row is never cut.
  std::size_t w_id = 5, w_caller = 7, w_target = 7, w_request = 8, w_expected = 9;
  for (const auto& k : all) {
    w_id = std::max(w_id, k.id.size() + 1);
    w_caller = std::max(w_caller, k.caller.size() + 2);
    w_target = std::max(w_target, k.host.size() + 2);
    w_request = std::max(w_request, k.method.size() + k.path.size() + 3);
    w_expected = std::max(w_expected, text(k.expected).size() + 2);
  }
  if (!o.json) {
    std::cout << cell("CASE", w_id) << cell("CALLER", w_caller) << cell("TARGET", w_target) << cell("REQUEST", w_request)
              << cell("EXPECTED", w_expected) << cell("ACTUAL", w_expected) << "RESULT\n";
  }
  int failed = 0;
  for (const auto& k : all) {
    Observed got;
    std::string problem;
    try {
      if (k.before) k.before(m);
      const auto deadline = Clock::now() + (k.before ? kPropagation : std::chrono::seconds(0));
      for (;;) {
        got = k.observe ? k.observe(m) : m.callViaApp(k.caller, k.host, k.method, k.path);
        if (matches(got, k.expected) || Clock::now() >= deadline) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
      if (!matches(got, k.expected)) {
        problem = "got " + text(got);
      } else if (k.check) {
        problem = k.check(m, got.body);
      }
    } catch (const CliFailure& e) {
      problem = e.what();
    }
    const bool pass = problem.empty();
    if (!pass) ++failed;
    if (o.json) {
      std::cout << json{{"case", k.id}, {"caller", k.caller}, {"target", k.host}, {"method", k.method}, {"path", k.path},
                        {"setup", k.setup}, {"expected", text(k.expected)}, {"actual", text(got)},
                        {"result", pass ? "PASS" : "FAIL"}, {"problem", problem}}
                       .dump()
                << std::endl;
      continue;
    }
    if (!k.setup.empty()) std::cout << cell("", w_id) << "(" << k.setup << ")\n";
    std::cout << cell(k.id, w_id) << cell(k.caller, w_caller) << cell(k.host, w_target)
              << cell(k.method + " " + k.path, w_request) << cell(text(k.expected), w_expected)
              << cell(text(got), w_expected) << (pass ? "PASS" : "FAIL") << std::endl;
    if (!pass) std::cout << cell("", w_id) << "  " << problem << std::endl;
  }
  try {
    m.restoreSnapshot();
  } catch (const CliFailure& e) {
    std::cerr << "warden matrix: restoring the mesh: " << e.what() << "\n";
    ++failed;
  }
  if (!o.json) {
    std::cout << "\n" << (all.size() - static_cast<std::size_t>(failed)) << "/" << all.size() << " cases passed"
              << (failed == 0 ? "" : "; " + std::to_string(failed) + " FAILED") << std::endl;
  }
  return failed == 0 ? 0 : kExitFailure;
}

}  // namespace warden::cli
