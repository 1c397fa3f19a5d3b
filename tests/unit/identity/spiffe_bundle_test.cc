// SPIFFE bundle tests: the bundle format of identity-standards §5.1 (SPIFFE Trust Domain and
// Bundle spec), the x509-svid entry form of §2, the jwt-svid rules of §3, the choices of §11,
// and the malformed-bundle cases F3/F4 of §10.7. CA certificates come from tests/support.
#include "identity/spiffe_bundle.h"

#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "jose/base64url.h"
#include "jose/jwk.h"
#include "support/test_pki.h"

namespace warden::identity {
namespace {

using nlohmann::json;
using warden::testing::TestCa;

constexpr const char* kTd = "example.org";

std::shared_ptr<X509> share(X509* cert) {
  X509_up_ref(cert);
  return std::shared_ptr<X509>(cert, X509_free);
}

std::shared_ptr<EVP_PKEY> sharedKey(EVP_PKEY* key) {
  return std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free);
}

std::string derOf(X509* cert) {
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert, &der);
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

// One x509-svid entry as a producer writes it (identity-standards §2).
json x509Entry(X509* cert) {
  json entry = {{"use", "x509-svid"}, {"x5c", {jose::base64Encode(derOf(cert))}}};
  EXPECT_TRUE(jose::writePublicJwk(X509_get0_pubkey(cert), entry).ok());
  return entry;
}

json jwtEntry(EVP_PKEY* key, const std::string& kid) {
  json entry = {{"use", "jwt-svid"}, {"kid", kid}};
  EXPECT_TRUE(jose::writePublicJwk(key, entry).ok());
  return entry;
}

class SpiffeBundleTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ca_a_ = new TestCa(kTd);
    ca_b_ = new TestCa(kTd);
    ec_key_ = EVP_EC_gen("P-256");
    rsa_key_ = EVP_RSA_gen(2048);
  }
  static void TearDownTestSuite() {
    delete ca_a_;
    delete ca_b_;
    EVP_PKEY_free(ec_key_);
    EVP_PKEY_free(rsa_key_);
  }

  static SpiffeBundle fullBundle() {
    SpiffeBundle bundle;
    bundle.trust_domain = kTd;
    bundle.x509_authorities = {share(ca_a_->cert()), share(ca_b_->cert())};
    EVP_PKEY_up_ref(ec_key_);
    EVP_PKEY_up_ref(rsa_key_);
    bundle.jwt_authorities = {JwtAuthority{"ec-1", sharedKey(ec_key_)},
                              JwtAuthority{"rsa-1", sharedKey(rsa_key_)}};
    bundle.sequence = 42;
    bundle.refresh_hint_seconds = 300;
    return bundle;
  }

  static TestCa* ca_a_;
  static TestCa* ca_b_;
  static EVP_PKEY* ec_key_;
  static EVP_PKEY* rsa_key_;
};
TestCa* SpiffeBundleTest::ca_a_ = nullptr;
TestCa* SpiffeBundleTest::ca_b_ = nullptr;
EVP_PKEY* SpiffeBundleTest::ec_key_ = nullptr;
EVP_PKEY* SpiffeBundleTest::rsa_key_ = nullptr;

// identity-standards §5.1: what we serialise we parse back to the same keys, sequence and
// refresh hint.
TEST_F(SpiffeBundleTest, RoundTripThroughJson) {
  const SpiffeBundle bundle = fullBundle();
  const std::string text = bundle.toJson();
  Result<SpiffeBundle> parsed = parseSpiffeBundle(text, kTd);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->trust_domain, kTd);
  EXPECT_TRUE(parsed->sameKeys(bundle));
  EXPECT_EQ(parsed->sequence, 42);
  EXPECT_EQ(parsed->refresh_hint_seconds, 300);
  ASSERT_EQ(parsed->x509_authorities.size(), 2u);
  EXPECT_EQ(parsed->x509Der(), bundle.x509Der());
  ASSERT_EQ(parsed->jwt_authorities.size(), 2u);
  EXPECT_EQ(parsed->jwt_authorities[0].kid, "ec-1");
  EXPECT_EQ(EVP_PKEY_eq(parsed->jwt_authorities[0].key.get(), ec_key_), 1);
  EXPECT_EQ(parsed->jwt_authorities[1].kid, "rsa-1");
  EXPECT_EQ(EVP_PKEY_eq(parsed->jwt_authorities[1].key.get(), rsa_key_), 1);
  EXPECT_EQ(parsed->toJson(), text);
}

