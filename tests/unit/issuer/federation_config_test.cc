// FederationFetcher::start validation (federation.h; identity-standards §5.2): each
// relationship's three explicit parameters, the profile's own parameters and nothing of
// the other profile, and the timing bounds. Errors name the field.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/x509.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "identity/spiffe_bundle.h"
#include "issuer/federation.h"
#include "support/test_pki.h"

namespace warden::issuer {
namespace {

using ::testing::HasSubstr;
using warden::testing::TempDir;
using warden::testing::TestCa;

std::string bundleJson(const TestCa& ca) {
  identity::SpiffeBundle bundle;
  bundle.trust_domain = ca.trustDomain();
  X509_up_ref(ca.cert());
  bundle.x509_authorities.emplace_back(ca.cert(), X509_free);
  bundle.sequence = 1;
  return bundle.toJson();
}

class FederationConfigTest : public ::testing::Test {
 protected:
  FederationRelationship web() const {
    FederationRelationship r;
    r.trust_domain = "a.test";
    r.url = "https://bundles.a.test/bundle";
    r.profile = FederationProfile::kHttpsWeb;
    r.ca_file = ca_file;
    return r;
  }
  FederationRelationship spiffe() const {
    FederationRelationship r;
    r.trust_domain = "a.test";
    r.url = "https://127.0.0.1:8443/bundle";
    r.profile = FederationProfile::kHttpsSpiffe;
    r.endpoint_spiffe_id = "spiffe://a.test/bundle-endpoint";
    r.bootstrap_bundle = bundleJson(ca);
    return r;
  }
  // The start() error for one relationship, or "" if it started.
  static std::string startError(std::vector<FederationRelationship> rels,
                                FederationTiming timing = {}) {
    auto fetcher = FederationFetcher::start(std::move(rels), nullptr, timing);
    return fetcher ? std::string() : fetcher.error().message;
  }
  static std::string startError(FederationRelationship rel) {
    return startError(std::vector<FederationRelationship>{std::move(rel)});
  }

