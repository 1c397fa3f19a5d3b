// The demo's local Web PKI: what a TLS client configured with ca.pem will check (chain,
// IP SAN, serverAuth), what must stay private (key modes), and that a re-run keeps the CA.
#include "demo/local_web_pki.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "support/test_pki.h"

namespace warden::demo {
namespace {

using testing::TempDir;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

X509Ptr readCert(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr)
    return nullptr;
  X509Ptr cert(PEM_read_X509(f, nullptr, nullptr, nullptr));
  std::fclose(f);
  return cert;
}

unsigned modeOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return 0xFFFF;
  return st.st_mode & 07777;
}

// X509_verify_cert with ca.pem as the only root, as a client with `ca_file` does, for the
// TLS server purpose; returns the verification error (X509_V_OK when it verifies).
int verifyChain(X509* ca, X509* leaf) {
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf, nullptr);
  X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
  X509_VERIFY_PARAM_set1_ip_asc(X509_STORE_CTX_get0_param(ctx), "127.0.0.1");
  const int ok = X509_verify_cert(ctx);
  const int error = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return error;
}

TEST(LocalWebPkiTest, LeafVerifiesAgainstTheCaForTheLoopbackAddress) {
  TempDir dir;
  auto pki = makeLocalWebPki(dir.file("pki"));
  ASSERT_TRUE(pki.ok()) << pki.error().message;
  EXPECT_TRUE(pki->ca_created);
  EXPECT_TRUE(pki->leaf_created);
  auto ca = readCert(pki->ca_file);
  auto leaf = readCert(pki->cert_file);
  ASSERT_NE(ca, nullptr);
  ASSERT_NE(leaf, nullptr);

  EXPECT_EQ(verifyChain(ca.get(), leaf.get()), X509_V_OK);
  EXPECT_EQ(X509_check_ip_asc(leaf.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_host(leaf.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_NE(X509_check_ip_asc(leaf.get(), "127.0.0.2", 0), 1);
  EXPECT_EQ(X509_check_ca(leaf.get()), 0) << "the leaf must not be a CA";
  EXPECT_GE(X509_check_ca(ca.get()), 1);
  EXPECT_TRUE(X509_get_extended_key_usage(leaf.get()) & XKU_SSL_SERVER);
  EXPECT_TRUE(X509_get_key_usage(ca.get()) & KU_KEY_CERT_SIGN);
  EXPECT_FALSE(X509_get_key_usage(leaf.get()) & KU_KEY_CERT_SIGN);

  // Another CA's root does not verify the leaf (the check above is not vacuous).
  testing::TestCa other("other.test");
  EXPECT_NE(verifyChain(other.cert(), leaf.get()), X509_V_OK);

  char cn[128] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(ca.get()), NID_commonName, cn, sizeof(cn));
  EXPECT_STREQ(cn, "Warden demo local CA");
  // A 128-bit random serial (top bit cleared for a positive INTEGER): 16 octets.
  const ASN1_INTEGER* serial = X509_get0_serialNumber(ca.get());
  EXPECT_EQ(ASN1_STRING_length(serial), 16);
}

TEST(LocalWebPkiTest, KeysArePrivateAndCertificatesReadable) {
  TempDir dir;
  const mode_t old_umask = ::umask(0);  // the writer, not the umask, must make keys private
  auto pki = makeLocalWebPki(dir.file("pki"));
  ::umask(old_umask);
  ASSERT_TRUE(pki.ok()) << pki.error().message;
  EXPECT_EQ(modeOf(pki->key_file), 0600u);
  EXPECT_EQ(modeOf(dir.file("pki/ca.key")), 0600u);
  EXPECT_EQ(modeOf(pki->cert_file), 0644u);
  EXPECT_EQ(modeOf(pki->ca_file), 0644u);
  EXPECT_EQ(modeOf(dir.file("pki")), 0700u);
  // No temporary files left behind.
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.file("pki"))) {
    ++files;
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
  }
  EXPECT_EQ(files, 4);
}

TEST(LocalWebPkiTest, ReRunReusesValidFiles) {
  TempDir dir;
  auto first = makeLocalWebPki(dir.file("pki"));
  ASSERT_TRUE(first.ok()) << first.error().message;
  const std::string ca = slurp(first->ca_file), cert = slurp(first->cert_file),
                    key = slurp(first->key_file);

  auto second = makeLocalWebPki(dir.file("pki"));
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_FALSE(second->ca_created);
  EXPECT_FALSE(second->leaf_created);
  EXPECT_EQ(slurp(second->ca_file), ca);
  EXPECT_EQ(slurp(second->cert_file), cert);
  EXPECT_EQ(slurp(second->key_file), key);
}

TEST(LocalWebPkiTest, ExpiringLeafIsReissuedUnderTheSameCa) {
  TempDir dir;
  LocalWebPkiOptions options;
  auto first = makeLocalWebPki(dir.file("pki"), options);
  ASSERT_TRUE(first.ok()) << first.error().message;
  const std::string ca = slurp(first->ca_file), cert = slurp(first->cert_file);

  // Asking for more remaining validity than the leaf has (but less than the CA has) makes
  // the leaf "expiring".
  options.min_remaining = std::chrono::hours(24 * 60);
  options.leaf_lifetime = std::chrono::hours(24 * 90);
  auto second = makeLocalWebPki(dir.file("pki"), options);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_FALSE(second->ca_created);
  EXPECT_TRUE(second->leaf_created);
  EXPECT_EQ(slurp(second->ca_file), ca);
  EXPECT_NE(slurp(second->cert_file), cert);
  auto ca_cert = readCert(second->ca_file);
  auto leaf = readCert(second->cert_file);
  ASSERT_NE(leaf, nullptr);
  EXPECT_EQ(verifyChain(ca_cert.get(), leaf.get()), X509_V_OK);
}

TEST(LocalWebPkiTest, TamperedOrExposedFilesAreReplaced) {
  TempDir dir;
  auto first = makeLocalWebPki(dir.file("pki"));
  ASSERT_TRUE(first.ok()) << first.error().message;

  // A server key readable by others is not reused: the leaf is re-issued with a new key.
  ::chmod(first->key_file.c_str(), 0644);
  const std::string old_key = slurp(first->key_file);
  auto second = makeLocalWebPki(dir.file("pki"));
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_FALSE(second->ca_created);
  EXPECT_TRUE(second->leaf_created);
  EXPECT_NE(slurp(second->key_file), old_key);
  EXPECT_EQ(modeOf(second->key_file), 0600u);

  // A certificate signed by another CA in place of ca.pem: everything is made anew.
  testing::TestCa other("other.test");
  testing::writeFile(dir.file("pki"), "ca.pem", other.certPem());
  auto third = makeLocalWebPki(dir.file("pki"));
  ASSERT_TRUE(third.ok()) << third.error().message;
  EXPECT_TRUE(third->ca_created);
  EXPECT_TRUE(third->leaf_created);
  auto ca = readCert(third->ca_file);
  auto leaf = readCert(third->cert_file);
  EXPECT_EQ(verifyChain(ca.get(), leaf.get()), X509_V_OK);
}

}  // namespace
}  // namespace warden::demo