// identity-standards §2 and §3: x509-svid entries carry one x5c and no kid; jwt-svid
// entries carry a kid; both carry the key members; sequence and hint at the top.
TEST_F(SpiffeBundleTest, ToJsonShape) {
  const json doc = json::parse(fullBundle().toJson());
  ASSERT_EQ(doc["keys"].size(), 4u);
  for (int i = 0; i < 2; ++i) {
    const json& entry = doc["keys"][i];
    EXPECT_EQ(entry["use"], "x509-svid");
    EXPECT_FALSE(entry.contains("kid"));
    ASSERT_EQ(entry["x5c"].size(), 1u);
    EXPECT_EQ(entry["kty"], "EC");
    EXPECT_EQ(entry["crv"], "P-256");
    EXPECT_TRUE(entry.contains("x") && entry.contains("y"));
  }
  EXPECT_EQ(doc["keys"][0]["x5c"][0], jose::base64Encode(derOf(ca_a_->cert())));
  EXPECT_EQ(doc["keys"][2]["use"], "jwt-svid");
  EXPECT_EQ(doc["keys"][2]["kid"], "ec-1");
  EXPECT_EQ(doc["keys"][3]["kty"], "RSA");
  EXPECT_EQ(doc["keys"][3]["e"], "AQAB");
  EXPECT_EQ(doc["spiffe_sequence"], 42);
  EXPECT_EQ(doc["spiffe_refresh_hint"], 300);
  // Unset sequence and hint are left out.
  SpiffeBundle bare = fullBundle();
  bare.sequence.reset();
  bare.refresh_hint_seconds.reset();
  const json bare_doc = json::parse(bare.toJson());
  EXPECT_FALSE(bare_doc.contains("spiffe_sequence"));
  EXPECT_FALSE(bare_doc.contains("spiffe_refresh_hint"));
}

// identity-standards §10.7 F3 / §5.1: `keys: []` is a valid bundle in which every key is
// revoked.
TEST_F(SpiffeBundleTest, F3EmptyKeysIsAValidEmptyBundle) {
  Result<SpiffeBundle> parsed = parseSpiffeBundle(R"({"keys":[],"spiffe_sequence":3})", kTd);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_TRUE(parsed->x509_authorities.empty());
  EXPECT_TRUE(parsed->jwt_authorities.empty());
  EXPECT_EQ(parsed->sequence, 3);
  EXPECT_EQ(parsed->x509Der(), "");
  SpiffeBundle empty;
  empty.trust_domain = kTd;
  EXPECT_EQ(empty.toJson(), R"({"keys":[]})");
  EXPECT_TRUE(parseSpiffeBundle(empty.toJson(), kTd).ok());
}

// identity-standards §5.1: `keys` is required.
TEST_F(SpiffeBundleTest, KeysIsRequired) {
  EXPECT_FALSE(parseSpiffeBundle(R"({"spiffe_sequence":1})", kTd).ok());
  EXPECT_FALSE(parseSpiffeBundle(R"({"keys":{}})", kTd).ok());
  EXPECT_FALSE(parseSpiffeBundle(R"({"keys":null})", kTd).ok());
  EXPECT_FALSE(parseSpiffeBundle(R"({"keys":[1]})", kTd).ok());
}

