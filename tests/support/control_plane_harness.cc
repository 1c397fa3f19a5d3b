#include "support/control_plane_harness.h"

#include <gtest/gtest.h>

#include "controlplane/api_config.h"
#include "issuer/key_store.h"

namespace warden::testing {

ControlPlane::ControlPlane(std::vector<std::string> agents) {
  EXPECT_TRUE(app.start());
  issuer::IdentityServerConfig identity;
  identity.trust_domain = "example.org";
  identity.state_dir = dir.file("state");
  auto entry = [&](const std::string& name, const std::string& id) {
    issuer::RegistrationEntry e;
    e.name = name;
    e.spiffe_id = identity::SpiffeId::parse(id).value();
    e.socket_path = dir.file(name + ".sock");
    identity.entries.push_back(e);
  };
  entry("warden-server", kServerSpiffeId);
  entry("admin", kAdminId);
  entry("developer", kDeveloperId);
  entry("viewer", kViewerId);
  entry("stranger", "spiffe://example.org/stranger");
  for (const auto& a : agents) entry(a, "spiffe://example.org/" + a);
  entries_ = identity.entries;
  issuer::IdentityServerTuning tuning;
  tuning.rotation_tick = std::chrono::milliseconds(200);
  auto server = issuer::IdentityServer::start(identity, tuning);
  EXPECT_TRUE(server.ok()) << (server.ok() ? "" : server.error().message);
  identity_ = std::move(*server);
  std::string bundle;
  const auto bundles = identity_->issuer().x509Bundles();  // keep the map alive for the loop
  for (const auto& c : bundles.at("example.org")) {
    bundle += issuer::certificatePem(c.get());
  }
  bundle_path_ = writeFile(dir.path(), "bundle.pem", bundle);
  start();
}

ControlPlane::~ControlPlane() {
  api_.reset();
  ssf_.reset();
  store_.reset();
}

void ControlPlane::start() {
  auto opened = controlplane::Store::open(dir.file("warden.db"));
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  store_ = std::move(*opened);
  controlplane::ControlPlaneConfig config;
  config.listen_port = port_;  // the same port after a restart
  config.tls_svid_entry = "warden-server";
  config.database = dir.file("warden.db");
  config.access.admins.push_back(identity::IdMatcher::exact(kAdminId).value());
  config.access.developers.push_back(identity::IdMatcher::exact(kDeveloperId).value());
  config.access.viewers.push_back(identity::IdMatcher::exact(kViewerId).value());
  config.access.identity_providers = identity_providers;
  config.portal = portal;
  config.login_throttle = login_throttle;
  config.long_poll_max = std::chrono::seconds(5);
  controlplane::ApiServerHooks hooks;
  hooks.before_password_work = before_password_work;
  hooks.now_unix = [this] {
    return static_cast<std::int64_t>(std::time(nullptr)) + api_clock_offset.load();
  };
  if (ssf) {
    auto endpoint = controlplane::SsfEndpoint::create(*ssf, *store_);
    ASSERT_TRUE(endpoint.ok()) << endpoint.error().message;
    ssf_ = std::move(*endpoint);
    hooks.ssf_push = controlplane::SsfEndpoint::pushHook(ssf_);
  }
  auto api = controlplane::ApiServer::start(config, *store_, identity_->issuer(), entries_,
                                            dir.file("state"), std::move(hooks));
  ASSERT_TRUE(api.ok()) << api.error().message;
  api_ = std::move(*api);
  port_ = api_->port();
  base_url_ = api_->baseUrl();
  if (ssf_) {
    auto listening = ssf_->open(api_->baseUrl());
    ASSERT_TRUE(listening.ok()) << listening.message();
  }
  if (!api_->generatedAdminPassword().empty()) admin_password_ = api_->generatedAdminPassword();
}

void ControlPlane::stop() {
  api_.reset();
  ssf_.reset();
  store_.reset();
}

ClientCredential ControlPlane::credential(const std::string& name) {
  if (auto it = credentials_.find(name); it != credentials_.end()) return it->second;
  const auto it = std::find_if(entries_.begin(), entries_.end(), [&](const auto& e) { return e.name == name; });
  EXPECT_NE(it, entries_.end()) << name;
  auto state = identity_->issuer().x509State({std::make_shared<const issuer::RegistrationEntry>(*it)});
  EXPECT_TRUE(state.ok());
  const auto& svid = state->svids.front().svid;
  std::string chain;
  for (const auto& c : svid->chain) chain += issuer::certificatePem(c.get());
  ClientCredential cred{writeFile(dir.path(), name + ".pem", chain),
                        writeFile(dir.path(), name + ".key", issuer::privateKeyPem(svid->key.get()))};
  credentials_[name] = cred;
  return cred;
}

HttpResponse ControlPlane::call(const std::optional<ClientCredential>& who, const std::string& method,
                                const std::string& target, const std::string& body,
                                const std::string& extra_headers) {
  auto c = TestConnection::tls(port_, who);
  EXPECT_NE(c, nullptr);
  if (!c) return {};
  std::string headers = extra_headers;
  if (!body.empty() && extra_headers.find("Content-Type") == std::string::npos) {
    headers += "Content-Type: application/json\r\n";
  }
  EXPECT_TRUE(c->send(makeRequest(method, target, headers, body)));
  auto res = c->read(method == "HEAD", std::chrono::seconds(15));
  EXPECT_TRUE(res) << c->lastError();
  return res ? *res : HttpResponse{};
}

void ControlPlane::addAgent(const nlohmann::json& agent) {
  auto res = admin("POST", "/api/v1/agents", agent.dump());
  EXPECT_EQ(res.status, 201) << res.body;
}

HttpResponse ControlPlane::putDocument(const std::string& kind, const std::string& target,
                                       const std::string& content, const std::string& comment) {
  auto current = admin("GET", "/api/v1/" + kind + "/" + target);
  std::string headers;
  if (current.status == 200) headers = "If-Match: " + current.header("etag") + "\r\n";
  return admin("PUT", "/api/v1/" + kind + "/" + target,
               nlohmann::json{{"content", content}, {"comment", comment}}.dump(), headers);
}

proxy::SidecarConfig ControlPlane::sidecarConfig(const std::string& entry, bool ingress,
                                                 const std::string& instance) {
  const auto cred = credential(entry);
  proxy::SidecarConfig c;
  c.source_path = "test";
  c.identity.cert_path = cred.cert_path;
  c.identity.key_path = cred.key_path;
  c.identity.bundle_paths = {{"example.org", bundle_path_}};
  c.identity.poll_interval_ms = 100;
  if (ingress) c.ingress = proxy::IngressConfig{{"127.0.0.1", 0}, {"127.0.0.1", app.port()}, "", ""};
  c.admin_enabled = true;
  c.admin_listen = {"127.0.0.1", 0};
  proxy::ControlPlaneConfig cp;
  cp.url = base_url_;
  cp.server_id = kServerSpiffeId;
  cp.state_dir = dir.file("sidecar-" + entry + instance);
  cp.poll_wait = std::chrono::seconds(5);
  c.control_plane = cp;
  return c;
}

std::unique_ptr<proxy::Sidecar> ControlPlane::startSidecar(proxy::SidecarConfig config) {
  auto created = proxy::Sidecar::create(std::move(config));
  EXPECT_TRUE(created.ok()) << (created.ok() ? "" : created.error().message);
  if (!created.ok()) return nullptr;
  auto st = (*created)->start();
  EXPECT_TRUE(st.ok()) << st.message();
  if (!st.ok()) return nullptr;
  return std::move(*created);
}

}  // namespace warden::testing
