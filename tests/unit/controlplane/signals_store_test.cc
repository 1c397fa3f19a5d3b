// Shared Signals state (SET replay detection, revocations) and admin credential storage.
#include <gtest/gtest.h>

#include "controlplane/store.h"
#include "store_test_util.h"

namespace warden::controlplane {
namespace {

using testing::kAdmin;

class SignalsStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::openStore(dir_.db(), clock_);
    ASSERT_TRUE(store_);
  }
  testing::StoreDir dir_;
  testing::FakeClock clock_;
  std::unique_ptr<Store> store_;
};

TEST_F(SignalsStoreTest, JtiReplayIsDetectedUntilItExpires) {
  const std::string issuer = "https://idp.example";
  EXPECT_TRUE(*store_->rememberJti(issuer, "set-1", 1000, 300));
  EXPECT_FALSE(*store_->rememberJti(issuer, "set-1", 1001, 300));  // replay
  EXPECT_FALSE(*store_->rememberJti(issuer, "set-1", 1299, 300));
  EXPECT_TRUE(*store_->rememberJti("https://other.example", "set-1", 1001, 300));
  EXPECT_TRUE(*store_->rememberJti(issuer, "set-2", 1001, 300));
  // Expired: accepted again (the receiver's own iat check bounds how old a SET may be).
  EXPECT_TRUE(*store_->rememberJti(issuer, "set-1", 1300, 300));
  EXPECT_FALSE(*store_->rememberJti(issuer, "set-1", 1301, 300));

  store_.reset();  // durable across restarts
  store_ = testing::openStore(dir_.db(), clock_);
  ASSERT_TRUE(store_);
  EXPECT_FALSE(*store_->rememberJti(issuer, "set-2", 1002, 300));

  auto pruned = store_->pruneJtis(1301);  // set-1@other and set-2 expired at 1301
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 2u);
  EXPECT_FALSE(*store_->rememberJti(issuer, "set-1", 1302, 300));  // still held until 1600

  EXPECT_EQ(store_->rememberJti("", "x", 0, 1).error().kind, StoreErrorKind::kInvalid);
  EXPECT_EQ(store_->rememberJti(issuer, "x", 0, 0).error().kind, StoreErrorKind::kInvalid);
}

TEST_F(SignalsStoreTest, RevocationsAreListedWhileActive) {
  auto forever = store_->addRevocation(
      {0, "spiffe://example.org/agent/report", 5000, "session revoked", "ssf:idp", 0, 0}, kAdmin);
  ASSERT_TRUE(forever.ok()) << forever.error().message;
  EXPECT_GT(forever->id, 0u);
  EXPECT_EQ(forever->created_unix, clock_.nowUnix());
  auto temporary =
      store_->addRevocation({0, "user-7", 6000, "credential change", "admin", 10'000, 0}, kAdmin);
  ASSERT_TRUE(temporary.ok());

  auto active = store_->listRevocations(9'999);
  ASSERT_TRUE(active.ok());
  ASSERT_EQ(active->size(), 2u);
  EXPECT_EQ((*active)[0].subject, "spiffe://example.org/agent/report");
  EXPECT_EQ((*active)[0].issued_before_unix, 5000);
  EXPECT_EQ((*active)[0].reason, "session revoked");
  EXPECT_EQ((*active)[0].source, "ssf:idp");
  EXPECT_EQ((*active)[1].expires_unix, 10'000);

  auto later = store_->listRevocations(10'000);
  ASSERT_TRUE(later.ok());
  ASSERT_EQ(later->size(), 1u);
  EXPECT_EQ((*later)[0].subject, "spiffe://example.org/agent/report");

  const auto generation = store_->generation();
  EXPECT_EQ(*store_->pruneRevocations(10'000), 1u);
  EXPECT_EQ(store_->generation(), generation);  // the active set did not change
  EXPECT_EQ(store_->listRevocations(0)->size(), 1u);

  EXPECT_EQ(store_->addRevocation({0, "", 1, "", "", 0, 0}, kAdmin).error().kind,
            StoreErrorKind::kInvalid);
  EXPECT_EQ(store_->addRevocation({0, "s", 0, "", "", 0, 0}, kAdmin).error().kind,
            StoreErrorKind::kInvalid);
}

TEST_F(SignalsStoreTest, CredentialsStoreAndRotateHashes) {
  ASSERT_TRUE(store_->storeCredential("admin", "$argon2id$v=19$one", kAdmin).ok());
  auto dup = store_->storeCredential("admin", "$argon2id$v=19$two", kAdmin);
  EXPECT_EQ(dup.error().kind, StoreErrorKind::kExists);
  auto got = store_->getCredential("admin");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->hash, "$argon2id$v=19$one");
  EXPECT_EQ(got->created_unix, clock_.nowUnix());

  clock_.advanceSeconds(100);
  ASSERT_TRUE(store_->rotateCredential("admin", "$argon2id$v=19$two", kAdmin).ok());
  got = store_->getCredential("admin");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->hash, "$argon2id$v=19$two");
  EXPECT_EQ(got->updated_unix, got->created_unix + 100);

  EXPECT_EQ(store_->rotateCredential("nobody", "$h", kAdmin).error().kind,
            StoreErrorKind::kNotFound);
  EXPECT_EQ(store_->getCredential("nobody").error().kind, StoreErrorKind::kNotFound);
  EXPECT_EQ(store_->storeCredential("admin2", "has space", kAdmin).error().kind,
            StoreErrorKind::kInvalid);
}

}  // namespace
}  // namespace warden::controlplane