// identity-standards §10.7 F4 / §5.1: entries with an unknown or missing `use` or an
// unknown `kty` are ignored; the good entry next to them still counts. Unknown top-level
// members are allowed.
TEST_F(SpiffeBundleTest, F4UnknownUseAndKtyAreIgnored) {
  json good = jwtEntry(ec_key_, "good");
  json doc = {{"keys", json::array()}, {"unknown_member", {{"nested", true}}}};
  json entry = x509Entry(ca_a_->cert());
  for (const json& use : {json("sig"), json("X509-SVID"), json("wit-svid"), json(5)}) {
    entry["use"] = use;
    doc["keys"].push_back(entry);
  }
  entry.erase("use");
  doc["keys"].push_back(entry);
  doc["keys"].push_back({{"use", "jwt-svid"}, {"kid", "okp"}, {"kty", "OKP"}, {"crv", "Ed25519"},
                         {"x", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}});
  doc["keys"].push_back({{"use", "jwt-svid"}, {"kid", "oct"}, {"kty", "oct"}, {"k", "AAAA"}});
  json other_curve = jwtEntry(ec_key_, "k256");
  other_curve["crv"] = "secp256k1";
  doc["keys"].push_back(other_curve);
  json x509_okp = x509Entry(ca_a_->cert());
  x509_okp["kty"] = "OKP";
  doc["keys"].push_back(x509_okp);
  doc["keys"].push_back(good);
  Result<SpiffeBundle> parsed = parseSpiffeBundle(doc.dump(), kTd);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_TRUE(parsed->x509_authorities.empty());
  ASSERT_EQ(parsed->jwt_authorities.size(), 1u);
  EXPECT_EQ(parsed->jwt_authorities[0].kid, "good");
}

// identity-standards §10.7 F4 / §3 / §11: a jwt-svid entry without kid rejects the whole
// bundle (go-spiffe does the same).
TEST_F(SpiffeBundleTest, F4JwtKeyWithoutKidRejectsTheBundle) {
  json missing = jwtEntry(ec_key_, "x");
  missing.erase("kid");
  json doc = {{"keys", {x509Entry(ca_a_->cert()), jwtEntry(rsa_key_, "ok"), missing}}};
  Result<SpiffeBundle> parsed = parseSpiffeBundle(doc.dump(), kTd);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("kid"), std::string::npos) << parsed.error().message;
  EXPECT_NE(parsed.error().message.find("keys[2]"), std::string::npos) << parsed.error().message;
  for (const json& kid : {json(""), json(7), json(nullptr)}) {
    doc["keys"][2]["kid"] = kid;
    EXPECT_FALSE(parseSpiffeBundle(doc.dump(), kTd).ok()) << kid.dump();
  }
}

// identity-standards §10.7 F4 / §2: an x509-svid entry without x5c is ignored.
TEST_F(SpiffeBundleTest, F4X509EntryWithoutX5cIsIgnored) {
  json no_x5c = x509Entry(ca_a_->cert());
  no_x5c.erase("x5c");
  json doc = {{"keys", {no_x5c, x509Entry(ca_b_->cert())}}};
  Result<SpiffeBundle> parsed = parseSpiffeBundle(doc.dump(), kTd);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->x509_authorities.size(), 1u);
  EXPECT_EQ(X509_cmp(parsed->x509_authorities[0].get(), ca_b_->cert()), 0);
}

// identity-standards §11: the spec says to use the first x5c certificate and ignore the
// rest (go-spiffe errors instead); the rest are not even decoded.
TEST_F(SpiffeBundleTest, X5cWithSeveralCertificatesUsesTheFirst) {
  json entry = x509Entry(ca_a_->cert());
  entry["x5c"].push_back(jose::base64Encode(derOf(ca_b_->cert())));
  entry["x5c"].push_back("not base64 at all!");
  Result<SpiffeBundle> parsed = parseSpiffeBundle(json{{"keys", {entry}}}.dump(), kTd);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->x509_authorities.size(), 1u);
  EXPECT_EQ(X509_cmp(parsed->x509_authorities[0].get(), ca_a_->cert()), 0);
}

