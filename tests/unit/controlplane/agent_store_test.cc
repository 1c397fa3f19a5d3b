// The agent registry: CRUD, validation, optimistic concurrency, history and restore.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <thread>
#include <vector>

#include "controlplane/store.h"
#include "store_test_util.h"

namespace warden::controlplane {
namespace {

using governance::AgentState;
using governance::RiskLevel;
using testing::kAdmin;
using testing::makeAgent;

class AgentStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::openStore(dir_.db(), clock_);
    ASSERT_TRUE(store_);
  }

  AgentRecord create(const std::string& name) {
    auto created = store_->createAgent(makeAgent(name), kAdmin, "create " + name);
    EXPECT_TRUE(created.ok()) << (created.ok() ? "" : created.error().message);
    return created.ok() ? *created : AgentRecord{};
  }

  testing::StoreDir dir_;
  testing::FakeClock clock_;
  std::unique_ptr<Store> store_;
};

TEST_F(AgentStoreTest, CreateGetListUpdateDelete) {
  AgentRecord input = makeAgent("budget-report");
  input.tags = {{"Team", "Finance"}};  // key normalised, value kept
  input.federated_credentials = {{"gh", "https://token.actions.githubusercontent.com", "",
                                  "repo:octo/app:environment:*", "api://AzureADTokenExchange"}};
  input.revision = 42;  // ignored: the store owns revisions and times
  auto created = store_->createAgent(input, kAdmin);
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(created->revision, 1u);
  EXPECT_EQ(created->created_unix, clock_.nowUnix());
  EXPECT_EQ(created->updated_unix, clock_.nowUnix());
  EXPECT_EQ(created->risk_updated_unix, clock_.nowUnix());
  EXPECT_EQ(created->tags, (governance::Tags{{"team", "Finance"}}));

  auto got = store_->getAgent("budget-report");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, *created);  // every field round-trips through the row
  auto by_id = store_->getAgentBySpiffeId("spiffe://example.org/agent/budget-report");
  ASSERT_TRUE(by_id.ok());
  EXPECT_EQ(by_id->name, "budget-report");

  create("alpha");
  auto list = store_->listAgents();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "alpha");  // ordered by name
  EXPECT_EQ((*list)[1].name, "budget-report");

  clock_.advanceSeconds(60);
  AgentRecord changed = *got;
  changed.display_name = "Budget report";
  changed.roles["api://budget"].push_back("writer");
  auto updated = store_->updateAgent(changed, 1, kAdmin, "more roles");
  ASSERT_TRUE(updated.ok()) << updated.error().message;
  EXPECT_EQ(updated->revision, 2u);
  EXPECT_EQ(updated->created_unix, created->created_unix);
  EXPECT_EQ(updated->updated_unix, clock_.nowUnix());
  EXPECT_EQ(updated->risk_updated_unix, created->risk_updated_unix);  // risk untouched
  EXPECT_EQ(store_->getAgent("budget-report")->display_name, "Budget report");

  ASSERT_TRUE(store_->deleteAgent("budget-report", 2, kAdmin, "retired").ok());
  auto gone = store_->getAgent("budget-report");
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().kind, StoreErrorKind::kNotFound);
  EXPECT_EQ(store_->getAgentBySpiffeId("spiffe://example.org/agent/budget-report").error().kind,
            StoreErrorKind::kNotFound);
}

TEST_F(AgentStoreTest, ErrorKindsForTheApi) {
  create("report");
  auto dup = store_->createAgent(makeAgent("report"), kAdmin);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().kind, StoreErrorKind::kExists);

  AgentRecord same_id = makeAgent("other");
  same_id.spiffe_id = "spiffe://example.org/agent/report";
  auto taken = store_->createAgent(same_id, kAdmin);
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().kind, StoreErrorKind::kExists);
  EXPECT_NE(taken.error().message.find("\"report\""), std::string::npos);

  auto missing = store_->updateAgent(makeAgent("nobody"), 1, kAdmin);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, StoreErrorKind::kNotFound);
  EXPECT_EQ(store_->deleteAgent("nobody", 1, kAdmin).error().kind, StoreErrorKind::kNotFound);

  AgentRecord bad = makeAgent("Bad_Name");
  EXPECT_EQ(store_->createAgent(bad, kAdmin).error().kind, StoreErrorKind::kInvalid);
  EXPECT_EQ(store_->createAgent(makeAgent("x"), Actor{"", "mtls"}).error().kind,
            StoreErrorKind::kInvalid);
  EXPECT_EQ(store_->agentHistory("nobody").error().kind, StoreErrorKind::kNotFound);
}

