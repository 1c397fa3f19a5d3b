#include "proxy/sidecar.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/steady_timer.hpp>
#include <condition_variable>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "proxy/admin_server.h"
#include "proxy/egress_token.h"
#include "proxy/file_digest.h"
#include "proxy/http_exchange.h"
#include "proxy/runtime.h"
#include "proxy/status_report.h"
#include "proxy/token_layer.h"
#include "audit/audit_shipper.h"
#include "proxy/control_plane_client.h"
#include "proxy/worker.h"
#include "workload/workload_client.h"

namespace warden::proxy {

using nlohmann::json;

struct Sidecar::Impl {
  SharedState shared;
  std::unique_ptr<audit::AuditSink> audit;
  SidecarMetrics metrics;
  std::vector<std::unique_ptr<Worker>> workers;

  asio::io_context control{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> control_work;
  std::thread control_thread;
  std::optional<asio::ip::tcp::acceptor> admin_acceptor;
  Endpoint admin_bound;
  AdminHandlers admin_handlers;
  std::optional<asio::steady_timer> watch_timer;
  std::unique_ptr<workload::X509Watcher> svid_watcher;  // Workload API mode only
  TokenLayer token_layer;

  std::mutex reload_mutex;  // serializes reloads from the watcher, SIGHUP and tests
  std::shared_ptr<const Runtime> current;  // guarded by reload_mutex
  std::string policy_digest;               // guarded by reload_mutex
  std::string identity_digest;             // guarded by reload_mutex
  std::string last_policy_error, last_identity_error;  // guarded by reload_mutex
  double policy_loaded_at = 0;                          // guarded by reload_mutex
  std::int64_t identity_loaded_at = 0;  // guarded by reload_mutex: SVID and bundles in force
  const std::int64_t started_at = static_cast<std::int64_t>(std::time(nullptr));
  // Egress access tokens (null without a route `token:` block). Declared after `current`:
  // its thread reads the runtime until it is destroyed.
  std::unique_ptr<EgressTokens> egress_tokens;
  // Control-plane mode: the view fetcher and the audit shipper (declared after `audit` and
  // `current`, so they stop before what they use is destroyed).
  std::unique_ptr<ControlPlaneClient> control_plane;
  std::unique_ptr<audit::AuditShipper> audit_shipper;

  std::mutex stop_mutex;
  std::condition_variable stop_cv;
  bool started = false;  // guarded by stop_mutex
  bool stopped = false;  // guarded by stop_mutex: stop() has begun
  bool stop_done = false;  // guarded by stop_mutex: stop() has finished

  std::shared_ptr<const Runtime> runtime() {
    std::lock_guard lock(reload_mutex);
    return current;
  }

  void publish(std::shared_ptr<const Runtime> next) {
    // Caller holds reload_mutex.
    const bool new_identity = !current || current->tls != next->tls;
    if (new_identity && next->tls) identity_loaded_at = static_cast<std::int64_t>(nowSeconds());
    current = next;
    for (auto& w : workers) w->postRuntime(next);
    if (new_identity && egress_tokens) egress_tokens->identityChanged();
  }

  std::string policyPath() const {
    return shared.config.ingress ? shared.config.ingress->policy_path : std::string();
  }
  // The files that make up the target's rules in standalone mode: the policy and,
  // optionally, the governance document; reloaded together.
  std::vector<std::string> ruleFiles() const {
    std::vector<std::string> files{policyPath()};
    if (shared.config.ingress && !shared.config.ingress->governance_path.empty()) {
      files.push_back(shared.config.ingress->governance_path);
    }
    return files;
  }
  Result<std::shared_ptr<const governance::GovernanceSnapshot>> loadGovernance() const {
    if (!shared.config.ingress || shared.config.ingress->governance_path.empty()) {
      return std::shared_ptr<const governance::GovernanceSnapshot>();
    }
    return governance::loadGovernanceFile(shared.config.ingress->governance_path);
  }

  std::string policyDir() const {
    const auto dir = std::filesystem::path(policyPath()).parent_path().string();
    return dir.empty() ? "." : dir;
  }

  Status reloadPolicy(bool force) {
    if (!shared.config.ingress || shared.config.control_plane) return {};
    std::lock_guard lock(reload_mutex);
    const std::string digest = digestFiles(ruleFiles());
    if (!force && digest == policy_digest) return {};
    auto compiled = policy::loadPolicyFile(policyPath());
    auto gov = loadGovernance();
    if (compiled && !gov) compiled = gov.error();
    if (!compiled) {
      // Keep enforcing the old policy: an operator's typo must not open or close the mesh.
      if (last_policy_error != compiled.error().message) {
        spdlog::error("policy reload rejected, keeping version \"{}\": {}",
                      current->policy->version(), compiled.error().message);
      }
      last_policy_error = compiled.error().message;
      policy_digest = digest;  // do not re-log the same broken file every poll
      metrics.recordReload("policy", false);
      return Error{compiled.error().message};
    }
    auto verifier = token_layer.verifierFor((*compiled)->config(), policyDir());
    if (!verifier) {
      spdlog::error("policy reload rejected, keeping version \"{}\": {}",
                    current->policy->version(), verifier.error().message);
      last_policy_error = verifier.error().message;
      policy_digest = digest;
      metrics.recordReload("policy", false);
      return Error{verifier.error().message};
    }
    auto next = std::make_shared<Runtime>(*current);
    next->policy = *compiled;
    next->token_verifier = *verifier;
    next->governance = *gov;
    policy_digest = digest;
    last_policy_error.clear();
    policy_loaded_at = nowSeconds();
    metrics.setPolicyInfo(next->policy->version(), policy_loaded_at);
    metrics.recordReload("policy", true);
    spdlog::info("policy version \"{}\" in force", next->policy->version());
    publish(std::move(next));
    return {};
  }

  // A new view from the control plane (its thread): the policy and governance it carries
  // replace the ones in force, atomically, like a reload of the files in standalone mode.
  Status applyView(const ControlPlaneView& view) {
    if (!shared.config.ingress) return {};
    std::lock_guard lock(reload_mutex);
    auto verifier = token_layer.verifierFor(view.policy->config(), shared.config.control_plane->state_dir);
    if (!verifier) {
      last_policy_error = verifier.error().message;
      metrics.recordReload("policy", false);
      return Error{verifier.error().message};
    }
    auto next = std::make_shared<Runtime>(*current);
    next->policy = view.policy;
    next->token_verifier = *verifier;
    next->governance = view.governance;
    next->revocations = view.revocations;
    last_policy_error.clear();
    policy_loaded_at = nowSeconds();
    shared.governance_confirmed_unix.store(view.received_unix, std::memory_order_relaxed);
    metrics.setPolicyInfo(next->policy->version(), policy_loaded_at);
    metrics.setGovernanceInfo(static_cast<double>(view.received_unix));
    metrics.recordReload("policy", true);
    spdlog::info("control plane view {} in force: policy \"{}\", governance \"{}\"",
                 view.generation, next->policy->version(), next->governance->version());
    publish(std::move(next));
    return {};
  }

  bool usesWorkloadApi() const { return !shared.config.identity.workload_api.empty(); }

  // A new X.509 context from the Workload API: every message is the complete state
  // (spec §4.3), so the TLS contexts are rebuilt from it alone. New handshakes use the new
  // SVID; open connections keep the contexts they were made with.
  void applyX509Context(const workload::X509Context& x509) {
    const auto& svid = x509.defaultSvid();
    std::map<std::string, std::string> pem_by_td;
    std::string fingerprint = svid.chainPem();
    for (const auto& [td, certs] : x509.bundles) {
      identity::SpiffeBundle b;
      b.trust_domain = td;
      b.x509_authorities = certs;
      pem_by_td[td] = b.x509Pem();
      fingerprint += td + pem_by_td[td];
    }
    std::lock_guard lock(reload_mutex);
    auto bundles = identity::TrustBundleSet::fromPem(pem_by_td);
    Result<std::shared_ptr<const TlsContexts>> tls =
        bundles ? buildTlsContextsFromPem({svid.chainPem(), svid.keyPem(), *bundles,
                                           "Workload API SVID " + svid.spiffe_id,
                                           "Workload API key", digestText(fingerprint)})
                : Result<std::shared_ptr<const TlsContexts>>(bundles.error());
    if (!tls) {
      spdlog::error("Workload API update rejected, keeping the current SVID: {}",
                    tls.error().message);
      last_identity_error = tls.error().message;
      metrics.recordReload("identity", false);
      return;
    }
    if (current->tls && current->tls->fingerprint == (*tls)->fingerprint) return;
    auto next = std::make_shared<Runtime>(*current);
    next->tls = *tls;
    last_identity_error.clear();
    metrics.recordReload("identity", true);
    metrics.setSvidExpiry(static_cast<double>(next->tls->not_after));
    spdlog::info("identity {} from the Workload API, valid until {} ({} trust domains)",
                 next->tls->own_id.str(), next->tls->not_after, pem_by_td.size());
    publish(std::move(next));
  }

  void onWorkloadApiError(const workload::WatchError& error) {
    std::lock_guard lock(reload_mutex);
    // Keep serving with the last SVID until it expires (readiness then turns false). The
    // client has logged the error already.
    last_identity_error = "Workload API: " + error.message;
  }

  Status reloadIdentity(bool force) {
    if (usesWorkloadApi()) return {};  // pushed by the Workload API, never polled
    std::lock_guard lock(reload_mutex);
    const std::string digest = identityFingerprint(shared.config.identity);
    if (!force && digest == identity_digest) {
      last_identity_error.clear();  // the files are back to what is in force
      return {};
    }
    auto tls = buildTlsContexts(shared.config.identity);
    if (!tls) {
      // A half-written rotation (new cert, old key) is expected to fail once; the next
      // poll sees the completed files.
      if (last_identity_error != tls.error().message) {
        spdlog::error("identity reload rejected, keeping the current SVID: {}",
                      tls.error().message);
      }
      last_identity_error = tls.error().message;
      metrics.recordReload("identity", false);
      return Error{tls.error().message};
    }
    auto next = std::make_shared<Runtime>(*current);
    next->tls = *tls;
    identity_digest = digest;
    last_identity_error.clear();
    metrics.recordReload("identity", true);
    metrics.setSvidExpiry(static_cast<double>(next->tls->not_after));
    spdlog::info("identity {} loaded, valid until {}", next->tls->own_id.str(),
                 next->tls->not_after);
    publish(std::move(next));
    return {};
  }

  static double nowSeconds() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  void scheduleWatch() {
    watch_timer->expires_after(std::chrono::milliseconds(shared.config.identity.poll_interval_ms));
    watch_timer->async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      (void)reloadIdentity(false);
      (void)reloadPolicy(false);
      if (control_plane) {
        shared.governance_confirmed_unix.store(control_plane->confirmedAt(), std::memory_order_relaxed);
        metrics.setGovernanceInfo(static_cast<double>(control_plane->confirmedAt()));
      }
      scheduleWatch();
    });
  }

