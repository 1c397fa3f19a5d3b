// X509-SVID verification tests: the verification cases X1-X13 of identity-standards §10.2,
// with certificates minted by tests/support/test_pki (and, for the cross-checks, by the
// `openssl` command line). Spec references: X509-SVID §4 (constraints) and §5 (validation),
// summarised in identity-standards §2.
#include "identity/svid_verifier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

#include "support/test_pki.h"

namespace warden::identity {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using warden::testing::Credential;
using warden::testing::LeafOptions;
using warden::testing::TempDir;
using warden::testing::TestCa;
using warden::testing::writeFile;
using warden::testing::X509Ptr;

constexpr const char* kTd = "warden.local";
constexpr const char* kEvilTd = "evil.local";

std::shared_ptr<const TrustBundleSet> bundlesOf(std::initializer_list<const TestCa*> cas) {
  std::map<std::string, std::string> pems;
  for (const TestCa* ca : cas) {
    pems[ca->trustDomain()] += ca->certPem();
  }
  Result<std::shared_ptr<const TrustBundleSet>> set = TrustBundleSet::fromPem(pems);
  EXPECT_TRUE(set.ok()) << set.error().message;
  return set.ok() ? *set : nullptr;
}

std::vector<X509Ptr> parsePem(const std::string& pem) {
  std::vector<X509Ptr> certs;
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    certs.emplace_back(cert);
  }
  BIO_free(bio);
  return certs;
}

// An untrusted chain as a peer presents it; owns its certificates.
class Chain {
 public:
  explicit Chain(const std::string& pem = "") : certs_(parsePem(pem)), stack_(sk_X509_new_null()) {
    for (const X509Ptr& cert : certs_) {
      sk_X509_push(stack_, cert.get());
    }
  }
  ~Chain() { sk_X509_free(stack_); }
  Chain(const Chain&) = delete;
  Chain& operator=(const Chain&) = delete;
  STACK_OF(X509) * get() const { return stack_; }

 private:
  std::vector<X509Ptr> certs_;
  STACK_OF(X509) * stack_;
};

VerifyOutcome verify(const TrustBundleSet& bundles, const Credential& leaf,
                     const std::string& chain_pem = "", std::time_t now = 0) {
  Chain chain(chain_pem);
  return verifyX509Svid(bundles, leaf.cert.get(), chain.get(), now);
}

void expectRefused(const VerifyOutcome& outcome, SvidFailure failure, const std::string& detail) {
  EXPECT_FALSE(outcome.ok);
  EXPECT_EQ(outcome.error.failure, failure);
  EXPECT_THAT(outcome.error.detail, HasSubstr(detail));
}

class SvidVerifierTest : public ::testing::Test {
 protected:
  TestCa ca_{kTd};
  TestCa evil_{kEvilTd};
  std::shared_ptr<const TrustBundleSet> bundles_ = bundlesOf({&ca_});
};

TEST(SvidReasonCodeTest, StableCodes) {
  EXPECT_EQ(toReasonCode(SvidFailure::kInvalidSvid), "invalid_svid");
  EXPECT_EQ(toReasonCode(SvidFailure::kUntrustedCertificate), "untrusted_certificate");
}

// X1: a good leaf is accepted and its ID, DER hash and expiry come back.
TEST_F(SvidVerifierTest, X1GoodLeafAccepted) {
  const std::time_t before = std::time(nullptr);
  const Credential leaf = ca_.issue("spiffe://warden.local/ns/prod/sa/api");
  const VerifyOutcome outcome = verify(*bundles_, leaf);
  ASSERT_TRUE(outcome.ok) << outcome.error.detail;
  EXPECT_EQ(outcome.peer.id.str(), "spiffe://warden.local/ns/prod/sa/api");
  const std::vector<unsigned char> want = leaf.sha256();
  EXPECT_TRUE(std::equal(want.begin(), want.end(), outcome.peer.cert_sha256.begin(),
                         outcome.peer.cert_sha256.end()));
  EXPECT_GE(outcome.peer.not_after, before + 3600 - 5);
  EXPECT_LE(outcome.peer.not_after, std::time(nullptr) + 3600 + 5);
}

