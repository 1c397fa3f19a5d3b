// Warden's Workload API client against an independent server: @grpc/grpc-js serving our
// proto/workload.proto (tests/interop/workload_fake_server.mjs), in a real node process on
// a unix socket in a temp dir. Certificates are minted per test (support/test_pki.h) and
// handed to the fake as base64 DER in a scenario file. identity-standards §4 and §10.4
// (W3, W4, W10 in unit tests, W11, W12, and the security header of W1 seen from the
// client side).
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/process_harness.h"
#include "support/test_pki.h"
#include "support/test_env.h"
#include "support/workload_fake_harness.h"
#include "workload/workload_client.h"

namespace warden::testing {
namespace {

using namespace std::chrono_literals;
using workload::BackoffPolicy;
using workload::EndpointAddress;
using workload::WatchError;
using workload::X509Context;
using workload::X509Watcher;
using workload::WorkloadClient;
using Json = nlohmann::json;

constexpr auto kWait = 10s;  // every wait is bounded; generous for a loaded 2-core machine

const std::string kInterop = interopDir();

// The "traditional" SEC1 ECPrivateKey encoding: valid DER, but not what the spec requires.
std::string sec1Der(EVP_PKEY* key) {
  return derOf([key](unsigned char** out) { return i2d_PrivateKey(key, out); });
}

// One SVID as the Workload API carries it, raw DER (the fake gets it as base64).
struct SvidBytes {
  std::string spiffe_id;
  std::string chain;   // leaf first
  std::string key;     // PKCS#8
  std::string bundle;  // roots
  std::string hint;
  std::string leaf;    // the leaf alone, to compare with what the client delivers

  Json json() const {
    return {{"spiffe_id", spiffe_id}, {"x509_svid", base64(chain)},
            {"x509_svid_key", base64(key)}, {"bundle", base64(bundle)}, {"hint", hint}};
  }
};

SvidBytes issueSvid(const TestCa& root, const std::string& spiffe_id,
                    const TestCa* intermediate = nullptr) {
  const TestCa& issuer = intermediate != nullptr ? *intermediate : root;
  Credential cred = issuer.issue(spiffe_id);
  SvidBytes s;
  s.spiffe_id = spiffe_id;
  s.leaf = certDer(cred.cert.get());
  s.chain = s.leaf + (intermediate != nullptr ? certDer(intermediate->cert()) : "");
  s.key = pkcs8Der(cred.key.get());
  s.bundle = certDer(root.cert());
  return s;
}

Json message(const std::vector<SvidBytes>& svids, Json federated = Json::object(),
             int delay_ms = 0) {
  Json list = Json::array();
  for (const auto& s : svids) list.push_back(s.json());
  return {{"delay_ms", delay_ms}, {"svids", list}, {"federated_bundles", std::move(federated)}};
}

std::string leafDer(const X509Context& context) {
  return certDer(context.defaultSvid().chain.front().get());
}

// Collects what a watcher reports, in order, for the test thread to wait on.
class Recorder {
 public:
  struct Event {
    bool is_update;
    X509Context context;  // is_update
    WatchError error;     // !is_update
    std::chrono::steady_clock::time_point at;
  };

  X509Watcher::UpdateFn onUpdate() {
    return [this](const X509Context& c) { push(Event{true, c, {}, now()}); };
  }
  X509Watcher::ErrorFn onError() {
    return [this](const WatchError& e) { push(Event{false, {}, e, now()}); };
  }

  // Waits until `pred(events)` holds; false after kWait.
  bool waitUntil(const std::function<bool(const std::vector<Event>&)>& pred) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kWait, [&] { return pred(events_); });
  }
  bool waitForUpdates(std::size_t n) {
    return waitUntil([n](const auto& ev) { return countUpdates(ev) >= n; });
  }
  bool waitForErrors(std::size_t n) {
    return waitUntil([n](const auto& ev) { return ev.size() - countUpdates(ev) >= n; });
  }
  std::vector<Event> events() {
    std::lock_guard lock(mu_);
    return events_;
  }
  static std::size_t countUpdates(const std::vector<Event>& ev) {
    return static_cast<std::size_t>(
        std::count_if(ev.begin(), ev.end(), [](const Event& e) { return e.is_update; }));
  }

