// KeySet: JWK Sets (RFC 7517 §5) as an issuer publishes them, including entries that must
// be skipped (encryption keys, unsupported types) and sets that must be refused whole.
#include "token/key_set.h"

#include <gtest/gtest.h>

#include <set>

#include "token_test_util.h"

namespace warden::token {
namespace {

using testing::es256;
using testing::json;
using testing::rs256;

TEST(KeySetTest, ReadsEcAndRsaKeysByKid) {
  auto set = KeySet::fromJwks(testing::jwks({es256("ec-1"), rs256("rsa-1")}).dump());
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ((*set)->size(), 2u);
  const VerificationKey* ec = (*set)->find("ec-1");
  ASSERT_NE(ec, nullptr);
  EXPECT_EQ(ec->kty, "EC");
  EXPECT_FALSE(ec->alg.has_value());
  EXPECT_EQ(EVP_PKEY_eq(ec->key.get(), testing::pooledKey("p256-a")), 1);
  ASSERT_NE((*set)->find("rsa-1"), nullptr);
  EXPECT_EQ((*set)->find("rsa-1")->kty, "RSA");
  EXPECT_EQ((*set)->find("rsa-2"), nullptr);
  EXPECT_EQ((*set)->find(""), nullptr);
  EXPECT_TRUE((*set)->skipped().empty());
  EXPECT_NE((*set)->generation(), 0u);
}

TEST(KeySetTest, PublishedAlgIsKept) {
  json doc = {{"keys", {rs256().jwk(true)}}};
  auto set = KeySet::fromJwks(doc.dump());
  ASSERT_TRUE(set.ok());
  EXPECT_EQ((*set)->find("rsa-1")->alg, jose::Alg::kRS256);
}

// Entra's keys carry x5t and x5c beside n and e; those members are not needed and ignored.
TEST(KeySetTest, EntraShapedKeyWithCertificateMembersIsRead) {
  json key = rs256("nOo3ZDrODXEK1jKWhXslHR_KXEg").jwk();
  key["x5t"] = "nOo3ZDrODXEK1jKWhXslHR_KXEg";
  key["x5c"] = {"MIIDBTCCAe2gAwIBAgIQ"};
  key["issuer"] = "https://login.microsoftonline.com/{tenantid}/v2.0";
  auto set = KeySet::fromJwks(json{{"keys", {key}}}.dump());
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_NE((*set)->find("nOo3ZDrODXEK1jKWhXslHR_KXEg"), nullptr);
}

TEST(KeySetTest, SkipsWhatCannotVerifySignatures) {
  json enc = es256("enc-1").jwk();
  enc["use"] = "enc";
  json wrap = es256("wrap-1").jwk();
  wrap.erase("use");
  wrap["key_ops"] = {"wrapKey"};
  json no_kid = es256().jwk();
  no_kid.erase("kid");
  json okp = {{"kty", "OKP"}, {"crv", "Ed25519"}, {"kid", "ed-1"},
              {"x", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}};
  json oct = {{"kty", "oct"}, {"kid", "hmac-1"}, {"k", "c2VjcmV0"}};
  json eddsa_alg = es256("alg-1").jwk();
  eddsa_alg["alg"] = "EdDSA";
  json wrong_alg = es256("alg-2").jwk();
  wrong_alg["alg"] = "RS256";  // an EC key cannot do RS256
  json priv = es256("priv-1").jwk();
  priv["d"] = "AAAA";
  json small_rsa = {{"kty", "RSA"}, {"kid", "rsa-512"}, {"e", "AQAB"},
                    {"n", testing::b64(std::string(64, '\xC5'))}};
  json good = es256("good").jwk();
  json doc = {
      {"keys", {enc, wrap, no_kid, okp, oct, eddsa_alg, wrong_alg, priv, small_rsa, good, 7}}};

  auto set = KeySet::fromJwks(doc.dump());
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ((*set)->size(), 1u);
  EXPECT_NE((*set)->find("good"), nullptr);
  ASSERT_EQ((*set)->skipped().size(), 10u);
  EXPECT_NE((*set)->skipped()[0].find("keys[0] (kid \"enc-1\"): use is not \"sig\""),
            std::string::npos);
  EXPECT_NE((*set)->skipped()[1].find("key_ops"), std::string::npos);
  EXPECT_NE((*set)->skipped()[2].find("no kid"), std::string::npos);
  EXPECT_NE((*set)->skipped()[3].find("kty is not RSA or EC"), std::string::npos);
  EXPECT_NE((*set)->skipped()[5].find("EdDSA"), std::string::npos);
  EXPECT_NE((*set)->skipped()[6].find("does not fit its alg RS256"), std::string::npos);
  EXPECT_NE((*set)->skipped()[7].find("private member"), std::string::npos);
  EXPECT_NE((*set)->skipped()[9].find("keys[10]: not an object"), std::string::npos);
}

TEST(KeySetTest, DuplicateKidRefusesTheWholeSet) {
  auto set = KeySet::fromJwks(testing::jwks({es256("same"), rs256("same")}).dump());
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.error().message, "JWKS: duplicate kid \"same\"");
}

TEST(KeySetTest, DuplicateKidOfASkippedKeyIsNotAConflict) {
  json enc = rs256("same").jwk();
  enc["use"] = "enc";
  auto set = KeySet::fromJwks(json{{"keys", {enc, es256("same").jwk()}}}.dump());
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ((*set)->find("same")->kty, "EC");
}

TEST(KeySetTest, RefusesDocumentsThatAreNotUsableSets) {
  EXPECT_FALSE(KeySet::fromJwks("").ok());
  EXPECT_FALSE(KeySet::fromJwks("[]").ok());
  EXPECT_FALSE(KeySet::fromJwks(R"({"keys":{}})").ok());
  EXPECT_FALSE(KeySet::fromJwks(R"({"keys":[],"keys":[]})").ok());  // duplicate member
  auto empty = KeySet::fromJwks(R"({"keys":[]})");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().message, "JWKS has no usable signing key");
  json enc = es256().jwk();
  enc["use"] = "enc";
  auto only_enc = KeySet::fromJwks(json{{"keys", {enc}}}.dump());
  ASSERT_FALSE(only_enc.ok());
  EXPECT_NE(only_enc.error().message.find("no usable signing key (keys[0]"), std::string::npos);
}