// X509-SVID §2: any number of DNS/IP SANs is allowed and means nothing to SPIFFE.
TEST_F(SvidVerifierTest, X1DnsAndIpSansAllowed) {
  LeafOptions opts;
  opts.dns = {"api.example.com", "localhost"};
  opts.ips = {"127.0.0.1", "::1"};
  const VerifyOutcome outcome = verify(*bundles_, ca_.issue("spiffe://warden.local/api", opts));
  ASSERT_TRUE(outcome.ok) << outcome.error.detail;
  EXPECT_EQ(outcome.peer.id.str(), "spiffe://warden.local/api");
}

// The leaf may also appear in the presented chain (as in a TLS Certificate message).
TEST_F(SvidVerifierTest, X1LeafInsideChainAndNullChain) {
  const Credential leaf = ca_.issue("spiffe://warden.local/api");
  EXPECT_TRUE(verify(*bundles_, leaf, leaf.certPem()).ok);
  EXPECT_TRUE(verifyX509Svid(*bundles_, leaf.cert.get(), nullptr).ok);
}

TEST_F(SvidVerifierTest, NullLeafRefused) {
  expectRefused(verifyX509Svid(*bundles_, nullptr, nullptr), SvidFailure::kInvalidSvid,
                "no peer certificate");
}

// X2 (X509-SVID §2, exactly one URI SAN): OpenSSL alone accepts this certificate.
TEST_F(SvidVerifierTest, X2TwoUriSansRejected) {
  LeafOptions opts;
  opts.uris = {"spiffe://warden.local/a", "spiffe://warden.local/b"};
  expectRefused(verify(*bundles_, ca_.issue("spiffe://warden.local/a", opts)),
                SvidFailure::kInvalidSvid,
                "certificate has 2 URI SANs; an X509-SVID has exactly one");
  // A second, non-SPIFFE URI counts too.
  opts.uris = {"spiffe://warden.local/a", "https://example.com/x"};
  expectRefused(verify(*bundles_, ca_.issue("spiffe://warden.local/a", opts)),
                SvidFailure::kInvalidSvid, "certificate has 2 URI SANs");
}

// X3 (X509-SVID §4.1 leaf cA=false): a CA certificate used as a leaf.
TEST_F(SvidVerifierTest, X3CaCertificateAsLeafRejected) {
  LeafOptions opts;
  opts.is_ca = true;
  opts.key_cert_sign = true;
  expectRefused(verify(*bundles_, ca_.issue("spiffe://warden.local/ca-as-leaf", opts)),
                SvidFailure::kInvalidSvid, "basicConstraints CA:TRUE");
  opts.key_cert_sign = false;
  expectRefused(verify(*bundles_, ca_.issue("spiffe://warden.local/ca-as-leaf", opts)),
                SvidFailure::kInvalidSvid, "basicConstraints CA:TRUE");
  // The trust-domain CA itself, presented as a peer: its ID has no path (SPIFFE-ID §1).
  Chain none;
  expectRefused(verifyX509Svid(*bundles_, ca_.cert(), none.get()), SvidFailure::kInvalidSvid,
                "has no path");
}