TEST_F(AgentStoreTest, ValidationNamesTheField) {
  struct Case {
    const char* what;
    std::function<void(AgentRecord&)> mutate;
    const char* field;
  };
  const std::vector<Case> cases = {
      {"long name", [](AgentRecord& r) { r.name = std::string(64, 'a'); }, "name"},
      {"bad spiffe id", [](AgentRecord& r) { r.spiffe_id = "spiffe://Example.org/x"; },
       "spiffe_id"},
      {"no identity", [](AgentRecord& r) { r.spiffe_id.clear(); }, "spiffe_id"},
      {"bad tag key",
       [](AgentRecord& r) {
         r.tags = {{"bad key", "v"}};
       },
       "tags"},
      {"duplicate tag",
       [](AgentRecord& r) {
         r.tags = {{"Team", "a"}, {"team", "b"}};
       },
       "tags"},
      {"control char", [](AgentRecord& r) { r.display_name = "a\nb"; }, "display_name"},
      {"bad utf-8", [](AgentRecord& r) { r.owner = "\xc3\x28"; }, "owner"},
      {"empty role",
       [](AgentRecord& r) {
         r.roles = {{"api://x", {""}}};
       },
       "roles.api://x"},
      {"subject and pattern",
       [](AgentRecord& r) {
         r.federated_credentials = {{"gh", "https://i", "s", "p", "aud"}};
       },
       "federated_credentials[0]"},
  };
  for (const auto& c : cases) {
    AgentRecord r = makeAgent("agent");
    c.mutate(r);
    auto result = store_->createAgent(r, kAdmin);
    ASSERT_FALSE(result.ok()) << c.what;
    EXPECT_EQ(result.error().kind, StoreErrorKind::kInvalid) << c.what;
    EXPECT_EQ(result.error().message.rfind(c.field, 0), 0u)
        << c.what << ": " << result.error().message;
  }
  AgentRecord federated_only = makeAgent("fed");
  federated_only.spiffe_id.clear();
  federated_only.client_id = "fed-client";
  federated_only.trust_domain_kind = TrustDomainKind::kFederated;
  EXPECT_TRUE(store_->createAgent(federated_only, kAdmin).ok());
}

TEST_F(AgentStoreTest, StaleRevisionIsAConflictAndChangesNothing) {
  AgentRecord v1 = create("report");
  AgentRecord first = v1;
  first.owner = "first";
  ASSERT_TRUE(store_->updateAgent(first, 1, kAdmin).ok());
  const std::uint64_t generation = store_->generation();
  auto changes_before = store_->listChanges({});
  ASSERT_TRUE(changes_before.ok());

  AgentRecord second = v1;
  second.owner = "second";
  auto stale = store_->updateAgent(second, 1, kAdmin);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().kind, StoreErrorKind::kConflict);
  EXPECT_NE(stale.error().message.find("revision 2, not 1"), std::string::npos);
  EXPECT_EQ(store_->deleteAgent("report", 1, kAdmin).error().kind, StoreErrorKind::kConflict);

  auto now = store_->getAgent("report");
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->owner, "first");
  EXPECT_EQ(now->revision, 2u);
  EXPECT_EQ(store_->generation(), generation);
  EXPECT_EQ(store_->listChanges({})->size(), changes_before->size());
  EXPECT_EQ(store_->agentHistory("report")->size(), 2u);
}

TEST_F(AgentStoreTest, RacingUpdatesWithTheSameRevisionHaveOneWinner) {
  create("report");
  constexpr int kThreads = 8;
  std::atomic<int> wins{0};
  std::atomic<int> conflicts{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      AgentRecord r = makeAgent("report");
      r.owner = "writer-" + std::to_string(i);
      auto result = store_->updateAgent(r, 1, kAdmin);
      if (result.ok()) {
        ++wins;
      } else if (result.error().kind == StoreErrorKind::kConflict) {
        ++conflicts;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wins.load(), 1);
  EXPECT_EQ(conflicts.load(), kThreads - 1);
  auto now = store_->getAgent("report");
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->revision, 2u);
  EXPECT_EQ(now->owner.rfind("writer-", 0), 0u);
}

TEST_F(AgentStoreTest, ReadModifyWriteLoopsLoseNoUpdate) {
  create("counter");
  constexpr int kThreads = 4;
  constexpr int kIncrements = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int done = 0; done < kIncrements;) {
        auto current = store_->getAgent("counter");
        ASSERT_TRUE(current.ok());
        AgentRecord next = *current;
        const int value = next.tags.count("n") ? std::stoi(next.tags["n"]) : 0;
        next.tags["n"] = std::to_string(value + 1);
        auto result = store_->updateAgent(next, current->revision, kAdmin);
        if (result.ok()) {
          ++done;
        } else {
          ASSERT_EQ(result.error().kind, StoreErrorKind::kConflict);  // retry on a new read
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  auto final_state = store_->getAgent("counter");
  ASSERT_TRUE(final_state.ok());
  EXPECT_EQ(final_state->tags.at("n"), std::to_string(kThreads * kIncrements));
  EXPECT_EQ(final_state->revision, 1u + kThreads * kIncrements);
}

TEST_F(AgentStoreTest, UnchangedUpdateIsNotARevision) {
  AgentRecord v1 = create("report");
  const auto generation = store_->generation();
  auto same = store_->updateAgent(v1, 1, kAdmin);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->revision, 1u);
  EXPECT_EQ(store_->generation(), generation);
}

