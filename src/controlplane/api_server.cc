#include "controlplane/api_server.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <limits>
#include "jose/jws.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include "controlplane/api_context.h"
#include "controlplane/local_users.h"
#include "controlplane/openapi.h"
#include "controlplane/password_hash.h"
#include "controlplane/password_worker.h"
#include "controlplane/portal_login.h"
#include "controlplane/portal_static.h"
#include "controlplane/upstream_sign_in.h"
#include "identity/spiffe_id.h"
#include "issuer/svid_tls.h"

namespace warden::controlplane {
namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace api {

std::string Route::header(std::string_view name) const {
  auto it = request->find(name);
  return it == request->end() ? std::string() : std::string(it->value());
}

std::string Route::queryValue(const std::string& key, std::string fallback) const {
  auto it = query.find(key);
  return it == query.end() ? fallback : it->second;
}

HttpResponse error(unsigned status, std::string_view code, std::string_view reason) {
  return net::jsonResponse(status, json{{"error", code}, {"layer", "control_plane"},
                                        {"reason", reason}}.dump());
}

HttpResponse unauthenticated(std::string_view reason) {
  auto res = error(401, "unauthenticated", reason);
  res.set(http::field::www_authenticate, "Bearer realm=\"warden\"");
  return res;
}

HttpResponse ok(const json& body, unsigned status) { return net::jsonResponse(status, body.dump()); }

HttpResponse storeError(const StoreError& e) {
  switch (e.kind) {
    case StoreErrorKind::kNotFound: return error(404, "not_found", e.message);
    case StoreErrorKind::kConflict: return error(412, "precondition_failed", e.message);
    case StoreErrorKind::kInvalid: return error(400, "invalid_request", e.message);
    case StoreErrorKind::kExists: return error(409, "already_exists", e.message);
    case StoreErrorKind::kInternal: break;
  }
  spdlog::error("control plane store: {}", e.message);
  return error(500, "store_error", "the store failed; nothing was changed");
}

std::optional<std::int64_t> parseInt(const std::string& text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  std::int64_t n = 0;
  for (char ch : text) {
    if (ch < '0' || ch > '9') return std::nullopt;
    if (n > (std::numeric_limits<std::int64_t>::max() - (ch - '0')) / 10) return std::nullopt;
    n = n * 10 + (ch - '0');
  }
  return n;
}

std::variant<json, HttpResponse> jsonBody(const Route& r) {
  const auto type = r.header("content-type");
  if (type.rfind("application/json", 0) != 0) {
    return error(415, "unsupported_media_type", "send application/json");
  }
  auto parsed = jose::parseJsonNoDuplicates(r.request->body());
  if (!parsed) return error(400, "invalid_json", parsed.error().message);
  if (!parsed->is_object()) return error(400, "invalid_json", "expected a JSON object");
  return std::move(*parsed);
}

std::variant<json, HttpResponse> optionalJsonBody(const Route& r) {
  if (r.request->body().empty()) return json::object();
  return jsonBody(r);
}

std::variant<std::string, HttpResponse> optionalString(const json& body, const char* key,
                                                       std::string fallback) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_string()) return error(400, "invalid_request", std::string(key) + ": expected a string");
  return it->get<std::string>();
}

std::variant<std::optional<std::uint64_t>, HttpResponse> expectedVersion(
    const Route& r, std::string_view kind, std::string_view id, std::uint64_t current) {
  const std::string header = r.header("if-match");
  if (header.empty()) {
    if (current == 0) return std::optional<std::uint64_t>{};
    return error(428, "precondition_required",
                 "send If-Match with the ETag you read, so no concurrent change is lost");
  }
  auto condition = parseIfMatch(header);
  if (!condition) return error(400, "invalid_request", "If-Match: " + condition.error().message);
  if (current == 0) return error(412, "precondition_failed", "it does not exist");
  if (condition->any) return std::optional<std::uint64_t>{current};
  // One of the listed tags must name a version of this object; the store compares it
  // with the current one inside its transaction.
  for (const auto& tag : condition->tags) {
    if (auto v = etagVersion(tag, kind, id)) {
      if (*v == current || condition->tags.size() == 1) return std::optional<std::uint64_t>{*v};
    }
  }
  return error(412, "precondition_failed", "If-Match names no current version");
}

}  // namespace api