// X4 (X509-SVID §4.3 key usage): keyCertSign / cRLSign forbidden on a leaf, even CA:FALSE;
// digitalSignature required; keyUsage must be present.
TEST_F(SvidVerifierTest, X4LeafKeyUsageRejected) {
  LeafOptions key_cert_sign;
  key_cert_sign.key_cert_sign = true;
  expectRefused(verify(*bundles_, ca_.issue("spiffe://warden.local/a", key_cert_sign)),
                SvidFailure::kInvalidSvid, "keyCertSign");
  LeafOptions crl_sign;
  crl_sign.crl_sign = true;
  expectRefused(verify(*bundles_, ca_.issue("spiffe://warden.local/a", crl_sign)),
                SvidFailure::kInvalidSvid, "cRLSign");
  LeafOptions no_digital_signature;
  no_digital_signature.digital_signature = false;
  expectRefused(verify(*bundles_, ca_.issue("spiffe://warden.local/a", no_digital_signature)),
                SvidFailure::kInvalidSvid, "lacks digitalSignature");
  LeafOptions no_key_usage;
  no_key_usage.key_usage = false;
  expectRefused(verify(*bundles_, ca_.issue("spiffe://warden.local/a", no_key_usage)),
                SvidFailure::kInvalidSvid, "no keyUsage extension");
}

// X5 (SPIFFE-ID §1: leaf SVIDs have a non-empty path).
TEST_F(SvidVerifierTest, X5LeafWithoutPathRejected) {
  expectRefused(verify(*bundles_, ca_.issue("spiffe://warden.local")), SvidFailure::kInvalidSvid,
                "URI SAN spiffe://warden.local has no path");
}

// X6 (X509-SVID §2): the URI SAN must be a SPIFFE ID, and there must be one.
TEST_F(SvidVerifierTest, X6NonSpiffeOrMissingUriRejected) {
  LeafOptions https;
  https.uris = {"https://warden.local/a"};
  expectRefused(verify(*bundles_, ca_.issue("spiffe://warden.local/a", https)),
                SvidFailure::kInvalidSvid, "URI SAN is not a valid SPIFFE ID: scheme");
  LeafOptions dns_only;
  dns_only.uri_san = false;
  dns_only.dns = {"warden.local"};
  expectRefused(verify(*bundles_, ca_.issue("spiffe://warden.local/a", dns_only)),
                SvidFailure::kInvalidSvid, "certificate has no URI SAN");
  LeafOptions no_san;
  no_san.uri_san = false;
  expectRefused(verify(*bundles_, ca_.issue("spiffe://warden.local/a", no_san)),
                SvidFailure::kInvalidSvid, "certificate has no subjectAltName");
}

// X7 (SPIFFE-ID §1 character and path rules applied to the SAN).
TEST_F(SvidVerifierTest, X7MalformedSpiffeIdRejected) {
  for (const char* bad :
       {"spiffe://Warden.local/a", "spiffe://warden.local/a%2Fb", "spiffe://warden.local/a/../b",
        "spiffe://warden.local/a/", "SPIFFE://warden.local/a", "spiffe://warden.local:443/a"}) {
    SCOPED_TRACE(bad);
    expectRefused(verify(*bundles_, ca_.issue(bad)), SvidFailure::kInvalidSvid,
                  "URI SAN is not a valid SPIFFE ID");
  }
}

// X8 (X509-SVID §5 step 3): a trust domain with no bundle is untrusted.
TEST_F(SvidVerifierTest, X8UnknownTrustDomainRejected) {
  expectRefused(verify(*bundles_, evil_.issue("spiffe://evil.local/x")),
                SvidFailure::kUntrustedCertificate, "no trust bundle for trust domain evil.local");
}

// X9 (X509-SVID §5 step 3): a federated CA cannot sign IDs of another trust domain, because
// the bundle is chosen by the leaf's trust domain and roots are never pooled.
TEST_F(SvidVerifierTest, X9CrossDomainForgeryRejected) {
  const auto federated = bundlesOf({&ca_, &evil_});
  EXPECT_TRUE(verify(*federated, evil_.issue("spiffe://evil.local/x")).ok);
  const VerifyOutcome forged = verify(*federated, evil_.issue("spiffe://warden.local/x"));
  expectRefused(forged, SvidFailure::kUntrustedCertificate, "chain verification failed: ");
  EXPECT_THAT(forged.error.detail, HasSubstr("unable to get local issuer certificate"));
}