 private:
  static std::chrono::steady_clock::time_point now() { return std::chrono::steady_clock::now(); }
  void push(Event e) {
    {
      std::lock_guard lock(mu_);
      events_.push_back(std::move(e));
    }
    cv_.notify_all();
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Event> events_;
};

std::string describe(const std::vector<Recorder::Event>& events) {
  std::string out;
  for (const auto& e : events) {
    out += e.is_update ? "update " + e.context.defaultSvid().spiffe_id
                       : "error " + std::to_string(e.error.grpc_code) + " " + e.error.message;
    out += "\n";
  }
  return out;
}

class WorkloadClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = findOnPath("node");
    ASSERT_FALSE(node_.empty()) << "node is not on PATH; run scripts/setup.sh";
    ASSERT_TRUE(std::filesystem::exists(kInterop + "/node_modules/@grpc/grpc-js"))
        << kInterop << "/node_modules is missing; run scripts/setup.sh (npm ci for the interop "
                       "peers)";
  }

  std::unique_ptr<FakeWorkloadServer> startServer(const Json& scenario,
                                                  const std::string& name = "agent") {
    auto server = std::make_unique<FakeWorkloadServer>(dir_, node_, scenario, name);
    EXPECT_TRUE(server->ready()) << server->log();
    return server;
  }

  TempDir dir_;
  std::string node_;
  TestCa root_{"example.org"};
  TestCa other_{"other.org"};
  TestCa third_{"third.org"};
  const std::string id_ = "spiffe://example.org/ns/prod/sa/api";
};

// W3: the first message arrives at once and parses: leaf-first chain (with an
// intermediate), PKCS#8 key matching the leaf, DER roots; federated bundles keyed both as
// SPIRE does ("spiffe://td") and as go-spiffe also accepts ("td").
TEST_F(WorkloadClientTest, FirstMessageIsParsedWithFederatedBundles) {
  const TestCa intermediate = root_.intermediate();
  SvidBytes svid = issueSvid(root_, id_, &intermediate);
  svid.hint = "internal";
  const Json scenario = {
      {"x509",
       {{"responses", {message({svid}, {{"spiffe://other.org", base64(certDer(other_.cert()))},
                                        {"third.org", base64(certDer(third_.cert()))}})}}}}};
  auto server = startServer(scenario);
  ASSERT_TRUE(server->ready());

  Recorder rec;
  X509Watcher watcher(server->endpoint(), rec.onUpdate(), rec.onError());
  ASSERT_TRUE(rec.waitForUpdates(1)) << describe(rec.events()) << server->log();
  const auto events = rec.events();
  ASSERT_TRUE(events.front().is_update) << describe(events);
  const X509Context& ctx = events.front().context;
  ASSERT_EQ(ctx.svids.size(), 1u);
  const auto& s = ctx.defaultSvid();
  EXPECT_EQ(s.spiffe_id, id_);
  EXPECT_EQ(s.hint, "internal");
  ASSERT_EQ(s.chain.size(), 2u);
  EXPECT_EQ(certDer(s.chain[0].get()), svid.leaf);
  EXPECT_EQ(certDer(s.chain[1].get()), certDer(intermediate.cert()));
  EXPECT_EQ(X509_check_private_key(s.chain[0].get(), s.private_key.get()), 1);
  const std::time_t now = std::time(nullptr);
  EXPECT_GT(s.not_after, now + 3000);
  EXPECT_LT(s.not_after, now + 3700);
  EXPECT_NE(s.chainPem().find("BEGIN CERTIFICATE"), std::string::npos);
  EXPECT_NE(s.keyPem().find("BEGIN PRIVATE KEY"), std::string::npos);

  ASSERT_EQ(ctx.bundles.size(), 3u);
  ASSERT_EQ(ctx.bundles.count("example.org"), 1u);
  ASSERT_EQ(ctx.bundles.at("example.org").size(), 1u);
  EXPECT_EQ(certDer(ctx.bundles.at("example.org")[0].get()), certDer(root_.cert()));
  ASSERT_EQ(ctx.bundles.count("other.org"), 1u);
  EXPECT_EQ(certDer(ctx.bundles.at("other.org")[0].get()), certDer(other_.cert()));
  ASSERT_EQ(ctx.bundles.count("third.org"), 1u);
  EXPECT_EQ(certDer(ctx.bundles.at("third.org")[0].get()), certDer(third_.cert()));

  // The one-shot call sees the same first message.
  WorkloadClient client(server->endpoint(), 5s);
  auto once = client.fetchX509Context();
  ASSERT_TRUE(once.ok()) << once.error().message;
  EXPECT_EQ(leafDer(*once), svid.leaf);
  EXPECT_EQ(once->bundles.size(), 3u);
}