  TestCa ca{"a.test"};
  TempDir dir;
  std::string ca_file = warden::testing::writeFile(dir.path(), "roots.pem", ca.certPem());
};

TEST_F(FederationConfigTest, AcceptsBothProfiles) {
  EXPECT_EQ(startError(web()), "");
  EXPECT_EQ(startError(spiffe()), "");
  auto system_roots = web();
  system_roots.ca_file.clear();
  EXPECT_EQ(startError(system_roots), "");
  EXPECT_EQ(startError(std::vector<FederationRelationship>{}), "");
}

TEST_F(FederationConfigTest, UrlMustBeHttpsWithoutUserinfoOrFragment) {
  struct Case {
    std::string url;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"http://bundles.a.test/bundle", "scheme must be https"},
      {"bundles.a.test/bundle", "not a valid URI"},
      {"https://user@bundles.a.test/bundle", "userinfo"},
      {"https://user:pw@bundles.a.test/bundle", "userinfo"},
      {"https://bundles.a.test/bundle#keys", "fragment"},
      {"https:///bundle", "host"},
      {"https://bundles.a.test:0/", "invalid port"},
      {"https://bundles.a.test:65536/", "invalid port"},
      {"https://bund les.a.test/", "not a valid URI"},
      {"https://bundles_a.test/", "invalid host name"},
      {"", "not a valid URI"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.url);
    auto rel = web();
    rel.url = c.url;
    const std::string error = startError(rel);
    EXPECT_THAT(error, HasSubstr("federation[0].url"));
    EXPECT_THAT(error, HasSubstr(c.expected));
  }
}

TEST_F(FederationConfigTest, AcceptsUrlForms) {
  for (const std::string url :
       {"https://bundles.a.test", "https://BUNDLES.a.test:8443/b?x=1", "https://127.0.0.1:1/",
        "https://[::1]:8443/bundle", "https://bundles.a.test:/bundle"}) {
    SCOPED_TRACE(url);
    auto rel = web();
    rel.url = url;
    EXPECT_EQ(startError(rel), "");
  }
}

TEST_F(FederationConfigTest, TrustDomainMustBeABareValidName) {
  for (const std::string td : {"", "A.test", "spiffe://a.test", "a.test/x", "a test"}) {
    SCOPED_TRACE(td);
    auto rel = web();
    rel.trust_domain = td;
    EXPECT_THAT(startError(rel), HasSubstr("federation[0].trust_domain"));
  }
}

TEST_F(FederationConfigTest, OneRelationshipPerTrustDomain) {
  auto second = spiffe();
  EXPECT_THAT(startError({web(), second}),
              HasSubstr("federation[1].trust_domain: a.test has more than one relationship"));
  second.trust_domain = "b.test";
  EXPECT_EQ(startError({web(), second}), "");
}

TEST_F(FederationConfigTest, HttpsSpiffeNeedsEndpointIdAndBootstrapBundle) {
  auto no_id = spiffe();
  no_id.endpoint_spiffe_id.clear();
  EXPECT_THAT(startError(no_id), HasSubstr("federation[0].endpoint_spiffe_id: required"));

  auto bad_id = spiffe();
  bad_id.endpoint_spiffe_id = "spiffe://A.test/x";
  EXPECT_THAT(startError(bad_id), HasSubstr("federation[0].endpoint_spiffe_id"));

  auto td_id = spiffe();
  td_id.endpoint_spiffe_id = "spiffe://a.test";
  EXPECT_THAT(startError(td_id), HasSubstr("must name a workload"));

  auto no_bootstrap = spiffe();
  no_bootstrap.bootstrap_bundle.clear();
  EXPECT_THAT(startError(no_bootstrap), HasSubstr("federation[0].bootstrap_bundle: required"));

  auto bad_bootstrap = spiffe();
  bad_bootstrap.bootstrap_bundle = "-----BEGIN CERTIFICATE-----";
  EXPECT_THAT(startError(bad_bootstrap), HasSubstr("federation[0].bootstrap_bundle"));

  auto empty_bootstrap = spiffe();
  empty_bootstrap.bootstrap_bundle = R"({"keys":[]})";
  EXPECT_THAT(startError(empty_bootstrap), HasSubstr("no X.509 authority"));
}

TEST_F(FederationConfigTest, ProfilesDoNotMix) {
  auto web_with_id = web();
  web_with_id.endpoint_spiffe_id = "spiffe://a.test/bundle-endpoint";
  EXPECT_THAT(startError(web_with_id), HasSubstr("belong to the https_spiffe profile"));

  auto web_with_bootstrap = web();
  web_with_bootstrap.bootstrap_bundle = bundleJson(ca);
  EXPECT_THAT(startError(web_with_bootstrap), HasSubstr("belong to the https_spiffe profile"));

  auto spiffe_with_ca = spiffe();
  spiffe_with_ca.ca_file = ca_file;
  EXPECT_THAT(startError(spiffe_with_ca), HasSubstr("federation[0].ca_file"));
}

TEST_F(FederationConfigTest, CaFileMustHoldCertificates) {
  auto missing = web();
  missing.ca_file = dir.file("missing.pem");
  EXPECT_THAT(startError(missing), HasSubstr("federation[0].ca_file"));

  auto garbage = web();
  garbage.ca_file = warden::testing::writeFile(dir.path(), "garbage.pem", "not a certificate\n");
  EXPECT_THAT(startError(garbage), HasSubstr("federation[0].ca_file"));
}

TEST_F(FederationConfigTest, TimingBounds) {
  using std::chrono::milliseconds;
  FederationTiming t;
  t.min_refresh = milliseconds(0);
  EXPECT_THAT(startError({web()}, t), HasSubstr("min_refresh"));
  t = {};
  t.max_refresh = t.min_refresh - milliseconds(1);
  EXPECT_THAT(startError({web()}, t), HasSubstr("max_refresh"));
  t = {};
  t.retry = milliseconds(0);
  EXPECT_THAT(startError({web()}, t), HasSubstr("retry"));
  t = {};
  t.request_timeout = milliseconds(-1);
  EXPECT_THAT(startError({web()}, t), HasSubstr("request_timeout"));
}

// A valid relationship whose endpoint is down: status says so, and nothing is held.
TEST_F(FederationConfigTest, StatusReportsFailedFetches) {
  auto rel = web();
  rel.url = "https://127.0.0.1:1/bundle";  // nothing listens on port 1
  FederationTiming t;
  t.retry = std::chrono::milliseconds(50);
  auto fetcher = FederationFetcher::start({rel}, nullptr, t);
  ASSERT_TRUE(fetcher.ok()) << fetcher.error().message;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while ((*fetcher)->status().front().fetches_failed < 2 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const auto status = (*fetcher)->status();
  ASSERT_EQ(status.size(), 1u);
  EXPECT_EQ(status[0].trust_domain, "a.test");
  EXPECT_FALSE(status[0].has_bundle);
  EXPECT_FALSE(status[0].sequence.has_value());
  EXPECT_GE(status[0].fetches_failed, 2u);
  EXPECT_EQ(status[0].fetches_ok, 0u);
  EXPECT_THAT(status[0].last_error, HasSubstr("connecting to 127.0.0.1:1"));
  EXPECT_NE(status[0].last_attempt, std::chrono::system_clock::time_point{});
  EXPECT_EQ(status[0].last_success, std::chrono::system_clock::time_point{});
  EXPECT_TRUE((*fetcher)->bundles().empty());
}

}  // namespace
}  // namespace warden::issuer
