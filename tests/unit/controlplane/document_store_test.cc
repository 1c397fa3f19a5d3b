// Versioned policy and governance documents: versions, history, restore, preconditions.
#include <gtest/gtest.h>

#include "controlplane/etag.h"
#include "controlplane/store.h"
#include "store_test_util.h"

namespace warden::controlplane {
namespace {

using testing::kAdmin;
using testing::kBootstrap;

constexpr const char* kV1 = "version: \"1\"\ncallers:\n  - id: a\n";
constexpr const char* kV2 = "version: \"2\"\ncallers:\n  - id: a\n  - id: b\n";
constexpr const char* kV3 = "version: \"3\"\ncallers: []";  // no final newline

class DocumentStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::openStore(dir_.db(), clock_);
    ASSERT_TRUE(store_);
  }

  DocumentVersion put(const char* content, std::optional<std::uint64_t> expected) {
    auto v =
        store_->putDocument(kPolicyDocument, "budget-backend", content, expected, kAdmin, "put");
    EXPECT_TRUE(v.ok()) << (v.ok() ? "" : v.error().message);
    return v.ok() ? *v : DocumentVersion{};
  }

  testing::StoreDir dir_;
  testing::FakeClock clock_;
  std::unique_ptr<Store> store_;
};

TEST_F(DocumentStoreTest, VersionsCountFromOneWithAuthorAndDigest) {
  const DocumentVersion v1 = put(kV1, std::nullopt);
  EXPECT_EQ(v1.version, 1u);
  EXPECT_EQ(v1.kind, "policy");
  EXPECT_EQ(v1.target, "budget-backend");
  EXPECT_EQ(v1.content, kV1);
  EXPECT_EQ(v1.author, kAdmin);
  EXPECT_EQ(v1.time_unix, clock_.nowUnix());
  EXPECT_EQ(v1.action, "put");
  EXPECT_EQ(v1.sha256.size(), 64u);
  auto abc = store_->putDocument(kGovernanceDocument, "digest", "abc", std::nullopt, kAdmin);
  ASSERT_TRUE(abc.ok());
  EXPECT_EQ(abc->sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

  clock_.advanceSeconds(5);
  const DocumentVersion v2 = put(kV2, 1);
  EXPECT_EQ(v2.version, 2u);
  EXPECT_NE(v2.sha256, v1.sha256);

  auto current = store_->getDocument(kPolicyDocument, "budget-backend");
  ASSERT_TRUE(current.ok());
  EXPECT_EQ(current->version, 2u);
  EXPECT_EQ(current->content, kV2);
  auto old = store_->getDocumentVersion(kPolicyDocument, "budget-backend", 1);
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->content, kV1);
  EXPECT_EQ(store_->getDocumentVersion(kPolicyDocument, "budget-backend", 3).error().kind,
            StoreErrorKind::kNotFound);
  // Kinds are separate documents.
  EXPECT_EQ(store_->getDocument(kGovernanceDocument, "budget-backend").error().kind,
            StoreErrorKind::kNotFound);
}

TEST_F(DocumentStoreTest, PreconditionsMapToConflictNotFoundInvalid) {
  put(kV1, std::nullopt);
  const auto generation = store_->generation();

  auto create_again =
      store_->putDocument(kPolicyDocument, "budget-backend", kV2, std::nullopt, kAdmin);
  ASSERT_FALSE(create_again.ok());
  EXPECT_EQ(create_again.error().kind, StoreErrorKind::kConflict);

  put(kV2, 1);
  auto stale = store_->putDocument(kPolicyDocument, "budget-backend", kV3, 1, kAdmin);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().kind, StoreErrorKind::kConflict);
  EXPECT_NE(stale.error().message.find("version 2, not 1"), std::string::npos);
  EXPECT_EQ(store_->getDocument(kPolicyDocument, "budget-backend")->content, kV2);
  EXPECT_EQ(store_->generation(), generation + 1);  // only the successful put counted

  auto missing = store_->putDocument(kPolicyDocument, "nobody", kV1, 3, kAdmin);
  EXPECT_EQ(missing.error().kind, StoreErrorKind::kNotFound);
  EXPECT_EQ(store_->putDocument("secrets", "x", kV1, std::nullopt, kAdmin).error().kind,
            StoreErrorKind::kInvalid);
  EXPECT_EQ(
      store_->putDocument(kPolicyDocument, "Bad Target", kV1, std::nullopt, kAdmin).error().kind,
      StoreErrorKind::kInvalid);
  EXPECT_EQ(store_
                ->putDocument(kPolicyDocument, "big", std::string((1 << 20) + 1, 'x'), std::nullopt,
                              kAdmin)
                .error()
                .kind,
            StoreErrorKind::kInvalid);
}

TEST_F(DocumentStoreTest, SameContentIsNotANewVersion) {
  put(kV1, std::nullopt);
  const auto generation = store_->generation();
  const DocumentVersion again = put(kV1, 1);
  EXPECT_EQ(again.version, 1u);
  EXPECT_EQ(store_->generation(), generation);
}

