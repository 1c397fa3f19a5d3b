// X.509 signing authority: SVIDs per the X509-SVID spec (§4: one URI SAN, CA:FALSE,
// critical keyUsage digitalSignature), accepted by Warden's own verifier and by
// `openssl verify`; keys persisted 0600; rotation publishes before signing.
#include "issuer/x509_authority.h"

#include <gtest/gtest.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "identity/svid_verifier.h"
#include "support/test_pki.h"

namespace warden::issuer {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

identity::SpiffeId id(const std::string& s) { return identity::SpiffeId::parse(s).value(); }

std::string pemOf(const std::vector<X509Ref>& certs) {
  std::string out;
  for (const auto& c : certs) out += certificatePem(c.get());
  return out;
}

std::unique_ptr<X509Authority> openInMemory(seconds ttl = hours(24)) {
  auto a = X509Authority::open({"example.org", "", ttl});
  EXPECT_TRUE(a.ok()) << (a.ok() ? "" : a.error().message);
  return std::move(*a);
}

std::vector<std::string> uriSans(X509* cert) {
  std::vector<std::string> out;
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(sans, i);
    if (n->type == GEN_URI) {
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(n->d.uniformResourceIdentifier)),
                       static_cast<std::size_t>(ASN1_STRING_length(n->d.uniformResourceIdentifier)));
    }
  }
  GENERAL_NAMES_free(sans);
  return out;
}

identity::VerifyOutcome verifyWith(const std::vector<X509Ref>& bundle, const IssuedX509Svid& svid,
                                   std::time_t now = 0) {
  auto set = identity::TrustBundleSet::fromPem({{"example.org", pemOf(bundle)}});
  EXPECT_TRUE(set.ok());
  return identity::verifyX509Svid(**set, svid.chain.front().get(), nullptr, now);
}

TEST(X509Authority, IssuesSvidsThatWardensVerifierAccepts) {
  auto ca = openInMemory();
  auto svid = ca->issue(id("spiffe://example.org/budget-report"), hours(1), {});
  ASSERT_TRUE(svid.ok()) << svid.error().message;
  const auto outcome = verifyWith(ca->bundle(), *svid);
  ASSERT_TRUE(outcome.ok) << outcome.error.detail;
  EXPECT_EQ(outcome.peer.id.str(), "spiffe://example.org/budget-report");
  EXPECT_LE(svid->not_after, std::time(nullptr) + 3600);
  EXPECT_GT(svid->not_after, std::time(nullptr) + 3500);
  // The key handed out belongs to the certificate.
  EXPECT_EQ(X509_check_private_key(svid->chain.front().get(), svid->key.get()), 1);
}

// X509-SVID §4.1-§4.3: leaf constraints, exactly one URI SAN, EKU server+client.
TEST(X509Authority, LeafHasTheSpecsExtensions) {
  auto ca = openInMemory();
  auto svid = ca->issue(id("spiffe://example.org/a"), hours(1), {"a.local"});
  ASSERT_TRUE(svid.ok());
  X509* leaf = svid->chain.front().get();
  EXPECT_EQ(X509_check_ca(leaf), 0);
  const uint32_t ku = X509_get_key_usage(leaf);
  EXPECT_TRUE(ku & KU_DIGITAL_SIGNATURE);
  EXPECT_FALSE(ku & (KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  int critical = -1;
  auto* ku_ext = static_cast<ASN1_BIT_STRING*>(X509_get_ext_d2i(leaf, NID_key_usage, &critical, nullptr));
  ASN1_BIT_STRING_free(ku_ext);
  EXPECT_EQ(critical, 1) << "keyUsage must be critical";
  const uint32_t eku = X509_get_extended_key_usage(leaf);
  EXPECT_TRUE(eku & XKU_SSL_SERVER);
  EXPECT_TRUE(eku & XKU_SSL_CLIENT);
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(leaf, NID_subject_alt_name, nullptr, nullptr));
  int uris = 0, dns = 0;
  for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(sans, i);
    uris += n->type == GEN_URI;
    dns += n->type == GEN_DNS;
  }
  GENERAL_NAMES_free(sans);
  EXPECT_EQ(uris, 1);
  EXPECT_EQ(dns, 1);
  // The CA itself: CA:TRUE, keyCertSign, SPIFFE ID without a path (§4.1).
  X509* root = ca->activeCertificate().get();
  EXPECT_EQ(X509_check_ca(root), 1);
  EXPECT_TRUE(X509_get_key_usage(root) & KU_KEY_CERT_SIGN);
  EXPECT_EQ(uriSans(root), std::vector<std::string>{"spiffe://example.org"});
}

