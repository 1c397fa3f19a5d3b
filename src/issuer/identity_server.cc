#include "issuer/identity_server.h"

#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

#include "issuer/oidc_discovery.h"

namespace warden::issuer {
namespace {

Result<std::string> readText(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error{"cannot read " + path};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

Result<std::unique_ptr<IdentityServer>> IdentityServer::start(const IdentityServerConfig& config,
                                                              IdentityServerTuning tuning) {
  std::unique_ptr<IdentityServer> self(new IdentityServer());
  IssuerOptions options;
  options.trust_domain = config.trust_domain;
  options.state_dir = config.state_dir;
  options.ca_ttl = config.ca_ttl;
  options.jwt_key_ttl = config.jwt_key_ttl;
  options.jwt_key_type = config.jwt_key_type;
  options.jwt_issuer = config.jwt_issuer;
  options.bundle_refresh_hint = config.bundle_refresh_hint;
  options.tick = tuning.rotation_tick;
  auto issuer = Issuer::create(options, config.entries);
  if (!issuer) return issuer.error();
  self->issuer_ = std::move(*issuer);
  self->issuer_->tick(std::time(nullptr));
  self->issuer_->start();

  if (!config.federation.empty()) {
    Issuer* iss = self->issuer_.get();
    auto fetcher = FederationFetcher::start(
        config.federation, [iss](const identity::SpiffeBundle& b) { iss->setFederatedBundle(b); },
        tuning.federation);
    if (!fetcher) return fetcher.error();
    self->federation_ = std::move(*fetcher);
  }
  if (config.bundle_endpoint) {
    const auto& be = *config.bundle_endpoint;
    auto cert = readText(be.cert_path);
    if (!cert) return cert.error();
    auto key = readText(be.key_path);
    if (!key) return key.error();
    Issuer* iss = self->issuer_.get();
    BundleEndpointOptions endpoint{be.listen_host, be.listen_port, be.path, *cert, *key, {}};
    if (!config.jwt_issuer.empty()) {
      // The OIDC discovery of the JWT-SVID issuer, as SPIRE's OIDC Discovery Provider
      // serves it, so a relying party that knows only `iss` (Entra FIC) finds the keys.
      const std::string issuer_url = config.jwt_issuer;
      endpoint.documents.push_back({oidcDiscoveryPath(issuer_url), [iss, issuer_url] {
                                      return oidcDiscoveryDocument(
                                          issuer_url, iss->jwtAuthority().publishedKeys());
                                    }});
      endpoint.documents.push_back({oidcJwksPath(issuer_url), [iss] {
                                      return oidcJwks(iss->jwtAuthority().publishedKeys());
                                    }});
    }
    auto server = BundleEndpointServer::start(std::move(endpoint),
                                              [iss] { return iss->ownBundle().toJson(); });
    if (!server) return server.error();
    self->bundle_endpoint_ = std::move(*server);
    spdlog::info("identity: bundle endpoint for {} on https://{}:{}{}", config.trust_domain,
                 be.listen_host, self->bundle_endpoint_->port(), be.path);
    if (!config.jwt_issuer.empty()) {
      spdlog::info("identity: OIDC discovery for JWT issuer {} at {} and {}", config.jwt_issuer,
                   oidcDiscoveryPath(config.jwt_issuer), oidcJwksPath(config.jwt_issuer));
    }
  }
  WorkloadApiServerOptions wl;
  wl.socket_path = config.workload_api_socket;
  for (const auto& e : config.entries) {
    if (!e.socket_path.empty()) wl.workload_sockets.push_back(e.socket_path);
  }
  if (!wl.socket_path.empty() || !wl.workload_sockets.empty()) {
    auto api = WorkloadApiServer::start(*self->issuer_, wl);
    if (!api) return api.error();
    self->workload_api_ = std::move(*api);
  }
  return self;
}

IdentityServer::~IdentityServer() {
  workload_api_.reset();
  bundle_endpoint_.reset();
  federation_.reset();
  issuer_.reset();
}

std::uint16_t IdentityServer::bundleEndpointPort() const {
  return bundle_endpoint_ ? bundle_endpoint_->port() : 0;
}

}  // namespace warden::issuer