// X10: a federated leaf is accepted while its bundle is present; once the bundle is
// removed (redaction), the same certificate is refused.
TEST_F(SvidVerifierTest, X10BundleRemovalRevokesTrust) {
  const Credential leaf = evil_.issue("spiffe://evil.local/x");
  const auto with_bundle = bundlesOf({&ca_, &evil_});
  ASSERT_TRUE(verify(*with_bundle, leaf).ok);
  EXPECT_TRUE(with_bundle->hasTrustDomain(kEvilTd));
  const auto redacted = bundlesOf({&ca_});
  EXPECT_FALSE(redacted->hasTrustDomain(kEvilTd));
  expectRefused(verify(*redacted, leaf), SvidFailure::kUntrustedCertificate,
                "no trust bundle for trust domain evil.local");
}

// X11 (X509-SVID §5 step 4: validity times are checked).
TEST_F(SvidVerifierTest, X11ExpiredAndNotYetValidLeafRejected) {
  LeafOptions expired;
  expired.not_before_offset_s = -7200;
  expired.not_after_offset_s = -3600;
  expectRefused(verify(*bundles_, ca_.issue("spiffe://warden.local/a", expired)),
                SvidFailure::kUntrustedCertificate,
                "chain verification failed: certificate has expired");
  LeafOptions future;
  future.not_before_offset_s = 3600;
  future.not_after_offset_s = 7200;
  expectRefused(verify(*bundles_, ca_.issue("spiffe://warden.local/a", future)),
                SvidFailure::kUntrustedCertificate,
                "chain verification failed: certificate is not yet valid");
}

// X11 with an explicit `now`: the same good leaf is valid now, expired later, and not yet
// valid earlier.
TEST_F(SvidVerifierTest, X11ExplicitVerificationTime) {
  const Credential leaf = ca_.issue("spiffe://warden.local/a");
  const std::time_t now = std::time(nullptr);
  EXPECT_TRUE(verify(*bundles_, leaf, "", now + 600).ok);
  expectRefused(verify(*bundles_, leaf, "", now + 7200), SvidFailure::kUntrustedCertificate,
                "certificate has expired (depth 0)");
  expectRefused(verify(*bundles_, leaf, "", now - 3600), SvidFailure::kUntrustedCertificate,
                "certificate is not yet valid");
}

// X11: an expired intermediate. The root lives 10 days, the intermediate one day and the
// leaf five days; at now+2 days only the intermediate has expired.
TEST_F(SvidVerifierTest, X11ExpiredIntermediateRejected) {
  const TestCa root(kTd, 10 * 86400);
  const TestCa inter = root.intermediate();
  LeafOptions opts;
  opts.not_after_offset_s = 5 * 86400;
  const Credential leaf = inter.issue("spiffe://warden.local/a", opts);
  const auto bundles = bundlesOf({&root});
  const std::time_t now = std::time(nullptr);
  EXPECT_TRUE(verify(*bundles, leaf, inter.chainPem(), now).ok);
  expectRefused(verify(*bundles, leaf, inter.chainPem(), now + 2 * 86400),
                SvidFailure::kUntrustedCertificate, "certificate has expired (depth 1)");
}

// X12 (X509-SVID §5 step 4: the presented chain supplies untrusted intermediates).
TEST_F(SvidVerifierTest, X12ChainThroughIntermediates) {
  const TestCa inter = ca_.intermediate();
  const Credential leaf = inter.issue("spiffe://warden.local/a");
  const VerifyOutcome ok = verify(*bundles_, leaf, inter.chainPem());
  ASSERT_TRUE(ok.ok) << ok.error.detail;
  EXPECT_EQ(ok.peer.id.str(), "spiffe://warden.local/a");
  // The whole TLS chain (leaf first) works as well.
  EXPECT_TRUE(verify(*bundles_, leaf, leaf.certPem() + inter.chainPem()).ok);
  // Two levels.
  const TestCa inter2 = inter.intermediate();
  EXPECT_TRUE(verify(*bundles_, inter2.issue("spiffe://warden.local/b"), inter2.chainPem()).ok);
  // Without the intermediate the chain cannot be built.
  expectRefused(verify(*bundles_, leaf), SvidFailure::kUntrustedCertificate,
                "unable to get local issuer certificate");
}

