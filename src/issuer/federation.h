// SPIFFE federation (SPIFFE_Federation.md; identity-standards §5.2): serving this trust
// domain's bundle, and fetching foreign trust domains' bundles.
//
// BundleEndpointServer answers GET on one path with the current bundle document
// (`application/json`; 405 for other methods; 404 elsewhere; optionally further public
// documents on their own paths: the JWT issuer's OIDC discovery) over TLS with the server
// certificate it is given (`https_web` profile: a Web PKI certificate for the host name).
// It never asks for a client certificate (the spec forbids requiring client auth).
//
// FederationFetcher keeps one relationship per foreign trust domain, each configured by
// its three explicit parameters (trust domain, URL, profile; none inferred from another).
// It fetches at start and then at the bundle's `spiffe_refresh_hint` (bounded to
// [min_refresh, max_refresh]; default 5 min without a hint), retrying failures at the
// retry interval. A fetched bundle replaces the held one only when it parses, is for that
// trust domain, is not older (`spiffe_sequence` lower than held → ignored) and is not
// oversize; otherwise the last good bundle is kept and the error is recorded and logged.
// `https_web`: the server certificate is verified per RFC 6125 against the system roots,
// or against `ca_file` when one is configured (private PKIs and tests). `https_spiffe`:
// the server must present an X509-SVID for exactly `endpoint_spiffe_id`, verified with the
// bundle held for that ID's trust domain (the last fetched one, or `bootstrap_bundle`).
// Redirects are not followed.
// Thread-safety: both run their own I/O thread; accessors may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "identity/spiffe_bundle.h"

namespace warden::issuer {

// Another public JSON document served beside the bundle on the same terms (GET and HEAD
// on its exact path, `Cache-Control: no-store`, 503 while the provider returns ""): the
// JWT issuer's OIDC discovery document and JWKS (oidc_discovery.h).
struct ServedDocument {
  std::string path;
  std::function<std::string()> provider;  // called per request
};

struct BundleEndpointOptions {
  std::string listen_host = "127.0.0.1";  // IP literal
  std::uint16_t listen_port = 0;          // 0: ephemeral; see port()
  std::string path = "/";
  std::string cert_pem;  // server certificate chain (leaf first)
  std::string key_pem;
  std::vector<ServedDocument> documents;  // paths distinct from `path` and each other
};

class BundleEndpointServer {
 public:
  // `bundle_json` is called per request and returns the current bundle document.
  static Result<std::unique_ptr<BundleEndpointServer>> start(
      BundleEndpointOptions options, std::function<std::string()> bundle_json);
  ~BundleEndpointServer();  // stops and joins
  std::uint16_t port() const;

 private:
  BundleEndpointServer();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

enum class FederationProfile { kHttpsWeb, kHttpsSpiffe };

struct FederationRelationship {
  std::string trust_domain;  // bare name
  std::string url;           // https://host[:port]/path; no userinfo
  FederationProfile profile = FederationProfile::kHttpsWeb;
  std::string ca_file;             // https_web: roots instead of the system's (optional)
  std::string endpoint_spiffe_id;  // https_spiffe: required
  std::string bootstrap_bundle;    // https_spiffe: SPIFFE bundle document (JSON text)
};

struct FederationTiming {
  std::chrono::milliseconds min_refresh{1000};
  std::chrono::milliseconds max_refresh{std::chrono::minutes(5)};
  std::chrono::milliseconds default_refresh{std::chrono::minutes(5)};
  std::chrono::milliseconds retry{std::chrono::seconds(5)};
  std::chrono::milliseconds request_timeout{std::chrono::seconds(10)};
};

struct FederationStatus {
  std::string trust_domain;
  bool has_bundle = false;
  std::optional<std::int64_t> sequence;
  std::chrono::system_clock::time_point last_success{};
  std::chrono::system_clock::time_point last_attempt{};
  std::string last_error;  // empty after a success
  std::uint64_t fetches_ok = 0;
  std::uint64_t fetches_failed = 0;
};

class FederationFetcher {
 public:
  // Called (on the fetcher's thread) whenever a trust domain's held bundle changes.
  using ChangeFn = std::function<void(const identity::SpiffeBundle&)>;
  // Validates the relationships (URL form, profile parameters) and starts fetching.
  static Result<std::unique_ptr<FederationFetcher>> start(
      std::vector<FederationRelationship> relationships, ChangeFn on_change,
      FederationTiming timing = {});
  ~FederationFetcher();  // stops and joins

  // The held bundle of every trust domain that has one.
  std::map<std::string, identity::SpiffeBundle> bundles() const;
  std::vector<FederationStatus> status() const;
  // Fetches every relationship now (tests and admin "refresh"), without waiting.
  void refreshNow();

 private:
  FederationFetcher();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace warden::issuer
