// The control plane's test-call broker (controlplane/test_calls.h): calls wait for their
// caller's sidecar, are handed over once, and only that sidecar may answer them.
#include <gtest/gtest.h>

#include <set>

#include "controlplane/test_calls.h"

namespace warden::controlplane {
namespace {

const std::string kReport = "spiffe://example.org/budget-report";
const std::string kApproval = "spiffe://example.org/budget-approval";

TestCall callFrom(const std::string& caller, const std::string& path = "/budget/read") {
  TestCall c;
  c.caller_id = caller;
  c.target_id = "spiffe://example.org/budget-backend";
  c.method = "GET";
  c.path = path;
  return c;
}

TEST(TestCallBrokerTest, ACallIsHandedToItsCallersSidecarOnceInOrder) {
  TestCallBroker broker;
  TestCall first = callFrom(kReport, "/1");
  TestCall second = callFrom(kReport, "/2");
  TestCall other = callFrom(kApproval);
  const auto epoch = broker.queued().epoch();
  ASSERT_TRUE(broker.submit(first));
  ASSERT_TRUE(broker.submit(second));
  ASSERT_TRUE(broker.submit(other));
  EXPECT_GT(broker.queued().epoch(), epoch) << "a queued call must wake the sidecars' long-polls";
  EXPECT_EQ(first.id.size(), 24u);
  EXPECT_NE(first.id, second.id);
  EXPECT_FALSE(broker.pickedUp(first.id));

  auto taken = broker.take(kReport);
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(taken[0].path, "/1");
  EXPECT_EQ(taken[1].path, "/2");
  EXPECT_TRUE(broker.pickedUp(first.id));
  EXPECT_TRUE(broker.take(kReport).empty()) << "each call is handed over once";
  EXPECT_FALSE(broker.pickedUp(other.id));
  ASSERT_EQ(broker.take(kApproval).size(), 1u);
}

TEST(TestCallBrokerTest, OnlyTheCallerThatTookTheCallAnswersItOnce) {
  TestCallBroker broker;
  TestCall call = callFrom(kReport);
  ASSERT_TRUE(broker.submit(call));
  const nlohmann::json answer{{"status", 200}, {"latency_ms", 1.0}, {"body", "ok"}};
  EXPECT_EQ(broker.answer(kReport, call.id, answer), TestCallBroker::Answered::kNotPickedUp);
  broker.take(kReport);
  // Another sidecar learns nothing: the call reads as unknown to it.
  EXPECT_EQ(broker.answer(kApproval, call.id, answer), TestCallBroker::Answered::kUnknown);
  EXPECT_EQ(broker.answer(kReport, "ffff", answer), TestCallBroker::Answered::kUnknown);
  EXPECT_EQ(broker.result(call.id), nullptr);
  const auto epoch = broker.answered().epoch();
  EXPECT_EQ(broker.answer(kReport, call.id, answer), TestCallBroker::Answered::kAccepted);
  EXPECT_GT(broker.answered().epoch(), epoch);
  ASSERT_NE(broker.result(call.id), nullptr);
  EXPECT_EQ((*broker.result(call.id))["body"], "ok");
  EXPECT_EQ(broker.answer(kReport, call.id, answer), TestCallBroker::Answered::kAlreadyAnswered);
  broker.forget(call.id);
  EXPECT_EQ(broker.result(call.id), nullptr);
  EXPECT_EQ(broker.size(), 0u);
}

TEST(TestCallBrokerTest, ACallerHasABoundedQueue) {
  TestCallBroker broker;
  std::set<std::string> ids;
  for (std::size_t i = 0; i < kMaxPendingTestCallsPerCaller; ++i) {
    TestCall c = callFrom(kReport);
    ASSERT_TRUE(broker.submit(c));
    ids.insert(c.id);
  }
  TestCall extra = callFrom(kReport);
  EXPECT_FALSE(broker.submit(extra));
  TestCall elsewhere = callFrom(kApproval);
  EXPECT_TRUE(broker.submit(elsewhere)) << "one caller's queue does not hold up another's";
  broker.forget(*ids.begin());
  EXPECT_TRUE(broker.submit(extra));
}

TEST(TestCallBrokerTest, TheSidecarSeesTheCallWithoutTheCaller) {
  TestCall call = callFrom(kReport);
  call.id = "abc";
  auto j = testCallToJson(call);
  EXPECT_EQ(j, (nlohmann::json{{"id", "abc"},
                               {"target", "spiffe://example.org/budget-backend"},
                               {"method", "GET"},
                               {"path", "/budget/read"}}));
  call.body = "{}";
  call.content_type = "application/json";
  j = testCallToJson(call);
  EXPECT_EQ(j["body"], "{}");
  EXPECT_EQ(j["content_type"], "application/json");
}

}  // namespace
}  // namespace warden::controlplane