// X12: an intermediate without CA:TRUE cannot issue (RFC 5280 §4.2.1.9, enforced by OpenSSL).
TEST_F(SvidVerifierTest, X12IntermediateWithoutCaRejected) {
  const TestCa broken = ca_.intermediate(/*ca_flag=*/false);
  expectRefused(verify(*bundles_, broken.issue("spiffe://warden.local/a"), broken.chainPem()),
                SvidFailure::kUntrustedCertificate,
                "chain verification failed: invalid CA certificate (depth 1)");
}

// Bundle certificates are all trust anchors (as with go-spiffe), so a bundle holding only
// an intermediate still anchors the chain.
TEST_F(SvidVerifierTest, IntermediateInBundleIsAnchor) {
  const TestCa inter = ca_.intermediate();
  std::map<std::string, std::string> pems{{kTd, inter.certPem()}};
  Result<std::shared_ptr<const TrustBundleSet>> set = TrustBundleSet::fromPem(pems);
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_TRUE(verify(**set, inter.issue("spiffe://warden.local/a")).ok);
}

// A bundle may hold several CAs (e.g. during rotation); each anchors its own leaves.
TEST_F(SvidVerifierTest, BundleWithSeveralCas) {
  const TestCa next(kTd);
  std::map<std::string, std::string> pems{{kTd, ca_.certPem() + next.certPem()}};
  Result<std::shared_ptr<const TrustBundleSet>> set = TrustBundleSet::fromPem(pems);
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_TRUE(verify(**set, ca_.issue("spiffe://warden.local/a")).ok);
  EXPECT_TRUE(verify(**set, next.issue("spiffe://warden.local/b")).ok);
  // The old bundle alone does not trust the new CA.
  expectRefused(verify(*bundles_, next.issue("spiffe://warden.local/b")),
                SvidFailure::kUntrustedCertificate, "chain verification failed");
}

TEST(TrustBundleSetTest, RejectsBadInput) {
  const TestCa ca(kTd);
  const struct {
    std::string td;
    std::string pem;
    std::string error;
  } cases[] = {
      {kTd, "", "trust bundle for warden.local: no certificates found"},
      {kTd, "not a certificate\n", "no certificates found"},
      {kTd, "-----BEGIN CERTIFICATE-----\nAAAA!!!!\n-----END CERTIFICATE-----\n",
       "trust bundle for warden.local: unparsable PEM"},
      // A good certificate followed by a corrupt one still fails as a whole.
      {kTd, ca.certPem() + "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
       "unparsable PEM"},
      {"Warden.local", ca.certPem(), "invalid trust domain"},
      {"spiffe://warden.local", ca.certPem(), "invalid trust domain"},
      {"", ca.certPem(), "invalid trust domain"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.td + " / " + c.pem);
    std::map<std::string, std::string> pems{{c.td, c.pem}};
    Result<std::shared_ptr<const TrustBundleSet>> set = TrustBundleSet::fromPem(pems);
    ASSERT_FALSE(set.ok());
    EXPECT_THAT(set.error().message, HasSubstr(c.error));
  }
}