TEST(X509Authority, OpensslVerifyAcceptsTheSvid) {
  testing::TempDir dir;
  auto ca = openInMemory();
  auto svid = ca->issue(id("spiffe://example.org/a"), hours(1), {});
  ASSERT_TRUE(svid.ok());
  testing::writeFile(dir.path(), "bundle.pem", pemOf(ca->bundle()));
  testing::writeFile(dir.path(), "leaf.pem", certificatePem(svid->chain.front().get()));
  for (const char* purpose : {"sslclient", "sslserver"}) {
    const std::string cmd = "openssl verify -purpose " + std::string(purpose) + " -CAfile " +
                            dir.file("bundle.pem") + " " + dir.file("leaf.pem") + " >/dev/null 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  // Negative control: another CA's bundle must not verify it (the check can fail).
  auto other = openInMemory();
  testing::writeFile(dir.path(), "other.pem", pemOf(other->bundle()));
  const std::string cmd = "openssl verify -CAfile " + dir.file("other.pem") + " " +
                          dir.file("leaf.pem") + " >/dev/null 2>&1";
  EXPECT_NE(std::system(cmd.c_str()), 0);
}

TEST(X509Authority, RefusesIdsOutsideItsTrustDomainOrWithoutPath) {
  auto ca = openInMemory();
  EXPECT_FALSE(ca->issue(id("spiffe://other.org/a"), hours(1), {}).ok());
  EXPECT_FALSE(ca->issue(id("spiffe://example.org"), hours(1), {}).ok());
}

TEST(X509Authority, SvidNeverOutlivesItsCa) {
  auto ca = openInMemory(seconds(120));
  auto svid = ca->issue(id("spiffe://example.org/a"), hours(10), {});
  ASSERT_TRUE(svid.ok());
  EXPECT_LE(svid->not_after, notAfter(ca->activeCertificate().get()));
}

TEST(X509Authority, PersistsKeysWithPrivateModeAndReloadsTheSameCa) {
  testing::TempDir dir;
  std::string first_der;
  {
    auto ca = X509Authority::open({"example.org", dir.path(), hours(24)});
    ASSERT_TRUE(ca.ok()) << ca.error().message;
    first_der = certificateDer((*ca)->activeCertificate().get());
  }
  struct stat st {};
  ASSERT_EQ(::stat((dir.path() + "/x509/active.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir.path() + "/x509").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  auto again = X509Authority::open({"example.org", dir.path(), hours(24)});
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(certificateDer((*again)->activeCertificate().get()), first_der);
  // A key file others can read is refused, not used.
  ::chmod((dir.path() + "/x509/active.key").c_str(), 0644);
  auto refused = X509Authority::open({"example.org", dir.path(), hours(24)});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("chmod 600"), std::string::npos);
}

// Rotation: prepared CA published before it signs; the retired one stays until it expires.
TEST(X509Authority, RotationPublishesTheNextCaBeforeItSigns) {
  auto ca = openInMemory(seconds(1000));
  const std::time_t start = std::time(nullptr);
  const auto seq0 = ca->sequence();
  auto old_root = ca->activeCertificate();
  auto early = ca->rotate(start + 100);
  ASSERT_TRUE(early.ok());
  EXPECT_FALSE(*early);
  EXPECT_EQ(ca->bundle().size(), 1u);

  auto prepared = ca->rotate(start + 600);
  ASSERT_TRUE(prepared.ok());
  EXPECT_TRUE(*prepared);
  EXPECT_EQ(ca->bundle().size(), 2u);
  EXPECT_GT(ca->sequence(), seq0);
  auto svid = ca->issue(id("spiffe://example.org/a"), seconds(60), {});
  ASSERT_TRUE(svid.ok());
  EXPECT_EQ(X509_check_issued(old_root.get(), svid->chain.front().get()), X509_V_OK)
      << "the prepared CA must not sign yet";

  const auto seq1 = ca->sequence();
  auto activated = ca->rotate(start + 800);
  ASSERT_TRUE(activated.ok());
  EXPECT_TRUE(*activated);
  EXPECT_GT(ca->sequence(), seq1);
  EXPECT_NE(certificateDer(ca->activeCertificate().get()), certificateDer(old_root.get()));
  EXPECT_EQ(ca->bundle().size(), 2u) << "the retired CA stays while its SVIDs may be valid";
  // An SVID of the old CA still verifies against the new bundle.
  EXPECT_TRUE(verifyWith(ca->bundle(), *svid).ok);

  auto dropped = ca->rotate(notAfter(old_root.get()) + 1);
  ASSERT_TRUE(dropped.ok());
  bool still_there = false;
  for (const auto& c : ca->bundle()) {
    still_there = still_there || certificateDer(c.get()) == certificateDer(old_root.get());
  }
  EXPECT_FALSE(still_there);
}

TEST(X509Authority, ManualRotationStepsKeepOldSvidsVerifiable) {
  auto ca = openInMemory();
  auto before = ca->issue(id("spiffe://example.org/a"), hours(1), {});
  ASSERT_TRUE(before.ok());
  EXPECT_FALSE(ca->activatePrepared().ok()) << "nothing prepared yet";
  ASSERT_TRUE(ca->prepareNext().ok());
  ASSERT_TRUE(ca->activatePrepared().ok());
  auto after = ca->issue(id("spiffe://example.org/a"), hours(1), {});
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(verifyWith(ca->bundle(), *before).ok);
  EXPECT_TRUE(verifyWith(ca->bundle(), *after).ok);
  // Only the new root signs the new SVID.
  auto only_new = std::vector<X509Ref>{ca->activeCertificate()};
  EXPECT_TRUE(verifyWith(only_new, *after).ok);
  EXPECT_FALSE(verifyWith(only_new, *before).ok);
}

}  // namespace
}  // namespace warden::issuer