  // The audit sink's counters live in the sink (it must not depend on metrics), so they
  // are appended here in the same exposition format.
  std::string renderMetrics() {
    std::string out = metrics.render();
    out += "# HELP warden_audit_events_written_total Audit events written by the audit sink\n"
           "# TYPE warden_audit_events_written_total counter\n"
           "warden_audit_events_written_total " + std::to_string(audit->written()) + "\n"
           "# HELP warden_audit_events_dropped_total Audit events dropped because the queue was full\n"
           "# TYPE warden_audit_events_dropped_total counter\n"
           "warden_audit_events_dropped_total " + std::to_string(audit->dropped()) + "\n";
    appendJwksMetrics(out);
    appendEgressTokenMetrics(out);
    return out;
  }

  // Per-route egress token state (the same facts /readyz shows), for alerting on a route
  // whose token is about to lapse.
  void appendEgressTokenMetrics(std::string& out) {
    if (!egress_tokens) return;
    const auto statuses = egress_tokens->status();
    auto label = [](const std::string& route) {
      std::string v;
      for (char ch : route) {
        if (ch == '\\' || ch == '"') v.push_back('\\');
        if (ch != '\n') v.push_back(ch);
      }
      return "{route=\"" + v + "\"";
    };
    out += "# HELP warden_egress_token_ok Whether the route holds an unexpired access token\n"
           "# TYPE warden_egress_token_ok gauge\n";
    for (const auto& st : statuses) out += "warden_egress_token_ok" + label(st.route) + "} " + (st.ok ? "1\n" : "0\n");
    out += "# HELP warden_egress_token_expiry_timestamp_seconds Expiry of the route's access token\n"
           "# TYPE warden_egress_token_expiry_timestamp_seconds gauge\n";
    for (const auto& st : statuses) {
      out += "warden_egress_token_expiry_timestamp_seconds" + label(st.route) + "} " + std::to_string(st.expires_unix) + "\n";
    }
    out += "# HELP warden_egress_token_fetches_total Token endpoint requests by result\n"
           "# TYPE warden_egress_token_fetches_total counter\n";
    for (const auto& st : statuses) {
      out += "warden_egress_token_fetches_total" + label(st.route) + ",result=\"ok\"} " + std::to_string(st.fetches_ok) + "\n";
      out += "warden_egress_token_fetches_total" + label(st.route) + ",result=\"failed\"} " + std::to_string(st.fetches_failed) + "\n";
    }
  }