// A malformed x509-svid entry (known use and kty) is a broken producer: refused rather than
// silently dropping a CA.
TEST_F(SpiffeBundleTest, MalformedX509EntryRejectsTheBundle) {
  const json good = x509Entry(ca_a_->cert());
  const std::string der = derOf(ca_a_->cert());
  std::vector<json> bad_x5c = {
      json::array(),                                     // empty
      json("MIIB"),                                      // not an array
      json::array({1}),                                  // not a string
      json::array({jose::base64UrlEncode(der)}),         // base64url, not base64
      json::array({jose::base64Encode(der + "x")}),      // trailing bytes after the DER
      json::array({jose::base64Encode(der.substr(10))})  // not a certificate
  };
  for (const json& x5c : bad_x5c) {
    json entry = good;
    entry["x5c"] = x5c;
    EXPECT_FALSE(parseSpiffeBundle(json{{"keys", {entry}}}.dump(), kTd).ok()) << x5c.dump();
  }
  // JWK members of CA B next to CA A's certificate.
  json mismatched = x509Entry(ca_b_->cert());
  mismatched["x5c"] = good["x5c"];
  EXPECT_FALSE(parseSpiffeBundle(json{{"keys", {mismatched}}}.dump(), kTd).ok());
  // Key members missing.
  json no_members = good;
  no_members.erase("x");
  EXPECT_FALSE(parseSpiffeBundle(json{{"keys", {no_members}}}.dump(), kTd).ok());
}

// identity-standards §7.7: jwt-svid key members are validated like any JWK (private
// members, invalid points); and one kid names one key.
TEST_F(SpiffeBundleTest, MalformedJwtEntryRejectsTheBundle) {
  json with_d = jwtEntry(ec_key_, "k");
  with_d["d"] = "jpsQnnGQmL-YBIffH1136cLSG4vU-1E8oTRN_5-dizbU";
  EXPECT_FALSE(parseSpiffeBundle(json{{"keys", {with_d}}}.dump(), kTd).ok());
  json off_curve = jwtEntry(ec_key_, "k");
  std::string y = *jose::base64UrlDecode(off_curve["y"].get<std::string>());
  y.back() = static_cast<char>(y.back() ^ 1);
  off_curve["y"] = jose::base64UrlEncode(y);
  EXPECT_FALSE(parseSpiffeBundle(json{{"keys", {off_curve}}}.dump(), kTd).ok());
  const json dup = {{"keys", {jwtEntry(ec_key_, "same"), jwtEntry(rsa_key_, "same")}}};
  EXPECT_FALSE(parseSpiffeBundle(dup.dump(), kTd).ok());
}

// identity-standards §5.1 (and RFC 8725 §3.5): duplicate member names anywhere reject the
// document, since nlohmann alone would keep the last one.
TEST_F(SpiffeBundleTest, F4DuplicateMemberNamesRejected) {
  const std::string entry = jwtEntry(ec_key_, "k").dump();
  EXPECT_TRUE(parseSpiffeBundle(R"({"keys":[)" + entry + "]}", kTd).ok());
  EXPECT_FALSE(parseSpiffeBundle(R"({"keys":[],"keys":[)" + entry + "]}", kTd).ok());
  EXPECT_FALSE(parseSpiffeBundle(R"({"keys":[)" + entry + R"(],"spiffe_sequence":1,"spiffe_sequence":2})", kTd).ok());
  std::string dup_kid = entry;
  dup_kid.insert(1, R"("kid":"other",)");
  Result<SpiffeBundle> parsed = parseSpiffeBundle(R"({"keys":[)" + dup_kid + "]}", kTd);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("duplicate"), std::string::npos) << parsed.error().message;
}

// identity-standards §10.7 F4: a body that is not JSON (or not an object) is refused.
TEST_F(SpiffeBundleTest, F4NonJsonRejected) {
  for (const char* text : {"", "<html>Bad Gateway</html>", "[]", R"({"keys":[])", "null",
                           "\xEF\xBB\xBF{\"keys\":[]}", "{\"keys\":[]} trailing"}) {
    EXPECT_FALSE(parseSpiffeBundle(text, kTd).ok()) << text;
  }
}