TEST_F(AgentStoreTest, RiskAndStateBumpRevisions) {
  create("report");
  clock_.advanceSeconds(10);
  auto risky =
      store_->setRisk("report", RiskLevel::kHigh, "ssf:https://idp.example", kAdmin, "risk signal");
  ASSERT_TRUE(risky.ok()) << risky.error().message;
  EXPECT_EQ(risky->revision, 2u);
  EXPECT_EQ(risky->risk, RiskLevel::kHigh);
  EXPECT_EQ(risky->risk_source, "ssf:https://idp.example");
  EXPECT_EQ(risky->risk_updated_unix, clock_.nowUnix());

  clock_.advanceSeconds(10);
  auto again = store_->setRisk("report", RiskLevel::kHigh, "ssf:https://idp.example", kAdmin);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->revision, 3u);  // a re-assertion refreshes the risk's age
  EXPECT_EQ(again->risk_updated_unix, clock_.nowUnix());

  auto quarantined = store_->setState("report", AgentState::kQuarantined, kAdmin, "incident");
  ASSERT_TRUE(quarantined.ok());
  EXPECT_EQ(quarantined->revision, 4u);
  EXPECT_EQ(quarantined->state, AgentState::kQuarantined);
  auto unchanged = store_->setState("report", AgentState::kQuarantined, kAdmin);
  ASSERT_TRUE(unchanged.ok());
  EXPECT_EQ(unchanged->revision, 4u);

  EXPECT_EQ(store_->setRisk("nobody", RiskLevel::kLow, "admin", kAdmin).error().kind,
            StoreErrorKind::kNotFound);
  auto history = store_->agentHistory("report");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 4u);
  EXPECT_EQ((*history)[0].action, "agent.state");
  EXPECT_EQ((*history)[1].action, "agent.risk");
  EXPECT_EQ((*history)[3].action, "agent.create");
}

TEST_F(AgentStoreTest, HistoryKeepsEveryRevisionAndRestoreMakesANewOne) {
  AgentRecord v1 = create("report");
  AgentRecord v2 = v1;
  v2.display_name = "second";
  v2.tags["env"] = "prod";
  ASSERT_TRUE(store_->updateAgent(v2, 1, kAdmin, "v2").ok());
  ASSERT_TRUE(store_->setState("report", AgentState::kDisabled, kAdmin, "v3").ok());

  auto history = store_->agentHistory("report");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 3u);
  EXPECT_EQ((*history)[2].revision, 1u);
  ASSERT_TRUE((*history)[2].record);
  EXPECT_EQ((*history)[2].record->display_name, v1.display_name);
  EXPECT_EQ((*history)[1].comment, "v2");
  EXPECT_EQ((*history)[1].actor, kAdmin);

  auto stale = store_->restoreAgent("report", 1, kAdmin, "", std::uint64_t{2});
  EXPECT_EQ(stale.error().kind, StoreErrorKind::kConflict);
  auto restored = store_->restoreAgent("report", 1, kAdmin, "back to v1", std::uint64_t{3});
  ASSERT_TRUE(restored.ok()) << restored.error().message;
  EXPECT_EQ(restored->revision, 4u);
  EXPECT_TRUE(sameAgentContent(*restored, *(*history)[2].record));
  EXPECT_EQ(restored->state, AgentState::kEnabled);
  EXPECT_EQ(store_->agentHistory("report")->front().action, "agent.restore");
  EXPECT_EQ(store_->restoreAgent("report", 99, kAdmin).error().kind, StoreErrorKind::kNotFound);
}

TEST_F(AgentStoreTest, DeletedNameContinuesItsRevisionsAndCanBeRestored) {
  create("report");
  ASSERT_TRUE(store_->deleteAgent("report", 1, kAdmin, "gone").ok());
  auto history = store_->agentHistory("report");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].action, "agent.delete");
  EXPECT_FALSE((*history)[0].record);  // the deletion has no content

  EXPECT_EQ(store_->restoreAgent("report", 2, kAdmin).error().kind, StoreErrorKind::kInvalid);
  auto restored = store_->restoreAgent("report", 1, kAdmin, "undo delete");
  ASSERT_TRUE(restored.ok()) << restored.error().message;
  EXPECT_EQ(restored->revision, 3u);  // a stale "v1" ETag cannot match the new agent
  ASSERT_TRUE(store_->deleteAgent("report", 3, kAdmin).ok());
  auto recreated = store_->createAgent(makeAgent("report"), kAdmin);
  ASSERT_TRUE(recreated.ok());
  EXPECT_EQ(recreated->revision, 5u);
}

}  // namespace
}  // namespace warden::controlplane