using api::Route;
using nlohmann::json;

struct ApiServer::Impl {
  ControlPlaneConfig config;
  Store* store = nullptr;
  issuer::Issuer* issuer = nullptr;
  ApiServerHooks hooks;
  std::unique_ptr<issuer::SvidTls> tls;
  std::unique_ptr<ExternalIdentityProviders> idps;
  std::unique_ptr<LoginTokens> logins;
  std::unique_ptr<LoginThrottle> login_throttle;
  std::unique_ptr<PasswordWorker> passwords;  // stopped by stop(), after the I/O thread
  std::unique_ptr<api::Context> context;
  std::unique_ptr<PortalStatic> portal;        // with control_plane.portal
  std::unique_ptr<PortalLogin> portal_login;  // with control_plane.portal
  SidecarReports sidecar_reports;
  ServerHealthInputs health_inputs;
  std::unique_ptr<UpstreamSignIn> upstream;   // with portal.sign_in_providers
  std::string generated_password;
  std::string base_url;
  std::uint64_t subscription = 0;
  std::atomic<bool> ready{false};  // set once `context` and `logins` exist
  std::unique_ptr<net::HttpsServer> server;  // last: stopped first

  std::time_t now() const {
    return hooks.now_unix ? static_cast<std::time_t>(hooks.now_unix()) : std::time(nullptr);
  }

  // Who is calling: a login bearer token, else the client certificate.
  Principal authenticate(const net::HttpsExchange& ex) const {
    const auto& req = ex.request();
    if (auto it = req.find(http::field::authorization); it != req.end()) {
      const std::string_view value = it->value();
      if (value.size() > 7 && (value.substr(0, 7) == "Bearer " || value.substr(0, 7) == "bearer ")) {
        auto p = logins->verify(value.substr(7), now());
        if (p) {
          auto current = currentLocalLogin(*store, std::move(*p));
          return current ? *current : Principal{};
        }
        if (idps) {
          auto external = idps->authenticate(value.substr(7), std::chrono::system_clock::now());
          if (external) return *external;
        }
      }
      return Principal{};  // a bad credential is never silently replaced by another
    }
    const auto& client = ex.client();
    if (!client.verified()) return Principal{};
    auto id = identity::SpiffeId::parse(client.spiffe_id);
    if (!id) return Principal{};
    auto match = [&](const std::vector<identity::IdMatcher>& list) {
      return std::any_of(list.begin(), list.end(), [&](const auto& m) { return m.matches(*id); });
    };
    Principal p;
    p.subject = client.spiffe_id;
    p.method = "mtls";
    if (match(config.access.admins)) {
      p.role = Role::kAdmin;
    } else if (match(config.access.developers)) {
      p.role = Role::kDeveloper;
    } else if (match(config.access.viewers)) {
      p.role = Role::kViewer;
    } else if (auto agent = store->getAgentBySpiffeId(client.spiffe_id)) {
      p.role = Role::kSidecar;
      p.agent = agent->name;
    }
    return p;
  }

  api::HttpResponse readiness() {
    json components = json::object();
    bool all = true;
    const bool store_ok = store->listAgents().ok();
    components["store"] = {{"ok", store_ok}, {"generation", store->generation()}};
    all = all && store_ok;
    components["distribution"] = {{"ok", true}};
    if (hooks.components) {
      for (const auto& [name, ok] : hooks.components()) {
        components[name] = {{"ok", ok}};
        all = all && ok;
      }
    }
    return api::ok(json{{"ready", all}, {"components", components}}, all ? 200 : 503);
  }