  // Per-issuer JWKS state (issue 4: "metrics per issuer"). Like the audit counters, kept in
  // the token module and rendered here in the same exposition format.
  void appendJwksMetrics(std::string& out) {
    const auto statuses = token_layer.status();
    if (statuses.empty()) return;
    auto label = [](const std::string& issuer) {
      std::string v;
      for (char ch : issuer) {
        if (ch == '\\' || ch == '"') v.push_back('\\');
        if (ch == '\n') {
          v += "\\n";
          continue;
        }
        v.push_back(ch);
      }
      return "{issuer=\"" + v + "\"";
    };
    const auto cache = token_layer.cacheStats();
    out += "# HELP warden_token_cache_lookups_total Verified-token cache lookups by result\n"
           "# TYPE warden_token_cache_lookups_total counter\n"
           "warden_token_cache_lookups_total{result=\"hit\"} " + std::to_string(cache.hits) + "\n"
           "warden_token_cache_lookups_total{result=\"miss\"} " + std::to_string(cache.misses) + "\n"
           "# HELP warden_token_cache_entries Verified tokens held\n"
           "# TYPE warden_token_cache_entries gauge\n"
           "warden_token_cache_entries " + std::to_string(cache.size) + "\n"
           "# HELP warden_token_cache_evictions_total Entries removed for room\n"
           "# TYPE warden_token_cache_evictions_total counter\n"
           "warden_token_cache_evictions_total " + std::to_string(cache.evictions) + "\n";
    out += "# HELP warden_jwks_ready Whether a key set is held for the issuer\n"
           "# TYPE warden_jwks_ready gauge\n";
    for (const auto& st : statuses) out += "warden_jwks_ready" + label(st.issuer) + "} " + (st.ready ? "1\n" : "0\n");
    out += "# HELP warden_jwks_keys Keys in the issuer's current key set\n"
           "# TYPE warden_jwks_keys gauge\n";
    for (const auto& st : statuses) out += "warden_jwks_keys" + label(st.issuer) + "} " + std::to_string(st.key_count) + "\n";
    out += "# HELP warden_jwks_fetches_total JWKS (and discovery) fetches by result\n"
           "# TYPE warden_jwks_fetches_total counter\n";
    for (const auto& st : statuses) {
      out += "warden_jwks_fetches_total" + label(st.issuer) + ",result=\"ok\"} " + std::to_string(st.fetches_ok) + "\n";
      out += "warden_jwks_fetches_total" + label(st.issuer) + ",result=\"failed\"} " + std::to_string(st.fetches_failed) + "\n";
    }
    out += "# HELP warden_jwks_refetches_total Unknown-kid refetches, by whether the rate limit let them through\n"
           "# TYPE warden_jwks_refetches_total counter\n";
    for (const auto& st : statuses) {
      out += "warden_jwks_refetches_total" + label(st.issuer) + ",result=\"fetched\"} " + std::to_string(st.refetches_requested) + "\n";
      out += "warden_jwks_refetches_total" + label(st.issuer) + ",result=\"suppressed\"} " + std::to_string(st.refetches_suppressed) + "\n";
    }
  }