TEST(KeySetTest, SizeCaps) {
  json many = json::array();
  for (std::size_t i = 0; i <= kMaxJwksKeys; ++i) {
    many.push_back(es256("k" + std::to_string(i)).jwk());
  }
  auto too_many = KeySet::fromJwks(json{{"keys", many}}.dump());
  ASSERT_FALSE(too_many.ok());
  EXPECT_NE(too_many.error().message.find("more than the limit of 64"), std::string::npos);

  many.erase(many.begin());
  EXPECT_TRUE(KeySet::fromJwks(json{{"keys", many}}.dump()).ok());

  json padded = testing::jwks({es256()});
  padded["padding"] = std::string(kMaxJwksBytes, 'x');
  auto too_big = KeySet::fromJwks(padded.dump());
  ASSERT_FALSE(too_big.ok());
  EXPECT_NE(too_big.error().message.find("exceeds the limit"), std::string::npos);

  json long_kid = es256(std::string(kMaxKidBytes + 1, 'k')).jwk();
  auto skipped = KeySet::fromJwks(json{{"keys", {long_kid, es256().jwk()}}}.dump());
  ASSERT_TRUE(skipped.ok());
  EXPECT_EQ((*skipped)->size(), 1u);
}

TEST(KeySetTest, GenerationsAreUniqueAndSameKeysIgnoresOrder) {
  auto a = testing::keySet({es256("ec-1"), rs256("rsa-1")});
  auto b = testing::keySet({rs256("rsa-1"), es256("ec-1")});
  auto c = testing::keySet({es256("ec-1"), rs256("rsa-1", "rsa-b")});
  auto d = testing::keySet({es256("ec-1")});
  ASSERT_TRUE(a && b && c && d);
  std::set<std::uint64_t> generations = {a->generation(), b->generation(), c->generation(),
                                         d->generation()};
  EXPECT_EQ(generations.size(), 4u);
  EXPECT_TRUE(a->sameKeys(*b));
  EXPECT_FALSE(a->sameKeys(*c));  // same kid, other key material
  EXPECT_FALSE(a->sameKeys(*d));
}

TEST(FixedKeySetProviderTest, GenerationFollowsTheSet) {
  FixedKeySetProvider provider;
  EXPECT_EQ(provider.current(), nullptr);
  EXPECT_EQ(provider.generation(), 0u);
  auto set = testing::keySet({es256()});
  provider.set(set);
  EXPECT_EQ(provider.current(), set);
  EXPECT_EQ(provider.generation(), set->generation());
  provider.requestRefresh();
  EXPECT_EQ(provider.refreshRequests(), 1u);
}

}  // namespace
}  // namespace warden::token