TEST(TrustBundleSetTest, FromPemFiles) {
  const TestCa ca(kTd);
  const TempDir dir;
  const std::string path = writeFile(dir.path(), "bundle.pem", ca.certPem());
  Result<std::shared_ptr<const TrustBundleSet>> set = TrustBundleSet::fromPemFiles({{kTd, path}});
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_TRUE((*set)->hasTrustDomain(kTd));
  EXPECT_NE((*set)->storeFor(kTd), nullptr);
  EXPECT_EQ((*set)->storeFor(kEvilTd), nullptr);
  const Credential leaf = ca.issue("spiffe://warden.local/a");
  EXPECT_TRUE(verifyX509Svid(**set, leaf.cert.get(), nullptr).ok);

  Result<std::shared_ptr<const TrustBundleSet>> missing =
      TrustBundleSet::fromPemFiles({{kTd, dir.file("absent.pem")}});
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message, HasSubstr("absent.pem"));
  Result<std::shared_ptr<const TrustBundleSet>> empty =
      TrustBundleSet::fromPemFiles({{kTd, writeFile(dir.path(), "empty.pem", "")}});
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(empty.error().message, HasSubstr("no certificates found"));
}

// ---- Cross-checks with the openssl command line (identity-standards §10.2: "openssl makes
// every certificate"). They prove test_pki's certificates are standard, and that Warden's
// stricter settings (X509_V_FLAG_X509_STRICT) accept ordinary openssl-made P-256 SVIDs.

// Runs a shell command; returns its exit status and combined output.
std::pair<int, std::string> run(const std::string& command) {
  std::string output;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) {
    return {-1, "popen failed"};
  }
  std::array<char, 512> buf{};
  while (std::fgets(buf.data(), buf.size(), pipe) != nullptr) {
    output += buf.data();
  }
  return {pclose(pipe), output};
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool haveOpensslCli() {
  return run("openssl version").first == 0;
}

TEST(OpensslCrossCheckTest, OpensslVerifyAcceptsTestPkiSvid) {
  if (!haveOpensslCli()) {
    GTEST_SKIP() << "openssl command line not installed";
  }
  const TestCa ca(kTd);
  const TestCa inter = ca.intermediate();
  const TempDir dir;
  const std::string ca_pem = writeFile(dir.path(), "ca.pem", ca.certPem());
  const std::string leaf_pem =
      writeFile(dir.path(), "leaf.pem", ca.issue("spiffe://warden.local/a").certPem());
  auto [status, out] = run("openssl verify -x509_strict -CAfile " + ca_pem + " " + leaf_pem);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(out, leaf_pem + ": OK\n");

  const std::string chain_pem = writeFile(dir.path(), "chain.pem", inter.chainPem());
  const std::string leaf2_pem =
      writeFile(dir.path(), "leaf2.pem", inter.issue("spiffe://warden.local/b").certPem());
  std::tie(status, out) = run("openssl verify -x509_strict -CAfile " + ca_pem + " -untrusted " +
                              chain_pem + " " + leaf2_pem);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(out, leaf2_pem + ": OK\n");

  // The key is PKCS#8 and matches the certificate.
  const Credential cred = ca.issue("spiffe://warden.local/c");
  EXPECT_THAT(cred.keyPem(), StartsWith("-----BEGIN PRIVATE KEY-----"));
  const std::string key = writeFile(dir.path(), "c.key", cred.keyPem());
  const std::string cert = writeFile(dir.path(), "c.pem", cred.certPem());
  std::tie(status, out) = run("openssl pkey -in " + key + " -pubout");
  const std::string from_key = out;
  std::tie(status, out) = run("openssl x509 -in " + cert + " -noout -pubkey");
  EXPECT_EQ(from_key, out);
}

constexpr const char* kOpensslConf = R"(
[req]
distinguished_name = dn
prompt = no
[dn]
CN = warden.local
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = URI:spiffe://warden.local
[nc_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = URI:spiffe://warden.local
nameConstraints = critical,permitted;URI:warden.local
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth,clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = URI:spiffe://warden.local/cli, DNS:localhost
[leaf_other]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth,clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = URI:spiffe://other/x
)";