// identity-standards §10.7 F4: an oversize body is refused before parsing.
TEST_F(SpiffeBundleTest, F4OversizeRejected) {
  std::string text = R"({"keys":[],"pad":")";
  text += std::string(kMaxBundleBytes - text.size() - 2, 'a');
  text += "\"}";
  ASSERT_EQ(text.size(), kMaxBundleBytes);
  EXPECT_TRUE(parseSpiffeBundle(text, kTd).ok());
  text.insert(text.size() - 2, "a");
  Result<SpiffeBundle> parsed = parseSpiffeBundle(text, kTd);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("exceeds"), std::string::npos);
}

// identity-standards §5.1: spiffe_sequence is a 64-bit integer and only increases from
// zero; spiffe_refresh_hint is integer seconds.
TEST_F(SpiffeBundleTest, SequenceAndRefreshHintMustBeNonNegativeIntegers) {
  Result<SpiffeBundle> max =
      parseSpiffeBundle(R"({"keys":[],"spiffe_sequence":9223372036854775807,"spiffe_refresh_hint":0})", kTd);
  ASSERT_TRUE(max.ok()) << max.error().message;
  EXPECT_EQ(max->sequence, INT64_MAX);
  EXPECT_EQ(max->refresh_hint_seconds, 0);
  for (const char* value : {"-1", "1.5", "1e3", "\"5\"", "true", "null", "9223372036854775808",
                            "18446744073709551616"}) {
    EXPECT_FALSE(parseSpiffeBundle(std::string(R"({"keys":[],"spiffe_sequence":)") + value + "}",
                                   kTd)
                     .ok())
        << value;
    EXPECT_FALSE(
        parseSpiffeBundle(std::string(R"({"keys":[],"spiffe_refresh_hint":)") + value + "}", kTd)
            .ok())
        << value;
  }
}

TEST_F(SpiffeBundleTest, RejectsInvalidTrustDomain) {
  EXPECT_FALSE(parseSpiffeBundle(R"({"keys":[]})", "").ok());
  EXPECT_FALSE(parseSpiffeBundle(R"({"keys":[]})", "spiffe://example.org").ok());
  EXPECT_FALSE(parseSpiffeBundle(R"({"keys":[]})", "Example.org").ok());
  EXPECT_FALSE(parseJwtJwks(R"({"keys":[]})", "").ok());
}

// identity-standards §11: the Workload API's JWT bundle is a plain JWKS (no `use`, no
// spiffe_* members) and parseJwtJwks reads it back.
TEST_F(SpiffeBundleTest, JwtJwksRoundTrip) {
  const SpiffeBundle bundle = fullBundle();
  const std::string text = bundle.jwtJwks();
  const json doc = json::parse(text);
  EXPECT_EQ(doc.size(), 1u);
  ASSERT_EQ(doc["keys"].size(), 2u);
  for (const json& key : doc["keys"]) {
    EXPECT_FALSE(key.contains("use"));
    EXPECT_TRUE(key.contains("kid"));
    EXPECT_FALSE(key.contains("x5c"));
  }
  Result<SpiffeBundle> parsed = parseJwtJwks(text, kTd);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_TRUE(parsed->x509_authorities.empty());
  ASSERT_EQ(parsed->jwt_authorities.size(), 2u);
  EXPECT_EQ(parsed->jwt_authorities[0].kid, "ec-1");
  EXPECT_EQ(parsed->jwt_authorities[1].kid, "rsa-1");
  EXPECT_FALSE(parsed->sequence.has_value());
  SpiffeBundle jwt_only = bundle;
  jwt_only.x509_authorities.clear();
  EXPECT_TRUE(parsed->sameKeys(jwt_only));
  EXPECT_FALSE(parsed->sameKeys(bundle));  // the CAs are not in a JWT bundle
}