  api::HttpResponse metrics() {
    std::string out;
    out += "# TYPE warden_control_plane_generation gauge\nwarden_control_plane_generation " +
           std::to_string(store->generation()) + "\n";
    if (auto agents = store->listAgents()) {
      std::map<std::string, int> by_state;
      for (const auto& a : *agents) ++by_state[std::string(governance::agentStateName(a.state))];
      out += "# TYPE warden_control_plane_agents gauge\n";
      for (const auto& [state, n] : by_state) {
        out += "warden_control_plane_agents{state=\"" + state + "\"} " + std::to_string(n) + "\n";
      }
    }
    if (auto events = store->countAuditEvents(AuditQuery{})) {
      out += "# TYPE warden_control_plane_audit_events gauge\nwarden_control_plane_audit_events " +
             std::to_string(*events) + "\n";
    }
    api::HttpResponse res{http::status::ok, 11};
    res.set(http::field::content_type, "text/plain; version=0.0.4");
    res.body() = std::move(out);
    return res;
  }

  asio::awaitable<api::HttpResponse> login(Route& r) {
    if (r.method != "POST") co_return api::error(405, "method_not_allowed", "use POST");
    auto body = api::jsonBody(r);
    if (auto* res = std::get_if<api::HttpResponse>(&body)) co_return std::move(*res);
    const json& b = std::get<json>(body);
    auto user_field = api::optionalString(b, "username");
    if (auto* res = std::get_if<api::HttpResponse>(&user_field)) co_return std::move(*res);
    auto password_field = api::optionalString(b, "password");
    if (auto* res = std::get_if<api::HttpResponse>(&password_field)) co_return std::move(*res);
    const std::string user = std::get<std::string>(user_field);
    std::string password = std::move(std::get<std::string>(password_field));
    std::string source = r.exchange->source();
    // On the password thread: the I/O thread answers everything else meanwhile.
    const SignInCheck check =
        co_await passwords->checkSignIn(user, std::move(password), std::move(source));
    if (check.outcome == SignInCheck::Outcome::kThrottled) {
      const std::string wait = std::to_string(check.retry_after.count());
      auto res = api::error(
          429, "too_many_attempts",
          "too many failed sign-ins for this user name or address; retry in " + wait + " s");
      res.set(http::field::retry_after, wait);
      co_return res;
    }
    if (check.outcome == SignInCheck::Outcome::kFailed) {
      co_return api::error(500, "internal", "the password could not be checked");
    }
    if (check.outcome != SignInCheck::Outcome::kAccepted) {
      co_return api::error(401, "invalid_credentials", "unknown user or wrong password");
    }
    // The signing keys rotate on their schedule (issuer::JwtAuthority): tick it here,
    // where they are used, so a long-running server does not sign with one key forever.
    logins->rotate(now());
    auto minted =
        logins->mint(user, check.role, config.login_token_ttl, credentialStamp(*store, user));
    if (!minted) co_return api::error(500, "internal", minted.error().message);
    co_return api::ok(json{{"access_token", minted->token},
                           {"token_type", "Bearer"},
                           {"expires_in", config.login_token_ttl.count()},
                           {"role", roleName(check.role)}});
  }

  asio::awaitable<api::HttpResponse> rotateCredential(Route& r) {
    if (!r.principal.isAdmin())
      co_return api::error(403, "forbidden", "this action needs the admin role");
    const std::string password = randomPassword();
    auto hash = co_await passwords->hash(password);
    if (!hash) co_return api::error(500, "internal", hash.error().message);
    auto done = store->rotateCredential("admin", *hash, r.actor());
    if (!done) co_return api::storeError(done.error());
    co_return api::ok(json{{"username", "admin"},
                           {"password", password},
                           {"note", "shown once; stored only as a scrypt hash"}});
  }

  // POST /oauth2/authorize, the portal's sign-in form: its password is checked on the
  // password thread. Arguments as named values (GCC 12, see upstreamSignIn).
  asio::awaitable<api::HttpResponse> portalSubmit(net::HttpsExchange& ex) {
    const auto& req = ex.request();
    std::string content_type;
    if (auto it = req.find(http::field::content_type); it != req.end()) content_type = it->value();
    std::string body = req.body();
    std::string source = ex.source();
    co_return co_await portal_login->authorizeSubmit(std::move(content_type), std::move(body),
                                                     std::move(source));
  }