  std::pair<bool, std::string> readiness() {
    json j = readinessDocument();
    const bool ready = j.value("ready", false);
    return {ready, j.dump() + "\n"};
  }

  // A test call from the control plane, through our own egress listener (the config
  // requires egress when test calls are on).
  boost::asio::awaitable<json> runTestCall(TestCall call) {
    if (workers.empty()) co_return json{{"failure", "the sidecar is not running yet"}};
    co_return co_await proxy::runTestCall(*shared.config.egress, workers.front()->boundEgress(), std::move(call));
  }

  // The control plane's status report: the /readyz facts plus what only the report says.
  json statusReport() {
    StatusReportFacts facts;
    facts.started_at = started_at;
    facts.interval = shared.config.control_plane->status_interval;
    if (!workers.empty()) {
      if (shared.config.ingress) facts.listeners["ingress"] = workers.front()->boundIngress().str();
      if (shared.config.egress) facts.listeners["egress"] = workers.front()->boundEgress().str();
    }
    if (admin_acceptor) facts.listeners["admin"] = admin_bound.str();
    facts.decisions = metrics.decisionsByLayer();
    return buildStatusReport(readinessDocument(), facts);
  }

  json readinessDocument() {
    auto rt = runtime();
    const auto now = static_cast<std::time_t>(nowSeconds());
    const bool svid_valid = rt && rt->tls && rt->tls->not_after > now;
    const bool policy_ok = !shared.config.ingress || (rt && rt->policy);
    json j;
    j["identity"] = {{"ok", svid_valid},
                     {"source", usesWorkloadApi() ? "workload_api" : "files"},
                     {"spiffe_id", rt && rt->tls ? rt->tls->own_id.str() : ""},
                     {"expires_unix", rt && rt->tls ? rt->tls->not_after : 0}};
    // Which peers can be verified at all: federated bundles arrive on their own schedule.
    j["identity"]["trust_domains"] =
        rt && rt->tls && rt->tls->bundles ? rt->tls->bundles->trustDomains() : std::vector<std::string>{};
    {
      std::lock_guard lock(reload_mutex);
      if (!last_identity_error.empty()) j["identity"]["last_reload_error"] = last_identity_error;
      j["identity"]["loaded_unix"] = identity_loaded_at;
      if (shared.config.ingress) {
        j["policy"] = {{"ok", policy_ok},
                       {"version", rt && rt->policy ? rt->policy->version() : ""},
                       {"loaded_unix", policy_loaded_at}};
        if (!last_policy_error.empty()) j["policy"]["last_reload_error"] = last_policy_error;
      }
      if (rt && rt->governance) {
        j["governance"] = {{"version", rt->governance->version()},
                           {"agents", rt->governance->document().agents.size()},
                           {"age_seconds", governanceAge(shared).count()},
                           {"max_staleness_seconds",
                            rt->governance->target().max_staleness.count()}};
      }
    }
    const bool tokens_ok = token_layer.ready();
    if (rt && rt->token_verifier) {
      json issuers = json::array();
      for (const auto& st : token_layer.status()) {
        json i = {{"issuer", st.issuer}, {"ready", st.ready}, {"keys", st.key_count},
                  {"source", st.source},
                  {"last_success_unix", st.last_success == std::chrono::system_clock::time_point{}
                                            ? std::int64_t{0}
                                            : static_cast<std::int64_t>(std::chrono::system_clock::to_time_t(st.last_success))}};
        if (!st.last_error.empty()) i["last_error"] = st.last_error;
        issuers.push_back(std::move(i));
      }
      j["token"] = {{"ok", tokens_ok}, {"issuers", std::move(issuers)}};
    }
    bool egress_tokens_ok = true;
    if (egress_tokens) {
      egress_tokens_ok = egress_tokens->ready();
      json routes = json::array();
      for (const auto& st : egress_tokens->status()) {
        json r = {{"route", st.route},
                  {"token_endpoint", st.token_endpoint},
                  {"grant", st.grant},
                  {"client_auth", st.client_auth},
                  {"ok", st.ok},
                  {"expires_unix", st.expires_unix},
                  {"fetches_ok", st.fetches_ok},
                  {"fetches_failed", st.fetches_failed},
                  {"next_fetch_in_ms", st.next_fetch_in.count()}};
        if (!st.last_error.empty()) r["last_error"] = st.last_error;
        if (!st.subject_token_file.empty())
          r["subject_token_file"] = st.subject_token_file;
        routes.push_back(std::move(r));
      }
      j["egress_tokens"] = {{"ok", egress_tokens_ok}, {"routes", std::move(routes)}};
    }
    bool control_plane_ok = true;
    if (control_plane) {
      const auto st = control_plane->status();
      // Ready once a view is in force (fetched now or cached from before); a server that
      // is unreachable later does not make a sidecar unready: it enforces the last good
      // view (fail static) and says how old it is.
      control_plane_ok = st.generation > 0;
      const auto confirmed = control_plane->confirmedAt();
      j["control_plane"] = {{"ok", control_plane_ok},
                            {"connected", st.connected},
                            {"generation", st.generation},
                            {"confirmed_unix", confirmed},
                            {"age_seconds", confirmed > 0 ? static_cast<std::int64_t>(nowSeconds()) - confirmed : -1},
                            {"views_applied", st.views_applied},
                            {"views_rejected", st.views_rejected},
                            {"last_error", st.last_error},
                            {"source", st.live ? "live" : "disk"},
                            {"reports_sent", st.reports_sent},
                            {"reports_failed", st.reports_failed}};
      if (!st.last_report_error.empty()) j["control_plane"]["last_report_error"] = st.last_report_error;
      if (shared.config.control_plane->test_calls) j["control_plane"]["test_calls_answered"] = st.test_calls_run;
      if (audit_shipper) {
        const auto s = audit_shipper->stats();
        j["audit_shipping"] = {{"shipped", s.shipped}, {"backlog", s.backlog},
                               {"failures", s.failures}, {"last_error", s.last_error}};
      }
    }
    const bool ready = svid_valid && policy_ok && tokens_ok && egress_tokens_ok &&
                       control_plane_ok && !shared.draining.load();
    j["ready"] = ready;
    return j;
  }

