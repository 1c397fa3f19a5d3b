// The issuer: which caller gets what, SVID caching and re-minting at half-life,
// JWT-SVIDs (JWT-SVID spec §3) and federated bundles per entry (federates_with).
#include "issuer/issuer.h"

#include <gtest/gtest.h>

#include "identity/svid_verifier.h"
#include "jose/jws.h"

namespace warden::issuer {
namespace {

RegistrationEntry entry(const std::string& name, std::vector<std::string> selectors,
                        std::string socket = {}) {
  RegistrationEntry e;
  e.name = name;
  e.spiffe_id = identity::SpiffeId::parse("spiffe://example.org/" + name).value();
  e.selectors = std::move(selectors);
  e.socket_path = std::move(socket);
  return e;
}

std::unique_ptr<Issuer> makeIssuer(std::vector<RegistrationEntry> entries) {
  IssuerOptions o;
  o.trust_domain = "example.org";
  auto issuer = Issuer::create(o, std::move(entries));
  EXPECT_TRUE(issuer.ok()) << (issuer.ok() ? "" : issuer.error().message);
  return std::move(*issuer);
}

TEST(Issuer, RejectsInvalidEntriesAtCreation) {
  IssuerOptions o;
  o.trust_domain = "example.org";
  EXPECT_FALSE(Issuer::create(o, {entry("a", {})}).ok());
}

TEST(Issuer, EntriesForMatchesSelectorsAndSocketBinding) {
  auto issuer = makeIssuer({entry("a", {"unix:uid:1000"}), entry("b", {"unix:uid:1001"}),
                            entry("c", {}, "/run/c.sock")});
  auto a = issuer->entriesFor({"unix:gid:1", "unix:uid:1000"}, "");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0]->name, "a");
  EXPECT_TRUE(issuer->entriesFor({"unix:uid:42"}, "").empty());
  // A per-workload socket grants only its own entry, whatever the caller's selectors.
  auto c = issuer->entriesFor({"unix:uid:1000"}, "/run/c.sock");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0]->name, "c");
  // ...and a socket-bound entry is never granted on the shared socket.
  EXPECT_TRUE(issuer->entriesFor({}, "").empty());
  EXPECT_TRUE(issuer->entriesFor({"unix:uid:1000"}, "/run/other.sock").empty());
}

TEST(Issuer, X509StateIsCachedPerEntryAndVerifies) {
  auto issuer = makeIssuer({entry("a", {"unix:uid:1"})});
  const auto entries = issuer->entriesFor({"unix:uid:1"}, "");
  auto s1 = issuer->x509State(entries);
  auto s2 = issuer->x509State(entries);
  ASSERT_TRUE(s1.ok() && s2.ok());
  ASSERT_EQ(s1->svids.size(), 1u);
  EXPECT_EQ(s1->svids[0].svid, s2->svids[0].svid) << "one SVID per entry, shared";
  std::string pem;
  for (const auto& c : s1->own_bundle) pem += certificatePem(c.get());
  auto set = identity::TrustBundleSet::fromPem({{"example.org", pem}});
  ASSERT_TRUE(set.ok());
  auto outcome =
      identity::verifyX509Svid(**set, s1->svids[0].svid->chain.front().get(), nullptr);
  EXPECT_TRUE(outcome.ok) << outcome.error.detail;
}

TEST(Issuer, TickReMintsAtHalfLifeAndBumpsTheGeneration) {
  auto e = entry("a", {"unix:uid:1"});
  e.x509_ttl = std::chrono::seconds(100);
  auto issuer = makeIssuer({e});
  const auto entries = issuer->entriesFor({"unix:uid:1"}, "");
  auto first = issuer->x509State(entries);
  ASSERT_TRUE(first.ok());
  const auto gen = issuer->generation();
  issuer->tick(std::time(nullptr) + 10);
  EXPECT_EQ(issuer->generation(), gen) << "nothing due yet";
  issuer->tick(std::time(nullptr) + 60);
  EXPECT_GT(issuer->generation(), gen);
  auto second = issuer->x509State(entries);
  ASSERT_TRUE(second.ok());
  EXPECT_NE(first->svids[0].svid, second->svids[0].svid);
}

// Half-life counts from issuance, not from the backdated notBefore: a 4 s SVID lives
// 2 s before it is re-minted (with notBefore's half it would be due at once, every tick).
TEST(Issuer, ShortTtlSvidIsReMintedAtHalfItsTtlNotEveryTick) {
  auto e = entry("a", {"unix:uid:1"});
  e.x509_ttl = std::chrono::seconds(4);
  auto issuer = makeIssuer({e});
  const auto entries = issuer->entriesFor({"unix:uid:1"}, "");
  auto first = issuer->x509State(entries);
  ASSERT_TRUE(first.ok());
  const std::time_t issued = first->svids[0].svid->issued_at;
  EXPECT_LE(issued, std::time(nullptr));
  EXPECT_EQ(first->svids[0].svid->not_after - issued, 4);
  const auto gen = issuer->generation();
  issuer->tick(issued + 1);
  EXPECT_EQ(issuer->generation(), gen) << "re-minted before half of its TTL";
  auto same = issuer->x509State(entries);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(first->svids[0].svid, same->svids[0].svid);
  issuer->tick(issued + 2);
  EXPECT_GT(issuer->generation(), gen);
  auto second = issuer->x509State(entries);
  ASSERT_TRUE(second.ok());
  EXPECT_NE(first->svids[0].svid, second->svids[0].svid);
}