  api::HttpResponse changes(Route& r) {
    ChangeQuery q;
    auto num = [&](const char* key) -> std::uint64_t {
      const auto text = r.queryValue(key);
      std::uint64_t n = 0;
      for (char ch : text) {
        if (ch < '0' || ch > '9') return 0;
        n = n * 10 + static_cast<std::uint64_t>(ch - '0');
      }
      return n;
    };
    q.since_id = num("since");
    q.before_id = num("before");
    q.limit = static_cast<std::size_t>(num("limit"));
    q.object_kind = r.queryValue("kind");
    q.object_id = r.queryValue("id");
    auto list = store->listChanges(q);
    if (!list) return api::storeError(list.error());
    json out = json::array();
    for (const auto& c : *list) {
      out.push_back({{"id", c.id}, {"time", c.time_unix},
                     {"actor", {{"subject", c.actor.subject}, {"method", c.actor.method}}},
                     {"action", c.action}, {"kind", c.object_kind}, {"object", c.object_id},
                     {"version", c.object_version}, {"comment", c.comment}, {"detail", c.detail}});
    }
    return api::ok(json{{"changes", out}});
  }

  // The portal's OpenID Connect sign-in (portal_login.h); nullopt: not one of its routes.
  std::optional<api::HttpResponse> portalSignIn(const std::string& path, net::HttpsExchange& ex,
                                                const boost::urls::url_view& url) {
    const auto& req = ex.request();
    const std::string method(req.method_string());
    auto content_type = [&] {
      auto it = req.find(http::field::content_type);
      return it == req.end() ? std::string() : std::string(it->value());
    };
    auto only = [](std::string_view allowed) {
      auto res = api::error(405, "method_not_allowed", "use " + std::string(allowed));
      res.set(http::field::allow, allowed);
      return res;
    };
    if (path == "/.well-known/openid-configuration") {
      return method == "GET" || method == "HEAD" ? portal_login->discovery() : only("GET, HEAD");
    }
    if (path == "/oauth2/jwks") return method == "GET" || method == "HEAD" ? portal_login->jwks() : only("GET, HEAD");
    if (path == "/oauth2/login.css") {
      return method == "GET" || method == "HEAD" ? portal_login->loginCss() : only("GET, HEAD");
    }
    if (path == "/oauth2/authorize") {
      if (method == "GET" || method == "HEAD") return portal_login->authorizeForm(url.encoded_query());
      return only("GET, HEAD, POST");  // POST: portalSubmit()
    }
    if (path == "/oauth2/token") {
      if (method != "POST") return only("POST");
      return portal_login->token(content_type(), req.body());
    }
    return std::nullopt;
  }

  // The portal's sign-in at external providers (upstream_sign_in.h); nullopt: not one of
  // its routes.
  asio::awaitable<std::optional<api::HttpResponse>> upstreamSignIn(std::string path,
                                                                   net::HttpsExchange& ex,
                                                                   boost::urls::url_view url) {
    const auto& req = ex.request();
    const std::string method(req.method_string());
    constexpr std::string_view kCallback = "/oauth2/callback/";
    const bool begin = path == "/oauth2/authorize/upstream";
    const bool callback = path.starts_with(kCallback);
    if (!begin && !callback) co_return std::nullopt;
    const std::string allowed = begin ? "POST" : "GET";
    if (method != allowed) {
      auto res = api::error(405, "method_not_allowed", "use " + allowed);
      res.set(http::field::allow, allowed);
      co_return res;
    }
    // Arguments as named values: GCC 12 mishandles temporaries of a conditional expression
    // inside a co_await (destroyed twice).
    if (begin) {
      std::string content_type;
      if (auto it = req.find(http::field::content_type); it != req.end()) content_type = it->value();
      std::string body = req.body();
      co_return co_await upstream->begin(std::move(content_type), std::move(body));
    }
    std::string name = path.substr(kCallback.size());
    std::string query(url.encoded_query());
    std::string source = ex.source();
    co_return co_await upstream->callback(std::move(name), std::move(query), std::move(source));
  }

