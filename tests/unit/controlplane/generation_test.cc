// The global generation and its subscribers; the management change log.
#include <gtest/gtest.h>

#include <mutex>
#include <thread>
#include <vector>

#include "controlplane/store.h"
#include "store_test_util.h"

namespace warden::controlplane {
namespace {

using testing::kAdmin;
using testing::makeAgent;

class GenerationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::openStore(dir_.db(), clock_);
    ASSERT_TRUE(store_);
  }
  testing::StoreDir dir_;
  testing::FakeClock clock_;
  std::unique_ptr<Store> store_;
};

TEST_F(GenerationTest, EveryCommittedConfigChangeCountsAndSubscribersHearIt) {
  std::mutex mu;
  std::vector<std::uint64_t> heard;
  const auto handle = store_->subscribe([&](std::uint64_t g) {
    std::lock_guard lock(mu);
    heard.push_back(g);
  });
  EXPECT_EQ(store_->generation(), 0u);
  ASSERT_TRUE(store_->createAgent(makeAgent("report"), kAdmin).ok());
  EXPECT_EQ(store_->generation(), 1u);
  ASSERT_TRUE(store_->setRisk("report", governance::RiskLevel::kLow, "admin", kAdmin).ok());
  ASSERT_TRUE(store_->putDocument(kPolicyDocument, "report", "a\n", std::nullopt, kAdmin).ok());
  ASSERT_TRUE(store_->addRevocation({0, "sub", 100, "", "admin", 0, 0}, kAdmin).ok());
  EXPECT_EQ(store_->generation(), 4u);

  // Not configuration: audit events, jtis, credentials; and failed writes.
  ASSERT_TRUE(store_->insertAuditEvents("spiffe://example.org/s", {{1, "{}"}}).ok());
  ASSERT_TRUE(store_->rememberJti("iss", "j", 0, 60).ok());
  ASSERT_TRUE(store_->storeCredential("admin", "$argon2id$x", kAdmin).ok());
  EXPECT_FALSE(store_->createAgent(makeAgent("report"), kAdmin).ok());
  EXPECT_EQ(store_->generation(), 4u);
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(heard, (std::vector<std::uint64_t>{1, 2, 3, 4}));
  }

  store_->unsubscribe(handle);
  ASSERT_TRUE(store_->setState("report", governance::AgentState::kDisabled, kAdmin).ok());
  std::lock_guard lock(mu);
  EXPECT_EQ(heard.size(), 4u);
}