// W4: a rotation is a second full message; the client delivers it whole (no merging).
TEST_F(WorkloadClientTest, RotationDeliversTheSecondMessageWhole) {
  const SvidBytes first = issueSvid(root_, id_);
  const SvidBytes second = issueSvid(root_, id_);
  const SvidBytes extra = issueSvid(root_, "spiffe://example.org/ns/prod/sa/batch");
  const Json scenario = {
      {"x509",
       {{"responses",
         {message({first}, {{"spiffe://other.org", base64(certDer(other_.cert()))}}),
          // The rotated state drops the federated bundle and adds a second SVID.
          message({second, extra}, Json::object(), 300)}}}}};
  auto server = startServer(scenario);
  ASSERT_TRUE(server->ready());

  Recorder rec;
  X509Watcher watcher(server->endpoint(), rec.onUpdate(), rec.onError());
  ASSERT_TRUE(rec.waitForUpdates(2)) << describe(rec.events()) << server->log();
  const auto events = rec.events();
  ASSERT_EQ(events.size(), 2u) << describe(events);
  EXPECT_EQ(leafDer(events[0].context), first.leaf);
  EXPECT_EQ(events[0].context.bundles.count("other.org"), 1u);
  const X509Context& rotated = events[1].context;
  EXPECT_EQ(leafDer(rotated), second.leaf);
  ASSERT_EQ(rotated.svids.size(), 2u);
  EXPECT_EQ(rotated.svids[1].spiffe_id, extra.spiffe_id);
  // §4.3: a bundle missing from the new message is unloaded, not kept from the old one.
  EXPECT_EQ(rotated.bundles.count("other.org"), 0u);
  EXPECT_EQ(rotated.bundles.size(), 1u);
  EXPECT_EQ(server->calls("FetchX509SVID").size(), 1u) << server->log();
}

// W11 and §4.4: UNAVAILABLE and PERMISSION_DENIED are retried with growing backoff;
// INVALID_ARGUMENT and UNIMPLEMENTED are reported with will_retry=false and retried only
// at the maximum backoff, so the watcher still recovers once the agent is fixed.
TEST_F(WorkloadClientTest, FailedCallsAreRetriedWithBackoffUntilTheServerWorks) {
  struct Case {
    int code;
    int failures;
    bool will_retry;
  };
  const Case cases[] = {{14, 2, true}, {7, 1, true}, {3, 1, false}, {12, 1, false}};
  const SvidBytes svid = issueSvid(root_, id_);
  const BackoffPolicy backoff{40ms, 400ms};
  for (const Case& c : cases) {
    SCOPED_TRACE("grpc code " + std::to_string(c.code));
    const Json scenario = {
        {"fail_first", {{"count", c.failures}, {"code", c.code}, {"details", "injected"}}},
        {"x509", {{"responses", {message({svid})}}}}};
    auto server = startServer(scenario, "agent" + std::to_string(c.code));
    ASSERT_TRUE(server->ready());

    Recorder rec;
    const auto started = std::chrono::steady_clock::now();
    X509Watcher watcher(server->endpoint(), rec.onUpdate(), rec.onError(), backoff);
    ASSERT_TRUE(rec.waitForUpdates(1)) << describe(rec.events()) << server->log();
    const auto events = rec.events();
    ASSERT_EQ(events.size(), static_cast<std::size_t>(c.failures) + 1) << describe(events);
    for (int i = 0; i < c.failures; ++i) {
      const auto& e = events[static_cast<std::size_t>(i)];
      ASSERT_FALSE(e.is_update);
      EXPECT_EQ(e.error.grpc_code, c.code);
      EXPECT_EQ(e.error.will_retry, c.will_retry);
      EXPECT_NE(e.error.message.find("injected"), std::string::npos) << e.error.message;
    }
    EXPECT_EQ(leafDer(events.back().context), svid.leaf);
    EXPECT_EQ(server->calls("FetchX509SVID").size(), static_cast<std::size_t>(c.failures) + 1);
    // Equal jitter waits at least half the nominal delay: 20 + 40 ms for two fast
    // retries; a configuration error waits at least half of the 400 ms maximum.
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
        events.back().at - events.front().at);
    if (c.will_retry) {
      EXPECT_GE(events.back().at - started, c.failures == 2 ? 60ms : 20ms);
      EXPECT_LT(waited, 2s);
    } else {
      EXPECT_GE(waited, 200ms) << "a configuration error must not be retried quickly";
    }
  }
}