  // Every request: routed, with a last line of defence for a handler that throws (a
  // malformed value reaching a JSON accessor), which would otherwise drop the connection
  // without an answer.
  asio::awaitable<api::HttpResponse> handle(net::HttpsExchange& ex) {
    try {
      co_return co_await route(ex);
    } catch (const nlohmann::json::exception& e) {
      spdlog::warn("control plane API: {} {}: {}", std::string(ex.request().method_string()),
                   std::string(ex.request().target()), e.what());
    } catch (const std::exception& e) {
      spdlog::error("control plane API: {} {}: {}", std::string(ex.request().method_string()),
                    std::string(ex.request().target()), e.what());
    }
    co_return api::error(500, "internal", "the request could not be handled");
  }

  asio::awaitable<api::HttpResponse> route(net::HttpsExchange& ex) {
    if (!ready.load(std::memory_order_acquire)) {
      co_return api::error(503, "starting", "the control plane is starting");
    }
    const auto& req = ex.request();
    auto url = boost::urls::parse_origin_form(req.target());
    if (!url) co_return api::error(400, "bad_request", "malformed request target");
    Route r;
    r.method = std::string(req.method_string());
    r.request = &req;
    r.exchange = &ex;
    for (auto param : url->params()) r.query[std::string(param.key)] = std::string(param.value);
    std::vector<std::string> segments;
    for (auto s : url->segments()) segments.emplace_back(s);

    // Open routes: liveness, readiness (status only), the API description, the token
    // endpoint of the login, and the Shared Signals push endpoint (a SET authenticates
    // itself by its signature).
    const std::string path = url->path();
    if (path == "/healthz") co_return api::ok(json{{"status", "ok"}});
    if (path == "/readyz") co_return readiness();
    if (path == "/api/v1/openapi.json") co_return api::ok(json::parse(openApiDocument()));
    if (upstream) {
      if (auto res = co_await upstreamSignIn(path, ex, *url)) co_return std::move(*res);
    }
    if (portal_login) {
      if (path == "/oauth2/authorize" && r.method == "POST") co_return co_await portalSubmit(ex);
      if (auto res = portalSignIn(path, ex, *url)) co_return std::move(*res);
    }
    if (portal && !isReservedPath(path)) {
      if (r.method != "GET" && r.method != "HEAD") {
        auto res = api::error(405, "method_not_allowed", "the portal answers GET and HEAD");
        res.set(http::field::allow, "GET, HEAD");
        co_return res;
      }
      co_return portal->serve(url->encoded_path());
    }
    if (segments.size() < 3 || segments[0] != "api" || segments[1] != "v1") {
      if (path == "/metrics") {
        r.principal = authenticate(ex);
        if (!r.principal.authenticated()) co_return api::unauthenticated("metrics need an identity");
        if (!r.principal.canRead()) co_return api::error(403, "forbidden", "metrics need a signed-in role");
        co_return metrics();
      }
      co_return api::error(404, "not_found", "no such route");
    }
    r.segments.assign(segments.begin() + 2, segments.end());
    const std::string& area = r.segments[0];
    if (area == "login") co_return co_await login(r);
    if (area == "ssf" && r.segments.size() == 2 && r.segments[1] == "events") {
      if (r.method != "POST") co_return api::error(405, "method_not_allowed", "use POST");
      if (!hooks.ssf_push) co_return api::error(404, "not_found", "no Shared Signals receiver configured");
      std::optional<std::string> authorization;
      if (auto it = req.find(http::field::authorization); it != req.end()) {
        authorization = std::string(it->value());
      }
      auto [status, body] = hooks.ssf_push(r.header("content-type"), authorization, req.body());
      auto res = net::jsonResponse(static_cast<unsigned>(status), body);
      if (body.empty()) res.erase(http::field::content_type);
      co_return res;
    }

    r.principal = authenticate(ex);
    if (!r.principal.authenticated()) {
      co_return api::unauthenticated(
          "present an X509-SVID on the admin lists or a bearer token from /api/v1/login");
    }
    if (area == "whoami") {
      co_return api::ok(json{{"subject", r.principal.subject}, {"method", r.principal.method},
                             {"role", roleName(r.principal.role)}, {"agent", r.principal.agent}});
    }
    if (area == "distribution") co_return co_await api::distribution(*context, r);
    if (area == "audit") co_return co_await api::audit(*context, r);
    if (area == "sidecars" && r.segments.size() >= 2 && r.segments[1] == "test-calls") {
      co_return co_await api::sidecarTestCalls(*context, r);
    }
    if (area == "sidecars") co_return api::sidecarStatus(r, sidecar_reports, now());
    if (r.principal.role == Role::kSidecar) {
      co_return api::error(403, "forbidden", "a sidecar may only fetch its view and ship audit");
    }
    if (area == "agents") co_return co_await api::agents(*context, r);
    if (area == "policies") co_return co_await api::documents(*context, r, kPolicyDocument);
    if (area == "governance") co_return co_await api::documents(*context, r, kGovernanceDocument);
    if (area == "changes" && r.method == "GET") co_return changes(r);
    if (area == "explain") co_return api::explain(*context, r);
    if (area == "test-calls") co_return co_await api::testCalls(*context, r);
    if (area == "health") co_return api::health(*context, r, health_inputs, sidecar_reports, now());
    if (area == "users") co_return co_await api::users(*context, r, *passwords);
    if (area == "credentials" && r.segments.size() == 2 && r.segments[1] == "rotate" &&
        r.method == "POST") {
      co_return co_await rotateCredential(r);
    }
    co_return api::error(404, "not_found", "no such route");
  }
};