class OpensslMadeCerts : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!haveOpensslCli()) {
      GTEST_SKIP() << "openssl command line not installed";
    }
    conf_ = writeFile(dir_.path(), "openssl.cnf", kOpensslConf);
  }
  // A self-signed P-256 CA with the extensions of section `ext`.
  std::string makeCa(const std::string& name, const std::string& ext) {
    auto [status, out] =
        run("openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
            "-nodes -sha256 -days 1 -config " +
            conf_ + " -extensions " + ext + " -keyout " + dir_.file(name + ".key") + " -out " +
            dir_.file(name + ".pem"));
    EXPECT_EQ(status, 0) << out;
    return readFile(dir_.file(name + ".pem"));
  }
  // A P-256 leaf with the extensions of section `ext`, signed by CA `ca`.
  X509Ptr makeLeaf(const std::string& name, const std::string& ca, const std::string& ext) {
    auto [status, out] =
        run("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
            "-nodes -config " +
            conf_ + " -subj /CN=" + name + " -keyout " + dir_.file(name + ".key") + " -out " +
            dir_.file(name + ".csr"));
    EXPECT_EQ(status, 0) << out;
    std::tie(status, out) =
        run("openssl x509 -req -sha256 -days 1 -set_serial 0x" + std::to_string(++serial_) +
            "1234567 -in " + dir_.file(name + ".csr") + " -CA " + dir_.file(ca + ".pem") +
            " -CAkey " + dir_.file(ca + ".key") + " -extfile " + conf_ + " -extensions " + ext +
            " -out " + dir_.file(name + ".pem"));
    EXPECT_EQ(status, 0) << out;
    std::vector<X509Ptr> certs = parsePem(readFile(dir_.file(name + ".pem")));
    EXPECT_EQ(certs.size(), 1u);
    return certs.empty() ? nullptr : std::move(certs[0]);
  }

  TempDir dir_;
  std::string conf_;
  int serial_ = 0;
};

// openssl-made SVIDs pass Warden's verifier, X509_STRICT included (X1 via a second minter).
TEST_F(OpensslMadeCerts, X1OrdinaryOpensslSvidAccepted) {
  const std::string ca = makeCa("ca", "ca");
  const X509Ptr leaf = makeLeaf("leaf", "ca", "leaf");
  ASSERT_NE(leaf, nullptr);
  Result<std::shared_ptr<const TrustBundleSet>> set = TrustBundleSet::fromPem({{kTd, ca}});
  ASSERT_TRUE(set.ok()) << set.error().message;
  const VerifyOutcome outcome = verifyX509Svid(**set, leaf.get(), nullptr);
  ASSERT_TRUE(outcome.ok) << outcome.error.detail;
  EXPECT_EQ(outcome.peer.id.str(), "spiffe://warden.local/cli");
}

// X13: a CA constrained to `permitted;URI:warden.local` cannot sign spiffe://other/x even
// when it is (mis)configured as the bundle of "other": OpenSSL enforces URI name
// constraints on spiffe:// SANs (identity-standards §2, observed error 47).
TEST_F(OpensslMadeCerts, X13NameConstrainedCaRejectsOtherTrustDomain) {
  const std::string ca = makeCa("nc", "nc_ca");
  const X509Ptr inside = makeLeaf("inside", "nc", "leaf");
  const X509Ptr outside = makeLeaf("outside", "nc", "leaf_other");
  ASSERT_NE(inside, nullptr);
  ASSERT_NE(outside, nullptr);
  Result<std::shared_ptr<const TrustBundleSet>> set =
      TrustBundleSet::fromPem({{kTd, ca}, {"other", ca}});
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_TRUE(verifyX509Svid(**set, inside.get(), nullptr).ok);
  expectRefused(verifyX509Svid(**set, outside.get(), nullptr), SvidFailure::kUntrustedCertificate,
                "permitted subtree violation");
}

}  // namespace
}  // namespace warden::identity