  std::string configDump() {
    auto rt = runtime();
    const auto& c = shared.config;
    json j;
    j["config_file"] = c.source_path;
    j["workers"] = c.workers;
    if (usesWorkloadApi()) {
      j["identity"] = {{"workload_api", c.identity.workload_api}};
    } else {
      j["identity"] = {{"cert", c.identity.cert_path},
                       {"key", c.identity.key_path},  // the path only, never the key
                       {"bundles", c.identity.bundle_paths}};
    }
    j["identity"]["spiffe_id"] = rt->tls ? rt->tls->own_id.str() : "";
    j["identity"]["expires_unix"] = rt->tls ? rt->tls->not_after : 0;
    if (c.ingress) {
      j["ingress"] = {{"listen", workers.front()->boundIngress().str()},
                      {"upstream", c.ingress->upstream.str()},
                      {"policy_file", c.ingress->policy_path}};
      const auto& p = rt->policy->config();
      json allow = json::array();
      for (const auto& a : p.allow) {
        allow.push_back(!a.id.empty() ? json{{"id", a.id}}
                        : !a.pattern.empty() ? json{{"pattern", a.pattern}}
                                             : json{{"trust_domain", a.trust_domain}});
      }
      json callers = json::array();
      for (const auto& caller : p.callers) {
        json rules = json::array();
        for (const auto& r : caller.rules) {
          const char* kind = r.path.kind == policy::PathMatchConfig::Kind::kExact    ? "exact"
                             : r.path.kind == policy::PathMatchConfig::Kind::kPrefix ? "prefix"
                                                                                      : "pattern";
          rules.push_back({{"id", r.id},
                           {"methods", r.methods},
                           {"path", {{kind, r.path.value}}},
                           {"action", r.action == policy::RuleAction::kAllow ? "allow" : "deny"}});
        }
        const auto& m = caller.match;
        callers.push_back({{"match", !m.id.empty() ? json{{"id", m.id}}
                                     : !m.pattern.empty() ? json{{"pattern", m.pattern}}
                                                          : json{{"trust_domain", m.trust_domain}}},
                           {"rules", rules}});
      }
      j["policy"] = {{"version", p.version}, {"target", p.target}, {"allow", allow},
                     {"callers", callers}};
    }
    if (c.egress) {
      json routes = json::array();
      for (const auto& r : c.egress->routes) {
        json route = {{"host", r.host},
                      {"path_prefix", r.path_prefix},
                      {"address", r.address.str()},
                      {"spiffe_id", r.spiffe_id},
                      {"sni", r.sni}};
        if (r.token) {
          const auto& t = *r.token;
          json token = {{"token_endpoint", t.token_endpoint},
                        {"grant", t.grantName()},
                        {"client_auth", t.clientAuthName()}};
          // Token exchange sends a client_id only when one is configured.
          if (!t.client_id.empty()) {
            token["client_id"] = t.client_id;
          } else if (!t.tokenExchange()) {
            token["client_id"] = j["identity"]["spiffe_id"];
          }
          if (t.tokenExchange()) {
            // The path only: the file holds a credential.
            token["subject_token_file"] = t.subject_token_file;
            token["subject_token_type"] = t.subject_token_type;
          }
          for (const auto& [key, value] :
               {std::pair<const char*, const std::string*>{"issuer", &t.issuer},
                {"assertion_audience", &t.assertion_audience},
                {"resource", &t.resource},
                {"scope", &t.scope},
                {"ca_file", &t.ca_file},
                {"server_spiffe_id", &t.server_spiffe_id}}) {
            if (!value->empty()) token[key] = *value;
          }
          if (t.refresh_before) token["refresh_before_ms"] = t.refresh_before->count();
          route["token"] = std::move(token);
        }
        routes.push_back(std::move(route));
      }
      j["egress"] = {{"listen", workers.front()->boundEgress().str()}, {"routes", routes}};
    }
    j["limits"] = {{"max_header_bytes", c.limits.max_header_bytes},
                   {"max_body_bytes", c.limits.max_body_bytes},
                   {"max_connections", c.limits.max_connections}};
    j["timeouts_ms"] = {{"handshake", c.timeouts.handshake_ms},
                        {"header_read", c.timeouts.header_read_ms},
                        {"idle", c.timeouts.idle_ms},
                        {"upstream_connect", c.timeouts.upstream_connect_ms},
                        {"upstream_response", c.timeouts.upstream_response_ms},
                        {"body_idle", c.timeouts.body_idle_ms}};
    j["audit"] = {{"file", c.audit.file_path}, {"stdout", c.audit.to_stdout}};
    if (c.control_plane) {
      j["control_plane"] = {{"url", c.control_plane->url},
                            {"server_id", c.control_plane->server_id},
                            {"state_dir", c.control_plane->state_dir},
                            {"poll_wait_s", c.control_plane->poll_wait.count()},
                            {"status_interval_s", c.control_plane->status_interval.count()},
                            {"ship_audit", c.control_plane->ship_audit},
                            {"test_calls", c.control_plane->test_calls}};
    }
    return j.dump(2) + "\n";
  }
};