TEST(Issuer, WaitForChangeWakesOnChange) {
  auto issuer = makeIssuer({entry("a", {"unix:uid:1"})});
  const auto gen = issuer->generation();
  const auto timed_out = issuer->waitForChange(
      gen, std::chrono::steady_clock::now() + std::chrono::milliseconds(20));
  EXPECT_EQ(timed_out, gen);
  ASSERT_TRUE(issuer->prepareRotation().ok());
  EXPECT_NE(issuer->waitForChange(gen, std::chrono::steady_clock::now()), gen);
}

TEST(Issuer, FederatedBundlesGoOnlyToEntriesThatFederate) {
  auto fed = entry("fed", {"unix:uid:1"});
  fed.federates_with = {"gcp.example"};
  auto issuer = makeIssuer({fed, entry("local", {"unix:uid:2"})});
  identity::SpiffeBundle gcp;
  gcp.trust_domain = "gcp.example";
  gcp.x509_authorities = issuer->x509Authority().bundle();  // any CA will do here
  issuer->setFederatedBundle(gcp);
  auto with = issuer->x509State(issuer->entriesFor({"unix:uid:1"}, ""));
  auto without = issuer->x509State(issuer->entriesFor({"unix:uid:2"}, ""));
  ASSERT_TRUE(with.ok() && without.ok());
  EXPECT_EQ(with->federated.count("gcp.example"), 1u);
  EXPECT_TRUE(without->federated.empty());
  issuer->removeFederatedBundle("gcp.example");
  auto removed = issuer->x509State(issuer->entriesFor({"unix:uid:1"}, ""));
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(removed->federated.empty()) << "a removed relationship is redacted";
}

// JWT-SVID §2-§3: ES256, kid, typ JWT, sub, aud, exp; validated against our own bundle.
TEST(Issuer, MintsAndValidatesJwtSvids) {
  auto issuer = makeIssuer({entry("a", {"unix:uid:1"})});
  const auto entries = issuer->entriesFor({"unix:uid:1"}, "");
  auto minted = issuer->mintJwtSvids(entries, {"spiffe://example.org/backend"}, "");
  ASSERT_EQ(minted.index(), 0u);
  const auto& svids = std::get<0>(minted);
  ASSERT_EQ(svids.size(), 1u);
  auto jws = jose::parseCompact(svids[0].token);
  ASSERT_TRUE(jws.ok());
  EXPECT_EQ(jws->header["alg"], "ES256");
  EXPECT_EQ(jws->header["typ"], "JWT");
  EXPECT_EQ(jws->header["kid"], issuer->jwtAuthority().activeKid());
  EXPECT_EQ(jws->payload["sub"], "spiffe://example.org/a");
  EXPECT_LE(jws->payload["exp"].get<std::int64_t>(), std::time(nullptr) + 300);

  auto ok = issuer->validateJwtSvid("spiffe://example.org/backend", svids[0].token);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->spiffe_id.str(), "spiffe://example.org/a");
  EXPECT_FALSE(issuer->validateJwtSvid("spiffe://example.org/other", svids[0].token).ok());
  std::string tampered = svids[0].token;
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(issuer->validateJwtSvid("spiffe://example.org/backend", tampered).ok());
}

TEST(Issuer, JwtSvidErrorsUseTheWorkloadApiCodes) {
  auto issuer = makeIssuer({entry("a", {"unix:uid:1"})});
  const auto entries = issuer->entriesFor({"unix:uid:1"}, "");
  auto no_audience = issuer->mintJwtSvids(entries, {}, "");
  ASSERT_EQ(no_audience.index(), 1u);
  EXPECT_EQ(std::get<1>(no_audience).kind, IssuerErrorKind::kInvalidArgument);
  auto not_entitled = issuer->mintJwtSvids(entries, {"x"}, "spiffe://example.org/b");
  ASSERT_EQ(not_entitled.index(), 1u);
  EXPECT_EQ(std::get<1>(not_entitled).kind, IssuerErrorKind::kPermissionDenied);
  auto bad_id = issuer->mintJwtSvids(entries, {"x"}, "not-an-id");
  ASSERT_EQ(bad_id.index(), 1u);
  EXPECT_EQ(std::get<1>(bad_id).kind, IssuerErrorKind::kInvalidArgument);
}

// Bundle format §4: sequence increases with every change; refresh hint published.
TEST(Issuer, OwnBundleSequenceIncreasesWithRotation) {
  auto issuer = makeIssuer({entry("a", {"unix:uid:1"})});
  const auto b1 = issuer->ownBundle();
  ASSERT_TRUE(b1.sequence.has_value());
  ASSERT_TRUE(b1.refresh_hint_seconds.has_value());
  ASSERT_TRUE(issuer->prepareRotation().ok());
  const auto b2 = issuer->ownBundle();
  EXPECT_GT(*b2.sequence, *b1.sequence);
  EXPECT_EQ(b2.x509_authorities.size(), 2u);
  EXPECT_EQ(b2.jwt_authorities.size(), 2u);
  ASSERT_TRUE(issuer->activateRotation().ok());
  EXPECT_GT(*issuer->ownBundle().sequence, *b2.sequence);
}

}  // namespace
}  // namespace warden::issuer