// The agent is not there yet when the sidecar starts (connection refused), then appears:
// the watcher's retries find it, and gRPC's own reconnect backoff does not hold it back.
TEST_F(WorkloadClientTest, ConnectsOnceTheServerAppears) {
  const SvidBytes svid = issueSvid(root_, id_);
  auto endpoint = workload::parseEndpointAddress("unix://" + dir_.file("late.sock"));
  ASSERT_TRUE(endpoint.ok());
  Recorder rec;
  X509Watcher watcher(*endpoint, rec.onUpdate(), rec.onError(), BackoffPolicy{50ms, 300ms});
  ASSERT_TRUE(rec.waitForErrors(2)) << describe(rec.events());
  for (const auto& e : rec.events()) {
    EXPECT_EQ(e.error.grpc_code, 14) << e.error.message;
    EXPECT_TRUE(e.error.will_retry);
  }
  auto server = startServer({{"x509", {{"responses", {message({svid})}}}}}, "late");
  ASSERT_TRUE(server->ready());
  const auto appeared = std::chrono::steady_clock::now();
  ASSERT_TRUE(rec.waitForUpdates(1)) << describe(rec.events()) << server->log();
  // Bounded by our 300 ms maximum (plus a call), not gRPC's default of up to 120 s.
  EXPECT_LT(rec.events().back().at - appeared, 3s);
}

// W12 and §4.3: a message that breaks any rule is reported (code 0) and discarded whole;
// nothing is delivered for it, so the consumer keeps the last good context, and the next
// good message is delivered as usual.
TEST_F(WorkloadClientTest, InvalidMessagesAreDiscardedAndThePreviousContextKept) {
  const SvidBytes good = issueSvid(root_, id_);
  const SvidBytes next = issueSvid(root_, id_);
  Credential stranger = root_.issue(id_);

  struct Bad {
    const char* expect;  // in the reported message
    Json msg;
  };
  std::vector<Bad> bad;
  auto with = [&](const std::function<void(SvidBytes&)>& change) {
    SvidBytes s = good;
    change(s);
    return message({s}, Json::object(), 60);
  };
  bad.push_back({"x509_svid_key is empty", with([](SvidBytes& s) { s.key.clear(); })});
  bad.push_back({"no SVIDs", message({}, Json::object(), 60)});
  bad.push_back({"does not match the leaf",
                 with([&](SvidBytes& s) { s.key = pkcs8Der(stranger.key.get()); })});
  bad.push_back({"not PKCS#8", with([&](SvidBytes& s) { s.key = sec1Der(stranger.key.get()); })});
  bad.push_back({"must be the leaf", with([&](SvidBytes& s) { s.chain = s.bundle + s.leaf; })});
  bad.push_back({"certificate 2 does not decode", with([](SvidBytes& s) { s.chain += "garbage"; })});
  bad.push_back({"spiffe_id", with([](SvidBytes& s) { s.spiffe_id = "spiffe://Example.org/x"; })});
  bad.push_back({"names spiffe://example.org/ns/prod/sa/api, not",
                 with([](SvidBytes& s) { s.spiffe_id = "spiffe://example.org/other"; })});
  bad.push_back({"bundle is empty", with([](SvidBytes& s) { s.bundle.clear(); })});
  {
    Json m = message({good}, {{"spiffe://other.org/not/a/td", base64(certDer(other_.cert()))}}, 60);
    bad.push_back({"not a trust domain ID", m});
  }
  bad.push_back({"federated_bundles[\"spiffe://other.org\"] is empty",
                 message({good}, {{"spiffe://other.org", ""}}, 60)});

  Json responses = Json::array({message({good})});
  for (const auto& b : bad) responses.push_back(b.msg);
  responses.push_back(message({next}, Json::object(), 60));
  auto server = startServer({{"x509", {{"responses", responses}}}});
  ASSERT_TRUE(server->ready());

  Recorder rec;
  X509Watcher watcher(server->endpoint(), rec.onUpdate(), rec.onError());
  ASSERT_TRUE(rec.waitForUpdates(2)) << describe(rec.events()) << server->log();
  const auto events = rec.events();
  ASSERT_EQ(events.size(), bad.size() + 2) << describe(events);
  ASSERT_TRUE(events.front().is_update);
  EXPECT_EQ(leafDer(events.front().context), good.leaf);
  for (std::size_t i = 0; i < bad.size(); ++i) {
    const auto& e = events[i + 1];
    SCOPED_TRACE(bad[i].expect);
    ASSERT_FALSE(e.is_update) << describe(events);
    EXPECT_EQ(e.error.grpc_code, 0);
    EXPECT_TRUE(e.error.will_retry);
    EXPECT_NE(e.error.message.find(bad[i].expect), std::string::npos) << e.error.message;
  }
  ASSERT_TRUE(events.back().is_update);
  EXPECT_EQ(leafDer(events.back().context), next.leaf);
  // Invalid messages do not break the stream: it was never reopened.
  EXPECT_EQ(server->calls("FetchX509SVID").size(), 1u) << server->log();
}