TEST_F(DocumentStoreTest, HistoryIsNewestFirstWithoutContent) {
  put(kV1, std::nullopt);
  put(kV2, 1);
  ASSERT_TRUE(
      store_->putDocument(kPolicyDocument, "budget-backend", kV3, 2, kBootstrap, "third").ok());
  auto history = store_->documentHistory(kPolicyDocument, "budget-backend");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 3u);
  EXPECT_EQ((*history)[0].version, 3u);
  EXPECT_EQ((*history)[0].author, kBootstrap);
  EXPECT_EQ((*history)[0].comment, "third");
  EXPECT_TRUE((*history)[0].content.empty());
  EXPECT_FALSE((*history)[0].sha256.empty());
  EXPECT_EQ((*history)[2].version, 1u);
  EXPECT_EQ(store_->documentHistory(kPolicyDocument, "nobody").error().kind,
            StoreErrorKind::kNotFound);
}

TEST_F(DocumentStoreTest, RestoreCreatesANewVersionWithTheExactOldContent) {
  put(kV1, std::nullopt);
  put(kV2, 1);
  ASSERT_TRUE(store_->putDocument(kPolicyDocument, "budget-backend", kV3, 2, kAdmin).ok());

  auto stale = store_->restoreDocument(kPolicyDocument, "budget-backend", 1, 2, kAdmin);
  EXPECT_EQ(stale.error().kind, StoreErrorKind::kConflict);
  auto restored =
      store_->restoreDocument(kPolicyDocument, "budget-backend", 1, 3, kAdmin, "roll back");
  ASSERT_TRUE(restored.ok()) << restored.error().message;
  EXPECT_EQ(restored->version, 4u);
  EXPECT_EQ(restored->content, kV1);
  EXPECT_EQ(restored->action, "restore");
  EXPECT_EQ(restored->restored_from, 1u);
  auto v1 = store_->getDocumentVersion(kPolicyDocument, "budget-backend", 1);
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(restored->sha256, v1->sha256);
  auto current = store_->getDocument(kPolicyDocument, "budget-backend");
  ASSERT_TRUE(current.ok());
  EXPECT_EQ(current->content, kV1);
  EXPECT_EQ(current->restored_from, 1u);

  EXPECT_EQ(store_->restoreDocument(kPolicyDocument, "budget-backend", 9, std::nullopt, kAdmin)
                .error()
                .kind,
            StoreErrorKind::kNotFound);
  EXPECT_EQ(
      store_->restoreDocument(kPolicyDocument, "nobody", 1, std::nullopt, kAdmin).error().kind,
      StoreErrorKind::kNotFound);
}

TEST_F(DocumentStoreTest, ListDocumentsGivesCurrentVersionsOfOneKind) {
  ASSERT_TRUE(store_->putDocument(kPolicyDocument, "b-target", kV1, std::nullopt, kAdmin).ok());
  ASSERT_TRUE(store_->putDocument(kPolicyDocument, "b-target", kV2, 1, kAdmin).ok());
  ASSERT_TRUE(store_->putDocument(kPolicyDocument, "a-target", kV3, std::nullopt, kAdmin).ok());
  ASSERT_TRUE(
      store_->putDocument(kGovernanceDocument, "a-target", "max_risk: low\n", std::nullopt, kAdmin)
          .ok());
  auto policies = store_->listDocuments(kPolicyDocument);
  ASSERT_TRUE(policies.ok());
  ASSERT_EQ(policies->size(), 2u);
  EXPECT_EQ((*policies)[0].target, "a-target");
  EXPECT_EQ((*policies)[1].target, "b-target");
  EXPECT_EQ((*policies)[1].version, 2u);
  EXPECT_EQ((*policies)[1].content, kV2);
  auto governance = store_->listDocuments(kGovernanceDocument);
  ASSERT_TRUE(governance.ok());
  ASSERT_EQ(governance->size(), 1u);
  EXPECT_EQ(store_->listDocuments("other").error().kind, StoreErrorKind::kInvalid);
}

TEST_F(DocumentStoreTest, EtagOfAVersionRoundTripsThroughIfMatch) {
  const DocumentVersion v1 = put(kV1, std::nullopt);
  const std::string etag = etagFor(v1.kind, v1.target, v1.version);
  EXPECT_EQ(etag, "\"policy-budget-backend-v1\"");
  auto condition = parseIfMatch(etag);
  ASSERT_TRUE(condition.ok());
  ASSERT_EQ(condition->tags.size(), 1u);
  auto expected = etagVersion(condition->tags[0], kPolicyDocument, "budget-backend");
  ASSERT_TRUE(expected);
  EXPECT_TRUE(store_->putDocument(kPolicyDocument, "budget-backend", kV2, *expected, kAdmin).ok());
}

}  // namespace
}  // namespace warden::controlplane