ApiServer::ApiServer() : impl_(std::make_unique<Impl>()) {}

ApiServer::~ApiServer() { stop(); }

Result<std::unique_ptr<ApiServer>> ApiServer::start(
    const ControlPlaneConfig& config, Store& store, issuer::Issuer& issuer,
    const std::vector<issuer::RegistrationEntry>& entries, const std::string& state_dir,
    ApiServerHooks hooks) {
  std::unique_ptr<ApiServer> server(new ApiServer());
  Impl& impl = *server->impl_;
  impl.config = config;
  impl.store = &store;
  impl.issuer = &issuer;
  impl.hooks = std::move(hooks);
  const auto entry = std::find_if(entries.begin(), entries.end(),
                                  [&](const auto& e) { return e.name == config.tls_svid_entry; });
  if (entry == entries.end()) {
    return Error{"control_plane.tls.svid: no registration entry named " + config.tls_svid_entry};
  }
  auto tls = issuer::SvidTls::create(issuer, *entry, "warden-control-plane");
  if (!tls) return Error{"control_plane.tls.svid: " + tls.error().message};
  impl.tls = std::move(*tls);

  if (config.bootstrap_admin) {
    auto existing = store.getCredential("admin");
    if (!existing && existing.error().kind == StoreErrorKind::kNotFound) {
      impl.generated_password = randomPassword();
      auto hash = hashPassword(impl.generated_password);
      if (!hash) return Error{"bootstrap admin: " + hash.error().message};
      auto stored = store.storeCredential("admin", *hash, Actor{"warden-server", "bootstrap"});
      if (!stored) return Error{"bootstrap admin: " + stored.error().message};
    } else if (!existing) {
      return Error{"bootstrap admin: " + existing.error().message};
    }
  }

  net::HttpsServerOptions options;
  options.name = "control plane API";
  options.host = config.listen_host;
  options.port = config.listen_port;
  Impl* raw = &impl;
  auto https = net::HttpsServer::start(
      options, [raw] { return raw->tls->serverContext(); },
      [raw](SSL* ssl) { return raw->tls->identify(ssl); },
      [raw](net::HttpsExchange& ex) { return raw->handle(ex); });
  if (!https) return Error{"control_plane.listen: " + https.error().message};
  impl.server = std::move(*https);
  const bool v6 = config.listen_host.find(':') != std::string::npos;
  impl.base_url = !config.public_url.empty()
                      ? config.public_url
                      : "https://" + (v6 ? "[" + config.listen_host + "]" : config.listen_host) + ":" +
                            std::to_string(impl.server->port());
  auto logins = LoginTokens::open(state_dir, issuer.trustDomain(), impl.base_url);
  if (!logins) return Error{logins.error().message};
  impl.logins = std::move(*logins);
  auto idps = ExternalIdentityProviders::create(config.access.identity_providers);
  if (!idps) return Error{idps.error().message};
  impl.idps = std::move(*idps);
  if (!config.access.identity_providers.empty() && !impl.idps->waitReady(std::chrono::seconds(5))) {
    spdlog::warn("control plane: an identity provider's keys are not fetched yet; its users get "
                 "401 until they are");
  }
  impl.logins->rotate(std::time(nullptr));
  impl.login_throttle = std::make_unique<LoginThrottle>(config.login_throttle);
  impl.passwords = std::make_unique<PasswordWorker>(store, *impl.login_throttle,
                                                    impl.hooks.before_password_work);
  if (config.portal) {
    auto files = PortalStatic::create(config.portal->dir);
    if (!files) return Error{files.error().message};
    impl.portal = std::move(*files);
    PortalLoginOptions portal;
    portal.base_url = impl.base_url;
    portal.redirect_uris = config.portal->redirect_uris;
    portal.token_ttl = config.login_token_ttl;
    portal.now = [raw] { return raw->now(); };
    portal.buttons = [raw] {
      return raw->upstream ? raw->upstream->buttons() : std::vector<SignInButton>{};
    };
    impl.portal_login =
        std::make_unique<PortalLogin>(std::move(portal), store, *impl.logins, *impl.passwords);
    if (!config.portal->sign_in_providers.empty()) {
      UpstreamSignInOptions upstream;
      upstream.base_url = impl.base_url;
      upstream.now = [raw] { return raw->now(); };
      auto created = UpstreamSignIn::create(config.portal->sign_in_providers, std::move(upstream),
                                            *impl.portal_login);
      if (!created) return created.error();
      impl.upstream = std::move(*created);
      if (!impl.upstream->prefetch(std::chrono::seconds(5))) {
        spdlog::warn("control plane: a portal sign-in provider's metadata or keys are not "
                     "fetched yet; its button answers once they are");
      }
    }
  }
  impl.health_inputs.started_at = static_cast<std::int64_t>(impl.now());
  impl.health_inputs.database = config.database;
  impl.health_inputs.issuer = &issuer;
  if (!config.access.identity_providers.empty()) impl.health_inputs.identity_providers = impl.idps.get();
  impl.health_inputs.token_service = impl.hooks.token_service;
  impl.health_inputs.federated_bundles = impl.hooks.federated_bundles;
  impl.context.reset(new api::Context{impl.config, store, *impl.logins, &impl.server->context(), {}, {}, {}});
  impl.ready.store(true, std::memory_order_release);
  auto& ioc = impl.server->context();
  impl.subscription = store.subscribe([raw, &ioc](std::uint64_t) {
    asio::post(ioc, [raw] {
      if (raw->context) raw->context->config_waiters.notifyAll();
    });
  });
  return server;
}

std::uint16_t ApiServer::port() const { return impl_->server ? impl_->server->port() : 0; }
std::string ApiServer::baseUrl() const { return impl_->base_url; }
const std::string& ApiServer::generatedAdminPassword() const { return impl_->generated_password; }

void ApiServer::stop() {
  if (!impl_ || !impl_->server) return;
  if (impl_->subscription) impl_->store->unsubscribe(impl_->subscription);
  impl_->subscription = 0;
  auto& ioc = impl_->server->context();
  Impl* raw = impl_.get();
  asio::post(ioc, [raw] {
    raw->context->config_waiters.notifyAll();
    raw->context->audit_waiters.notifyAll();
  });
  impl_->server->stop();
  // Only now that no handler runs: a hash in progress finishes, and the queued ones are
  // dropped while the stopped loop their callers would resume on still exists.
  if (impl_->passwords) impl_->passwords->stop();
}

}  // namespace warden::controlplane