// W1 from the client side: the fake rejects calls without `workload.spiffe.io: true`
// exactly as SPIRE does (shown with the independent node client), and every call Warden's
// client makes succeeds against it, each carrying the header.
TEST_F(WorkloadClientTest, EveryCallCarriesTheSecurityHeader) {
  const SvidBytes svid = issueSvid(root_, id_);
  const Json jwks = {{"keys",
                      {{{"kty", "EC"},
                        {"crv", "P-256"},
                        {"x", "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4"},
                        {"y", "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"},
                        {"kid", "k1"}}}}};
  const Json scenario = {
      {"x509", {{"responses", {message({svid})}}}},
      {"x509_bundles",
       {{"responses",
         {{{"bundles",
            {{"spiffe://example.org", base64(certDer(root_.cert()))},
             {"other.org", base64(certDer(other_.cert()))}}}}}}}},
      {"jwt_bundles", {{"responses", {{{"bundles", {{"spiffe://example.org", jwks.dump()}}}}}}}},
      {"jwt_svid", {{"svids", {{{"spiffe_id", id_}, {"svid", "h.p.s"}, {"hint", "x"}}}}}},
      {"validate",
       {{"svid", "h.p.s"},
        {"spiffe_id", id_},
        {"claims", {{"sub", id_}, {"aud", {"billing"}}, {"exp", 1700000000}}}}}};
  auto server = startServer(scenario);
  ASSERT_TRUE(server->ready());

  const auto refused = runToCompletion(
      {node_, kInterop + "/workload_client.mjs", server->socket(), "x509", "--no-header"},
      dir_.path(), kWait);
  EXPECT_EQ(refused.code, 1) << refused.out << refused.err;
  EXPECT_NE(refused.out.find(R"({"error":{"code":3,"details":"security header missing from request"}})"),
            std::string::npos)
      << refused.out << refused.err;
  const std::size_t refused_calls = server->calls().size();
  ASSERT_EQ(refused_calls, 1u) << server->log();

  WorkloadClient client(server->endpoint(), 5s);
  auto context = client.fetchX509Context();
  ASSERT_TRUE(context.ok()) << context.error().message;
  EXPECT_EQ(leafDer(*context), svid.leaf);

  auto x509_bundles = client.fetchX509Bundles();
  ASSERT_TRUE(x509_bundles.ok()) << x509_bundles.error().message;
  ASSERT_EQ(x509_bundles->size(), 2u);
  EXPECT_EQ(certDer(x509_bundles->at("example.org").at(0).get()), certDer(root_.cert()));
  EXPECT_EQ(certDer(x509_bundles->at("other.org").at(0).get()), certDer(other_.cert()));

  auto jwt_bundles = client.fetchJwtBundles();
  ASSERT_TRUE(jwt_bundles.ok()) << jwt_bundles.error().message;
  ASSERT_EQ(jwt_bundles->count("example.org"), 1u);
  ASSERT_EQ(jwt_bundles->at("example.org").jwt_authorities.size(), 1u);
  EXPECT_EQ(jwt_bundles->at("example.org").jwt_authorities[0].kid, "k1");

  auto jwts = client.fetchJwtSvids({"billing"});
  ASSERT_TRUE(jwts.ok()) << jwts.error().message;
  ASSERT_EQ(jwts->size(), 1u);
  EXPECT_EQ(jwts->at(0).spiffe_id, id_);
  EXPECT_EQ(jwts->at(0).token, "h.p.s");
  EXPECT_EQ(jwts->at(0).hint, "x");

  auto validated = client.validateJwtSvid("billing", "h.p.s");
  ASSERT_TRUE(validated.ok()) << validated.error().message;
  EXPECT_EQ(validated->spiffe_id, id_);
  const Json claims = Json::parse(validated->claims_json);
  EXPECT_EQ(claims.at("sub"), id_);
  EXPECT_EQ(claims.at("aud"), Json::array({"billing"}));
  EXPECT_EQ(claims.at("exp"), 1700000000);

  Recorder rec;
  {
    X509Watcher watcher(server->endpoint(), rec.onUpdate(), rec.onError());
    ASSERT_TRUE(rec.waitForUpdates(1)) << describe(rec.events());
  }

  const auto calls = server->calls();
  EXPECT_EQ(calls.size(), refused_calls + 6) << server->log();
  for (std::size_t i = refused_calls; i < calls.size(); ++i) {
    EXPECT_NE(calls[i].find("header=true"), std::string::npos) << calls[i];
  }
}