TEST_F(GenerationTest, SubscriberMayCallTheStoreAndAnnouncementsIncrease) {
  std::mutex mu;
  std::vector<std::uint64_t> heard;
  store_->subscribe([&](std::uint64_t g) {
    auto agents = store_->listAgents();  // not under the store's mutex: no deadlock
    EXPECT_TRUE(agents.ok());
    std::lock_guard lock(mu);
    heard.push_back(g);
  });
  store_->subscribe([](std::uint64_t) { throw std::runtime_error("ignored"); });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        auto name = "a" + std::to_string(t) + "-" + std::to_string(i);
        EXPECT_TRUE(store_->createAgent(makeAgent(name), kAdmin).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(store_->generation(), 40u);
  std::lock_guard lock(mu);
  ASSERT_FALSE(heard.empty());
  for (std::size_t i = 1; i < heard.size(); ++i) EXPECT_LT(heard[i - 1], heard[i]);
  EXPECT_EQ(heard.back(), 40u);
}

TEST_F(GenerationTest, ChangeLogRecordsEveryMutationWithItsActor) {
  const Actor bootstrap{"admin", "bootstrap"};
  ASSERT_TRUE(store_->createAgent(makeAgent("report"), bootstrap, "seed").ok());
  AgentRecord r = *store_->getAgent("report");
  r.owner = "finance";
  ASSERT_TRUE(store_->updateAgent(r, 1, kAdmin, "owner").ok());
  ASSERT_TRUE(store_->setRisk("report", governance::RiskLevel::kHigh, "ssf:x", kAdmin).ok());
  ASSERT_TRUE(store_->setState("report", governance::AgentState::kQuarantined, kAdmin).ok());
  ASSERT_TRUE(store_->putDocument(kPolicyDocument, "report", "a\nb\n", std::nullopt, kAdmin).ok());
  ASSERT_TRUE(store_->putDocument(kPolicyDocument, "report", "a\nc\n", 1, kAdmin, "edit").ok());
  ASSERT_TRUE(store_->restoreDocument(kPolicyDocument, "report", 1, 2, kAdmin).ok());
  ASSERT_TRUE(store_->putDocument(kGovernanceDocument, "report", "x\n", std::nullopt, kAdmin).ok());
  ASSERT_TRUE(store_->addRevocation({0, "sub", 100, "caep", "ssf:x", 0, 0}, kAdmin).ok());
  ASSERT_TRUE(store_->storeCredential("root", "$hash$1", bootstrap).ok());
  ASSERT_TRUE(store_->rotateCredential("root", "$hash$2", kAdmin).ok());
  ASSERT_TRUE(store_->restoreAgent("report", 1, kAdmin).ok());
  ASSERT_TRUE(store_->deleteAgent("report", 5, kAdmin, "bye").ok());

  auto changes = store_->listChanges({});
  ASSERT_TRUE(changes.ok());
  std::vector<std::string> actions;
  for (const auto& c : *changes) actions.push_back(c.action);
  EXPECT_EQ(actions,
            (std::vector<std::string>{"agent.delete", "agent.restore", "credential.rotate",
                                      "credential.create", "revocation.add", "governance.put",
                                      "policy.restore", "policy.put", "policy.put", "agent.state",
                                      "agent.risk", "agent.update", "agent.create"}));
  const ChangeRecord& create = changes->back();
  EXPECT_EQ(create.actor, bootstrap);
  EXPECT_EQ(create.object_kind, "agent");
  EXPECT_EQ(create.object_id, "report");
  EXPECT_EQ(create.object_version, 1u);
  EXPECT_EQ(create.comment, "seed");
  EXPECT_EQ(create.time_unix, clock_.nowUnix());
  EXPECT_EQ(create.detail.rfind("{\"before\":null,\"after\":{", 0), 0u) << create.detail;

  const ChangeRecord& update = (*changes)[11];
  EXPECT_EQ(update.actor, kAdmin);
  EXPECT_NE(update.detail.find("\"owner\":\"finance\""), std::string::npos);
  EXPECT_NE(update.detail.find("\"owner\":\"team-report\""), std::string::npos);

  const ChangeRecord& edit = (*changes)[7];
  EXPECT_EQ(edit.object_kind, "policy");
  EXPECT_EQ(edit.object_version, 2u);
  EXPECT_EQ(edit.detail,
            "--- policy/report v1\n+++ policy/report v2\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n");
  EXPECT_EQ((*changes)[2].detail, "");  // never the credential hash
  EXPECT_EQ((*changes)[0].detail.find("\"after\":null"), (*changes)[0].detail.size() - 13);

  // Filters and paging.
  ChangeQuery policy_only;
  policy_only.object_kind = "policy";
  EXPECT_EQ(store_->listChanges(policy_only)->size(), 3u);
  ChangeQuery page;
  page.limit = 5;
  auto first = store_->listChanges(page);
  ASSERT_EQ(first->size(), 5u);
  page.before_id = first->back().id;
  auto second = store_->listChanges(page);
  ASSERT_EQ(second->size(), 5u);
  EXPECT_EQ(second->front().id, first->back().id - 1);
  ChangeQuery since;
  since.since_id = (*changes)[1].id;
  ASSERT_EQ(store_->listChanges(since)->size(), 1u);
  EXPECT_EQ(store_->listChanges(since)->front().action, "agent.delete");
}

}  // namespace
}  // namespace warden::controlplane