// identity-standards §11: in a plain JWKS `use` is optional; when present it must be
// jwt-svid, otherwise the entry is ignored. kid stays required.
TEST_F(SpiffeBundleTest, ParseJwtJwksRules) {
  json no_use = jwtEntry(ec_key_, "a");
  no_use.erase("use");
  const json doc = {{"keys", {no_use, jwtEntry(rsa_key_, "b"), x509Entry(ca_a_->cert()),
                              {{"use", "sig"}, {"kid", "c"}, {"kty", "EC"}}}}};
  Result<SpiffeBundle> parsed = parseJwtJwks(doc.dump(), kTd);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->jwt_authorities.size(), 2u);
  EXPECT_EQ(parsed->jwt_authorities[0].kid, "a");
  EXPECT_EQ(parsed->jwt_authorities[1].kid, "b");
  EXPECT_TRUE(parsed->x509_authorities.empty());
  json no_kid = no_use;
  no_kid.erase("kid");
  EXPECT_FALSE(parseJwtJwks(json{{"keys", {no_kid}}}.dump(), kTd).ok());
  EXPECT_FALSE(parseJwtJwks(R"({"jwks":[]})", kTd).ok());
  EXPECT_TRUE(parseJwtJwks(R"({"keys":[]})", kTd).ok());
}

TEST_F(SpiffeBundleTest, SameKeysIgnoresOrderSequenceAndHint) {
  const SpiffeBundle bundle = fullBundle();
  SpiffeBundle other = fullBundle();
  std::swap(other.x509_authorities[0], other.x509_authorities[1]);
  std::swap(other.jwt_authorities[0], other.jwt_authorities[1]);
  other.sequence = 43;
  other.refresh_hint_seconds.reset();
  EXPECT_TRUE(bundle.sameKeys(other));
  SpiffeBundle renamed = fullBundle();
  renamed.jwt_authorities[0].kid = "ec-2";
  EXPECT_FALSE(bundle.sameKeys(renamed));
  SpiffeBundle fewer = fullBundle();
  fewer.x509_authorities.pop_back();
  EXPECT_FALSE(bundle.sameKeys(fewer));
  SpiffeBundle rekeyed = fullBundle();
  EVP_PKEY* fresh = EVP_EC_gen("P-256");
  rekeyed.jwt_authorities[0].key = sharedKey(fresh);
  EXPECT_FALSE(bundle.sameKeys(rekeyed));
}

// Workload API bundle fields: concatenated DER certificates.
TEST_F(SpiffeBundleTest, ParseDerCertificates) {
  const SpiffeBundle bundle = fullBundle();
  const std::string der = bundle.x509Der();
  Result<std::vector<std::shared_ptr<X509>>> certs = parseDerCertificates(der);
  ASSERT_TRUE(certs.ok()) << certs.error().message;
  ASSERT_EQ(certs->size(), 2u);
  EXPECT_EQ(X509_cmp((*certs)[0].get(), ca_a_->cert()), 0);
  EXPECT_EQ(X509_cmp((*certs)[1].get(), ca_b_->cert()), 0);
  EXPECT_FALSE(parseDerCertificates(der + "garbage").ok());
  EXPECT_FALSE(parseDerCertificates(der + std::string(1, '\0')).ok());
  EXPECT_FALSE(parseDerCertificates(der.substr(0, der.size() - 1)).ok());
  EXPECT_FALSE(parseDerCertificates("").ok());
  EXPECT_FALSE(parseDerCertificates("garbage").ok());
}

TEST_F(SpiffeBundleTest, ParsePemCertificates) {
  const SpiffeBundle bundle = fullBundle();
  const std::string pem = bundle.x509Pem();
  EXPECT_EQ(pem, ca_a_->certPem() + ca_b_->certPem());
  Result<std::vector<std::shared_ptr<X509>>> certs = parsePemCertificates(pem);
  ASSERT_TRUE(certs.ok()) << certs.error().message;
  ASSERT_EQ(certs->size(), 2u);
  EXPECT_EQ(X509_cmp((*certs)[1].get(), ca_b_->cert()), 0);
  EXPECT_FALSE(parsePemCertificates("").ok());
  EXPECT_FALSE(parsePemCertificates("no pem here").ok());
  std::string broken = ca_a_->certPem();
  broken[broken.size() / 2] = '*';
  EXPECT_FALSE(parsePemCertificates(broken).ok());
}

}  // namespace
}  // namespace warden::identity