Sidecar::Sidecar(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Sidecar::~Sidecar() { stop(0); }

Result<std::unique_ptr<Sidecar>> Sidecar::create(SidecarConfig config) {
  auto impl = std::make_unique<Impl>();
  impl->shared.config = std::move(config);
  const auto& c = impl->shared.config;

  auto tcpEndpoint = [](const Endpoint& e, const std::string& field)
      -> Result<asio::ip::tcp::endpoint> {
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(e.host, ec);
    if (ec) return Error{field + ": \"" + e.host + "\" is not an IP address"};
    return asio::ip::tcp::endpoint(address, e.port);
  };
  if (c.ingress) {
    auto app = tcpEndpoint(c.ingress->upstream, "ingress.upstream");
    if (!app) return Error{app.error().message};
    impl->shared.app_endpoint = *app;
  }
  if (c.egress) {
    for (std::size_t i = 0; i < c.egress->routes.size(); ++i) {
      auto target = tcpEndpoint(c.egress->routes[i].address,
                                "egress.routes[" + std::to_string(i) + "].address");
      if (!target) return Error{target.error().message};
      impl->shared.route_endpoints.push_back(*target);
    }
  }

  auto runtime = std::make_shared<Runtime>();
  if (c.identity.workload_api.empty()) {
    auto tls = buildTlsContexts(c.identity);
    if (!tls) return Error{tls.error().message};
    runtime->tls = *tls;
    impl->identity_digest = (*tls)->fingerprint;
    impl->metrics.setSvidExpiry(static_cast<double>(runtime->tls->not_after));
  } else if (auto addr = workload::parseEndpointAddress(c.identity.workload_api); !addr) {
    return Error{"identity.workload_api: " + addr.error().message};
  } else if (auto transport = workload::transportFactory(); !transport) {
    // `warden-proxy` loads the gRPC transport only now, when a Workload API is configured;
    // without it no identity could ever arrive, so refuse to start.
    return Error{"identity.workload_api: " + transport.error().message};
  }
  if (c.control_plane) {
    Impl* raw = impl.get();
    impl->control_plane = std::make_unique<ControlPlaneClient>(
        *c.control_plane,
        [raw] {
          auto rt = raw->runtime();
          return rt ? rt->tls : nullptr;
        },
        [raw](const ControlPlaneView& view) { return raw->applyView(view); });
    impl->control_plane->reportStatusWith([raw] { return raw->statusReport(); });
    if (c.control_plane->test_calls) {
      impl->control_plane->runTestCallsWith([raw](TestCall call) { return raw->runTestCall(std::move(call)); });
    }
  }
  if (c.ingress && c.control_plane) {
    // Fail static across restarts: the last good view, else nobody gets in until the
    // server has been reached.
    auto cached = impl->control_plane->loadCached();
    runtime->policy = cached ? cached->policy : denyAllPolicy();
    if (cached) {
      runtime->governance = cached->governance;
      runtime->revocations = cached->revocations;
      impl->shared.governance_confirmed_unix.store(cached->received_unix);
      spdlog::info("control plane: enforcing the cached view {} until the server answers",
                   cached->generation);
    }
    auto verifier = impl->token_layer.verifierFor(runtime->policy->config(), c.control_plane->state_dir);
    if (!verifier) return Error{verifier.error().message};
    runtime->token_verifier = *verifier;
    impl->policy_loaded_at = Impl::nowSeconds();
    impl->metrics.setPolicyInfo(runtime->policy->version(), impl->policy_loaded_at);
  } else if (c.ingress) {
    auto compiled = policy::loadPolicyFile(c.ingress->policy_path);
    if (!compiled) return Error{compiled.error().message};
    runtime->policy = *compiled;
    auto verifier = impl->token_layer.verifierFor((*compiled)->config(), impl->policyDir());
    if (!verifier) return Error{verifier.error().message};
    runtime->token_verifier = *verifier;
    // Keys before traffic (mesh-anchors §7): a bounded wait here, and /readyz stays false
    // until every issuer has keys; meanwhile requests get 503 jwks_unavailable, not 401s.
    if (runtime->token_verifier && !impl->token_layer.waitReady(std::chrono::seconds(5))) {
      spdlog::warn("token issuers' keys not fetched yet; layer 3 answers 503 jwks_unavailable "
                   "until they are");
    }
    auto gov = impl->loadGovernance();
    if (!gov) return Error{gov.error().message};
    runtime->governance = *gov;
    impl->policy_digest = digestFiles(impl->ruleFiles());
    impl->policy_loaded_at = Impl::nowSeconds();
    impl->metrics.setPolicyInfo(runtime->policy->version(), impl->policy_loaded_at);
  }
  if (runtime->tls) impl->identity_loaded_at = static_cast<std::int64_t>(Impl::nowSeconds());
  impl->current = std::move(runtime);

  if (c.egress && std::any_of(c.egress->routes.begin(), c.egress->routes.end(),
                              [](const EgressRoute& r) { return r.token.has_value(); })) {
    Impl* raw = impl.get();
    auto tokens = EgressTokens::create(*c.egress, c.identity, [raw] {
      auto rt = raw->runtime();
      return rt ? rt->tls : nullptr;
    });
    if (!tokens) return Error{tokens.error().message};
    impl->egress_tokens = std::move(*tokens);
    impl->shared.egress_tokens = impl->egress_tokens.get();
  }

  audit::AuditSinkOptions sink_options;
  sink_options.file_path = c.audit.file_path;
  sink_options.to_stdout = c.audit.to_stdout;
  if (c.control_plane && c.control_plane->ship_audit) {
    sink_options.spool_dir = (std::filesystem::path(c.control_plane->state_dir) / "audit-spool").string();
  }
  auto sink = audit::AuditSink::create(sink_options);
  if (!sink) return Error{sink.error().message};
  impl->audit = std::move(*sink);
  if (impl->audit->spool() != nullptr) {
    ControlPlaneClient* client = impl->control_plane.get();
    audit::AuditSpool* spool = impl->audit->spool();
    impl->audit_shipper = std::make_unique<audit::AuditShipper>(
        *spool, [client, spool](std::span<const audit::SpooledEvent> events) {
          return client->shipAudit(events, spool->spoolId());
        });
  }
  impl->shared.audit = impl->audit.get();
  impl->shared.metrics = &impl->metrics;
  return std::unique_ptr<Sidecar>(new Sidecar(std::move(impl)));
}

Status Sidecar::start() {
  auto& impl = *impl_;
  const auto& c = impl.shared.config;
  const bool reuse_port = c.workers > 1;
  std::optional<Endpoint> ingress, egress;
  if (c.ingress) ingress = c.ingress->listen;
  if (c.egress) egress = c.egress->listen;
  for (unsigned i = 0; i < c.workers; ++i) {
    auto worker = std::make_unique<Worker>(impl.shared);
    if (auto st = worker->listen(reuse_port, ingress, egress); !st) return st;
    // Later workers share the port the first one got (port 0 means "pick one").
    if (ingress) ingress = worker->boundIngress();
    if (egress) egress = worker->boundEgress();
    impl.workers.push_back(std::move(worker));
  }
  if (c.admin_enabled) {
    boost::system::error_code ec;
    asio::ip::tcp::endpoint ep(asio::ip::make_address(c.admin_listen.host), c.admin_listen.port);
    impl.admin_acceptor.emplace(impl.control);
    impl.admin_acceptor->open(ep.protocol(), ec);
    if (!ec) impl.admin_acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) impl.admin_acceptor->bind(ep, ec);
    if (!ec) impl.admin_acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Error{"admin.listen: cannot listen on " + c.admin_listen.str() + ": " + ec.message()};
    const auto local = impl.admin_acceptor->local_endpoint();
    impl.admin_bound = Endpoint{local.address().to_string(), local.port()};
    impl.admin_handlers = AdminHandlers{[&impl] { return impl.readiness(); },
                                        [&impl] { return impl.renderMetrics(); },
                                        [&impl] { return impl.configDump(); }};
    asio::co_spawn(impl.control, runAdminListener(*impl.admin_acceptor, impl.admin_handlers),
                   asio::detached);
  }
  auto runtime = impl.runtime();
  for (auto& w : impl.workers) w->start(runtime);
  impl.watch_timer.emplace(impl.control);
  impl.scheduleWatch();
  impl.control_work.emplace(impl.control.get_executor());
  impl.control_thread = std::thread([&impl] { impl.control.run(); });
  // Tokens are fetched from now on; until a route holds one, its requests get 503
  // token_unavailable and /readyz says why.
  if (impl.egress_tokens) impl.egress_tokens->start();
  if (impl.control_plane) impl.control_plane->start();
  if (impl.usesWorkloadApi()) {
    // Until the first SVID arrives, ingress refuses connections and egress answers 503
    // identity_unavailable; /readyz says why.
    auto addr = workload::parseEndpointAddress(c.identity.workload_api);
    impl.svid_watcher = std::make_unique<workload::X509Watcher>(
        *addr, [&impl](const workload::X509Context& x) { impl.applyX509Context(x); },
        [&impl](const workload::WatchError& e) { impl.onWorkloadApiError(e); });
  }
  {
    std::lock_guard lock(impl.stop_mutex);
    impl.started = true;
  }
  return {};
}