// Errors from the unary-style calls name the RPC and the gRPC code; every call has a
// deadline, so a server that never answers cannot hang the caller.
TEST_F(WorkloadClientTest, CallsReportServerErrorsAndHonourTheirDeadline) {
  const Json scenario = {
      {"x509_bundles", {{"responses", Json::array()}}},  // holds the stream, sends nothing
      {"jwt_svid", {{"error", {{"code", 7}, {"details", "no identity issued"}}}}},
      {"validate", {{"svid", "good"}, {"spiffe_id", id_}}}};
  auto server = startServer(scenario);
  ASSERT_TRUE(server->ready());
  WorkloadClient client(server->endpoint(), 500ms);

  const auto started = std::chrono::steady_clock::now();
  auto stuck = client.fetchX509Bundles();
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(stuck.ok());
  EXPECT_NE(stuck.error().message.find("DEADLINE_EXCEEDED"), std::string::npos)
      << stuck.error().message;
  EXPECT_LT(took, 3s);

  auto denied = client.fetchJwtSvids({"billing"});
  ASSERT_FALSE(denied.ok());
  EXPECT_NE(denied.error().message.find("FetchJWTSVID failed: PERMISSION_DENIED: no identity issued"),
            std::string::npos)
      << denied.error().message;

  auto bad_token = client.validateJwtSvid("billing", "forged");
  ASSERT_FALSE(bad_token.ok());
  EXPECT_NE(bad_token.error().message.find("INVALID_ARGUMENT"), std::string::npos)
      << bad_token.error().message;

  // Refused before any call: the spec makes the audience mandatory.
  auto no_audience = client.fetchJwtSvids({});
  ASSERT_FALSE(no_audience.ok());
  EXPECT_NE(no_audience.error().message.find("audience"), std::string::npos);
  EXPECT_EQ(server->calls("FetchJWTSVID").size(), 1u) << server->log();

  // No agent at all: the real cause within the deadline, not a hang.
  auto nowhere = workload::parseEndpointAddress("unix://" + dir_.file("nobody.sock"));
  ASSERT_TRUE(nowhere.ok());
  WorkloadClient lost(*nowhere, 300ms);
  const auto asked = std::chrono::steady_clock::now();
  auto absent = lost.fetchJwtSvids({"billing"});
  EXPECT_LT(std::chrono::steady_clock::now() - asked, 3s);
  ASSERT_FALSE(absent.ok());
  EXPECT_NE(absent.error().message.find("UNAVAILABLE"), std::string::npos)
      << absent.error().message;
}

// The destructor cancels an open stream and an ongoing backoff wait at once.
TEST_F(WorkloadClientTest, DestructorStopsPromptly) {
  const SvidBytes svid = issueSvid(root_, id_);
  auto server = startServer({{"x509", {{"responses", {message({svid})}}}}});
  ASSERT_TRUE(server->ready());
  {
    Recorder rec;
    auto watcher = std::make_unique<X509Watcher>(server->endpoint(), rec.onUpdate(),
                                                 rec.onError());
    ASSERT_TRUE(rec.waitForUpdates(1)) << describe(rec.events());
    const auto started = std::chrono::steady_clock::now();
    watcher.reset();  // the stream is held open by the server: only TryCancel ends it
    EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  }
  {
    auto nowhere = workload::parseEndpointAddress("unix://" + dir_.file("nobody.sock"));
    ASSERT_TRUE(nowhere.ok());
    Recorder rec;
    auto watcher = std::make_unique<X509Watcher>(*nowhere, rec.onUpdate(), rec.onError(),
                                                 BackoffPolicy{30s, 60s});
    ASSERT_TRUE(rec.waitForErrors(1)) << describe(rec.events());
    const auto started = std::chrono::steady_clock::now();
    watcher.reset();  // now in a 15-30 s backoff wait
    EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  }
}

}  // namespace
}  // namespace warden::testing