void Sidecar::stop(unsigned grace_ms) {
  auto& impl = *impl_;
  {
    std::lock_guard lock(impl.stop_mutex);
    if (impl.stopped) return;
    impl.stopped = true;
  }
  impl.shared.draining.store(true);
  impl.svid_watcher.reset();
  if (impl.control_plane) impl.control_plane->stop();
  for (auto& w : impl.workers) w->stopAccepting();
  // Bounded wait for in-flight exchanges: a connection finishes the exchange it is in and
  // then closes because draining is set; idle keep-alive connections and long streams
  // are cut when the deadline passes and the workers stop.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
  for (;;) {
    std::size_t active = 0;
    for (auto& w : impl.workers) active += w->activeConnections();
    if (active == 0 || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (auto& w : impl.workers) w->shutdown();
  impl.control_work.reset();
  impl.control.stop();
  if (impl.control_thread.joinable()) impl.control_thread.join();
  impl.workers.clear();
  if (impl.audit) impl.audit->flush();
  // A last chance for events still in the spool; what is left ships after a restart.
  if (impl.audit_shipper) impl.audit_shipper->stop();
  {
    std::lock_guard lock(impl.stop_mutex);
    impl.stop_done = true;
  }
  impl.stop_cv.notify_all();
}

void Sidecar::wait() {
  std::unique_lock lock(impl_->stop_mutex);
  impl_->stop_cv.wait(lock, [this] { return impl_->stop_done; });
}

Endpoint Sidecar::ingressEndpoint() const { return impl_->workers.front()->boundIngress(); }
Endpoint Sidecar::egressEndpoint() const { return impl_->workers.front()->boundEgress(); }
Endpoint Sidecar::adminEndpoint() const { return impl_->admin_bound; }
Status Sidecar::reloadPolicy() { return impl_->reloadPolicy(true); }
Status Sidecar::reloadIdentity() { return impl_->reloadIdentity(true); }
audit::AuditSink& Sidecar::auditSink() { return *impl_->audit; }
SidecarMetrics& Sidecar::metrics() { return impl_->metrics; }
bool Sidecar::ready() const { return impl_->readiness().first; }
std::uint64_t Sidecar::configGeneration() const {
  return impl_->control_plane ? impl_->control_plane->status().generation : 0;
}

}  // namespace warden::proxy
