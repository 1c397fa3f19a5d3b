// Layer 3 against a real issuer: tests/interop/jwks_server.mjs serves OIDC discovery and a
// JWKS on 127.0.0.1 (http, or https with a test CA) and mints tokens with npm `jose`, an
// independent JOSE implementation. JwksSource fetches from it on its own thread;
// AccessTokenVerifier verifies. identity-standards §7.4-§7.6, §10.3 (J2, J3, J5, J6, J8-J10,
// J13, J14, J16), mesh-anchors §8.1 (JWKS rotation and fetch robustness).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "support/http_client_harness.h"
#include "support/process_harness.h"
#include "support/test_pki.h"
#include "support/test_env.h"
#include "token/access_token.h"
#include "token/jwks_source.h"

namespace warden::testing {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;
using token::AccessTokenVerifier;
using token::CallerBinding;
using token::IssuerKeys;
using token::JwksSource;
using token::TokenIssuerConfig;
using token::TokenRequirements;
using token::TokenVerdict;

constexpr auto kWait = 10s;  // every wait is bounded; generous for a loaded 2-core machine
const std::string kInterop = interopDir();
const std::string kAudience = "api://budget";



bool waitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout = kWait) {
  return waitUntil(condition, timeout);
}

std::int64_t nowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The node issuer in its own process; SIGTERM (then SIGKILL) on scope exit.
class JwksServer {
 public:
  JwksServer(const TempDir& dir, const std::string& node, std::vector<std::string> args) {
    std::vector<std::string> argv = {node, kInterop + "/jwks_server.mjs"};
    argv.insert(argv.end(), args.begin(), args.end());
    child_ = std::make_unique<ChildProcess>(argv, dir.path());
    if (!child_->waitForOutput("READY", kWait)) return;
    const std::string out = child_->out();
    const std::size_t at = out.find("READY ");
    const Json ready = Json::parse(out.substr(at + 6, out.find('\n', at) - at - 6), nullptr, false);
    if (ready.is_discarded()) return;
    public_port_ = ready["public"];
    control_port_ = ready["control"];
    watch_port_ = ready["watch"];
    issuer_ = ready["issuer"];
  }
  ~JwksServer() {
    child_->signal(SIGTERM);
    if (!child_->wait(2s)) child_->signal(SIGKILL);
  }
  JwksServer(const JwksServer&) = delete;
  JwksServer& operator=(const JwksServer&) = delete;

  bool ready() const { return control_port_ != 0; }
  const std::string& issuer() const { return issuer_; }
  std::string discoveryUrl() const { return issuer_ + "/.well-known/openid-configuration"; }
  std::string watchUrl(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(watch_port_) + path;
  }
  std::string log() const { return child_->out() + child_->err(); }

  Json control(const std::string& path, const Json& body = Json::object(),
               const std::string& method = "POST") const {
    auto conn = TestConnection::plain(control_port_);
    if (!conn) return Json{{"error", "cannot connect to the control port"}};
    const std::string text = method == "GET" ? std::string() : body.dump();
    conn->send(makeRequest(method, path,
                           "Content-Type: application/json\r\nConnection: close\r\n", text));
    auto res = conn->read(false, kWait);
    if (!res) return Json{{"error", "no control response: " + conn->lastError()}};
    Json out = Json::parse(res->body, nullptr, false);
    if (res->status != 200 || out.is_discarded()) {
      ADD_FAILURE() << "control " << path << ": HTTP " << res->status << " " << res->body;
      return Json{{"error", res->body}};
    }
    return out;
  }
  void addKey(const std::string& kid, const std::string& alg) const {
    control("/keys", {{"kid", kid}, {"alg", alg}});
  }
  std::string mint(const std::string& kid, const Json& claims, const Json& header = Json::object(),
                   const std::string& how = "/mint") const {
    const Json res = control(how, {{"kid", kid}, {"claims", claims}, {"header", header}});
    return res.value("token", std::string("(mint failed: ") + res.dump() + ")");
  }
  int hits(const std::string& path) const {
    const Json stats = control("/stats", {}, "GET");
    return stats["hits"].value(path, 0);
  }
  int watchHits() const { return control("/stats", {}, "GET").value("watch", -1); }

 private:
  std::unique_ptr<ChildProcess> child_;
  std::uint16_t public_port_ = 0, control_port_ = 0, watch_port_ = 0;
  std::string issuer_;
};

class TokenJwksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = findOnPath("node");
    ASSERT_FALSE(node_.empty()) << "node is not on PATH; run scripts/setup.sh";
    ASSERT_TRUE(std::filesystem::exists(kInterop + "/node_modules/jose"))
        << kInterop << "/node_modules is missing; run scripts/setup.sh";
  }

  std::unique_ptr<JwksServer> startServer(std::vector<std::string> args = {}) {
    auto server = std::make_unique<JwksServer>(dir_, node_, std::move(args));
    EXPECT_TRUE(server->ready()) << server->log();
    return server;
  }

  // Discovery-configured issuer with quick retries; refresh bounds per test.
  TokenIssuerConfig config(const JwksServer& server) const {
    TokenIssuerConfig c;
    c.issuer = server.issuer();
    c.discovery_url = server.discoveryUrl();
    c.audiences = {kAudience};
    c.jwks.retry_initial = 100ms;
    c.jwks.retry_max = 300ms;
    c.jwks.request_timeout = 2s;
    return c;
  }

  std::shared_ptr<JwksSource> startSource(const TokenIssuerConfig& c) {
    auto source = JwksSource::start(c);
    EXPECT_TRUE(source.ok()) << (source.ok() ? "" : source.error().message);
    return source.ok() ? *source : nullptr;
  }

  std::unique_ptr<const AccessTokenVerifier> verifier(
      const TokenIssuerConfig& c, std::shared_ptr<JwksSource> source,
      std::shared_ptr<token::VerifiedTokenCache> cache = nullptr) {
    auto v = AccessTokenVerifier::create(
        TokenRequirements{{c.issuer}, {}, token::BindingMode::kNone, "sub", {}},
        {IssuerKeys{c, std::move(source)}}, std::move(cache));
    EXPECT_TRUE(v.ok()) << (v.ok() ? "" : v.error().message);
    return v.ok() ? std::move(*v) : nullptr;
  }

  static Json claims(const JwksServer& server, std::int64_t exp_in = 600) {
    const std::int64_t now = nowSeconds();
    return Json{{"iss", server.issuer()}, {"sub", "agent-budget"}, {"aud", kAudience},
                {"client_id", "agent-budget"}, {"iat", now}, {"exp", now + exp_in},
                {"jti", "jti-" + std::to_string(now)}, {"roles", {"reader"}}};
  }

  static TokenVerdict verify(const AccessTokenVerifier& v, const std::string& token) {
    return v.verify(token, CallerBinding{}, std::chrono::system_clock::now());
  }

  TempDir dir_;
  std::string node_;
};

std::string describe(const TokenVerdict& v) {
  if (v.ok) return "ok";
  return v.reason + " (" + std::to_string(v.http_status) + "): " + v.detail;
}

TEST_F(TokenJwksTest, AcceptsEs256Rs256AndPs256TokensMintedByJose) {
  auto server = startServer();
  ASSERT_TRUE(server->ready());
  server->addKey("es-1", "ES256");
  server->addKey("rs-1", "RS256");
  server->addKey("ps-1", "PS256");
  const TokenIssuerConfig c = config(*server);
  auto source = startSource(c);
  ASSERT_TRUE(source->waitReady(kWait)) << source->status().last_error;
  EXPECT_EQ(source->status().key_count, 3u);
  EXPECT_EQ(source->status().source, server->issuer() + "/jwks");
  auto v = verifier(c, source);
  for (const char* kid : {"es-1", "rs-1", "ps-1"}) {
    const TokenVerdict verdict = verify(*v, server->mint(kid, claims(*server)));
    EXPECT_TRUE(verdict.ok) << kid << ": " << describe(verdict);
    if (verdict.ok) {
      EXPECT_EQ(verdict.token->kid, kid);
      EXPECT_EQ(verdict.token->subject, "agent-budget");
      EXPECT_EQ(verdict.token->roles, std::vector<std::string>{"reader"});
    }
  }
  EXPECT_EQ(server->hits("/.well-known/openid-configuration"), 1);
  EXPECT_EQ(server->hits("/jwks"), 1);
}

TEST_F(TokenJwksTest, RejectsBadTokensWithTheRightReason) {
  auto server = startServer();
  ASSERT_TRUE(server->ready());
  server->addKey("es-1", "ES256");
  server->addKey("rs-1", "RS256");
  const TokenIssuerConfig c = config(*server);
  auto source = startSource(c);
  ASSERT_TRUE(source->waitReady(kWait)) << source->status().last_error;
  auto v = verifier(c, source);
  const Json good = claims(*server);
  const std::int64_t now = nowSeconds();

  struct Case {
    std::string name, token, reason;
  };
  Json expired = good, early = good, wrong_iss = good, slash_iss = good, wrong_aud = good,
       big = good;
  expired["exp"] = now - 120;
  early["nbf"] = now + 120;
  wrong_iss["iss"] = "https://other-issuer.example.com";
  slash_iss["iss"] = server->issuer() + "/";
  wrong_aud["aud"] = "api://reports";
  big["padding"] = std::string(9000, 'p');
  const std::vector<Case> cases = {
      {"J2 alg none", server->mint("", good, {}, "/mint-none"), "alg_not_allowed"},
      {"J3 HS256 keyed with the RSA public key",
       server->mint("rs-1", good, {}, "/mint-hs256-pubkey"), "alg_not_allowed"},
      {"J6 jku", server->mint("es-1", good, {{"jku", server->watchUrl("/jwks")}}), "invalid_token"},
      {"J6 x5u", server->mint("es-1", good, {{"x5u", server->watchUrl("/cert.pem")}}),
       "invalid_token"},
      {"J6 embedded jwk", server->mint("es-1", good, {{"jwk", {{"kty", "EC"}, {"crv", "P-256"}}}}),
       "invalid_token"},
      {"J8 expired", server->mint("es-1", expired), "token_expired"},
      {"J8 nbf in the future", server->mint("es-1", early), "token_not_yet_valid"},
      {"J10 other issuer", server->mint("es-1", wrong_iss), "wrong_issuer"},
      {"J10 trailing slash", server->mint("es-1", slash_iss), "wrong_issuer"},
      {"J9 wrong aud", server->mint("es-1", wrong_aud), "wrong_audience"},
      {"J13 typ JWT", server->mint("es-1", good, {{"typ", "JWT"}}), "wrong_token_type"},
      {"J14 oversize", server->mint("es-1", big), "token_too_large"},
  };
  for (const Case& test : cases) {
    const TokenVerdict verdict = verify(*v, test.token);
    EXPECT_FALSE(verdict.ok) << test.name;
    EXPECT_EQ(verdict.reason, test.reason) << test.name << ": " << describe(verdict);
    EXPECT_EQ(verdict.http_status, 401) << test.name;
  }
  // The good token verifies: the failures above are the tokens', not the setup's.
  EXPECT_TRUE(verify(*v, server->mint("es-1", good)).ok);
  // Nothing ever fetched the jku/x5u targets, and no JWKS refetch was asked for.
  EXPECT_EQ(server->watchHits(), 0);
  EXPECT_EQ(server->hits("/jwks"), 1);
  EXPECT_EQ(source->status().refetches_requested, 0u);
}

// J5 and the unknown-kid refetch: a burst of tokens with kids the key set lacks causes
// exactly one JWKS request, however many requests and threads.
TEST_F(TokenJwksTest, UnknownKidBurstCausesExactlyOneRefetch) {
  auto server = startServer();
  ASSERT_TRUE(server->ready());
  server->addKey("es-1", "ES256");
  server->addKey("rogue", "ES256");
  server->control("/unpublish", {{"kid", "rogue"}});
  const TokenIssuerConfig c = config(*server);
  auto source = startSource(c);
  ASSERT_TRUE(source->waitReady(kWait)) << source->status().last_error;
  ASSERT_EQ(server->hits("/jwks"), 1);
  auto v = verifier(c, source, std::make_shared<token::VerifiedTokenCache>());

  std::vector<std::string> tokens = {server->mint("rogue", claims(*server))};
  for (const std::string kid : {"../../etc/passwd", "' OR 1=1 --", "kid\nwith newline"}) {
    tokens.push_back(server->mint("rogue", claims(*server), {{"kid", kid}}));
  }
  std::atomic<int> unknown{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const std::string& token = tokens[static_cast<std::size_t>(i + t) % tokens.size()];
        const TokenVerdict verdict = verify(*v, token);
        (verdict.reason == "unknown_key" ? unknown : other).fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(unknown.load(), 200);
  EXPECT_EQ(other.load(), 0);
  ASSERT_TRUE(waitFor([&] { return source->status().fetches_ok == 2; }))
      << source->status().last_error;
  EXPECT_EQ(server->hits("/jwks"), 2);
  // A second burst within the interval is absorbed too.
  for (int i = 0; i < 50; ++i) EXPECT_EQ(verify(*v, tokens[0]).reason, "unknown_key");
  const token::JwksStatus status = source->status();
  EXPECT_EQ(status.refetches_requested, 1u);
  EXPECT_EQ(status.refetches_suppressed, 249u);
  EXPECT_EQ(server->hits("/jwks"), 2);
  // A forced refetch goes to the known jwks_uri; discovery was read once.
  EXPECT_EQ(server->hits("/.well-known/openid-configuration"), 1);
}

// J16: a key published after our last fetch is picked up by the one refetch its first
// token causes; the old key keeps working.
TEST_F(TokenJwksTest, NewKidIsAcceptedAfterItsRefetch) {
  auto server = startServer();
  ASSERT_TRUE(server->ready());
  server->addKey("old", "ES256");
  TokenIssuerConfig c = config(*server);
  c.jwks.min_refetch_interval = 200ms;
  auto source = startSource(c);
  ASSERT_TRUE(source->waitReady(kWait));
  auto v = verifier(c, source);
  server->addKey("new", "RS256");
  const std::string token = server->mint("new", claims(*server));
  EXPECT_EQ(verify(*v, token).reason, "unknown_key");
  ASSERT_TRUE(waitFor([&] { return source->status().key_count == 2; }));
  EXPECT_TRUE(verify(*v, token).ok);
  EXPECT_TRUE(verify(*v, server->mint("old", claims(*server))).ok);
}

// Rotation the OIDC way (publish, then sign with the new key, then retire the old one)
// under continuous traffic: not one request fails.
TEST_F(TokenJwksTest, RotationMidTrafficHasZeroFailures) {
  auto server = startServer({"--max-age", "1"});
  ASSERT_TRUE(server->ready());
  server->addKey("k1", "ES256");
  TokenIssuerConfig c = config(*server);
  c.jwks.min_refresh = 300ms;
  c.jwks.max_refresh = 2s;
  auto source = startSource(c);
  ASSERT_TRUE(source->waitReady(kWait));
  auto v = verifier(c, source);  // no cache: every request verifies a signature

  std::mutex mutex;
  std::string current = server->mint("k1", claims(*server));
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::string first_failure;
  std::thread traffic([&] {
    while (!stop.load()) {
      std::string token;
      {
        std::lock_guard lock(mutex);
        token = current;
      }
      const TokenVerdict verdict = verify(*v, token);
      if (verdict.ok) {
        ok.fetch_add(1);
      } else if (failed.fetch_add(1) == 0) {
        std::lock_guard lock(mutex);
        first_failure = describe(verdict);
      }
      std::this_thread::sleep_for(2ms);
    }
  });
  // 1. publish k2; 2. once the sidecar holds it, sign with it; 3. retire k1.
  server->addKey("k2", "PS256");
  EXPECT_TRUE(waitFor([&] { return source->status().key_count == 2; }));
  {
    const std::string next = server->mint("k2", claims(*server));
    std::lock_guard lock(mutex);
    current = next;
  }
  const int before_retire = ok.load();
  EXPECT_TRUE(waitFor([&] { return ok.load() > before_retire + 50; }));
  server->control("/unpublish", {{"kid", "k1"}});
  EXPECT_TRUE(waitFor([&] { return source->status().key_count == 1; }));
  const int after_retire = ok.load();
  EXPECT_TRUE(waitFor([&] { return ok.load() > after_retire + 50; }));
  stop.store(true);
  traffic.join();
  EXPECT_EQ(failed.load(), 0) << first_failure;
  EXPECT_GT(ok.load(), 100);
  EXPECT_EQ(source->status().refetches_requested, 0u);
  // And k1's tokens are now refused: its key is gone.
  EXPECT_EQ(verify(*v, server->mint("k1", claims(*server))).reason, "unknown_key");
}

TEST_F(TokenJwksTest, EndpointDownKeepsTheLastGoodKeys) {
  auto server = startServer({"--max-age", "0"});
  ASSERT_TRUE(server->ready());
  server->addKey("es-1", "ES256");
  TokenIssuerConfig c = config(*server);
  c.jwks.min_refresh = 200ms;
  c.jwks.max_refresh = 1s;
  auto source = startSource(c);
  ASSERT_TRUE(source->waitReady(kWait));
  auto v = verifier(c, source);
  const std::uint64_t generation = source->generation();
  server->control("/down");
  ASSERT_TRUE(waitFor([&] { return source->status().fetches_failed >= 2; }));
  const token::JwksStatus down = source->status();
  EXPECT_TRUE(down.ready);
  EXPECT_EQ(down.key_count, 1u);
  EXPECT_NE(down.last_error.find("connecting to 127.0.0.1"), std::string::npos) << down.last_error;
  EXPECT_EQ(source->generation(), generation);
  EXPECT_TRUE(verify(*v, server->mint("es-1", claims(*server))).ok);

  server->control("/up");
  const std::uint64_t ok_before = source->status().fetches_ok;
  ASSERT_TRUE(waitFor([&] { return source->status().fetches_ok > ok_before; }));
  EXPECT_TRUE(source->status().last_error.empty());
  // Same keys fetched again: same set, so cached verifications stay valid.
  EXPECT_EQ(source->generation(), generation);
}

TEST_F(TokenJwksTest, ColdStartWithTheEndpointDownRecoversWithoutRestart) {
  auto server = startServer({"--start-down"});
  ASSERT_TRUE(server->ready());
  server->addKey("es-1", "ES256");
  const TokenIssuerConfig c = config(*server);
  auto source = startSource(c);
  auto v = verifier(c, source);
  ASSERT_TRUE(waitFor([&] { return source->status().fetches_failed >= 1; }));
  EXPECT_FALSE(source->ready());
  const TokenVerdict cold = verify(*v, server->mint("es-1", claims(*server)));
  EXPECT_EQ(cold.reason, "jwks_unavailable");
  EXPECT_EQ(cold.http_status, 503);
  EXPECT_TRUE(cold.www_authenticate.empty());

  server->control("/up");
  ASSERT_TRUE(source->waitReady(kWait)) << source->status().last_error;
  EXPECT_TRUE(verify(*v, server->mint("es-1", claims(*server))).ok);
}

TEST_F(TokenJwksTest, CacheControlMaxAgeIsHonouredWithinBounds) {
  auto server = startServer({"--max-age", "1"});
  ASSERT_TRUE(server->ready());
  server->addKey("es-1", "ES256");
  TokenIssuerConfig c = config(*server);
  c.jwks.min_refresh = 1500ms;
  c.jwks.max_refresh = 3s;
  c.jwks.default_refresh = 2500ms;
  auto source = startSource(c);
  ASSERT_TRUE(source->waitReady(kWait));
  // max-age=1 is below the lower bound: refreshed after 1.5 s, not 1 s.
  EXPECT_EQ(source->status().next_fetch_in, 1500ms);
  const auto first = source->status().last_attempt;
  ASSERT_TRUE(waitFor([&] { return source->status().fetches_ok >= 2; }));
  EXPECT_GE(source->status().last_attempt - first, 1500ms);
  EXPECT_EQ(server->hits("/jwks"), 2);

  server->control("/config", {{"max_age", 3600}});
  ASSERT_TRUE(waitFor([&] { return source->status().next_fetch_in == 3s; }));  // upper bound
  server->control("/config", {{"max_age", 2}});
  ASSERT_TRUE(waitFor([&] { return source->status().next_fetch_in == 2s; }, 5s));
  server->control("/config", {{"max_age", nullptr}});
  // No max-age: the default.
  EXPECT_TRUE(waitFor([&] { return source->status().next_fetch_in == 2500ms; }, 5s));
}

TEST_F(TokenJwksTest, DiscoveryNamingAnotherIssuerIsRefused) {
  auto server = startServer();
  ASSERT_TRUE(server->ready());
  server->addKey("es-1", "ES256");
  server->control("/config", {{"discovery_issuer", server->issuer() + "/"}});
  const TokenIssuerConfig c = config(*server);
  auto source = startSource(c);
  auto v = verifier(c, source);
  ASSERT_TRUE(waitFor([&] { return source->status().fetches_failed >= 1; }));
  EXPECT_NE(source->status().last_error.find("names issuer \"" + server->issuer() +
                                             "/\", not the configured"),
            std::string::npos)
      << source->status().last_error;
  EXPECT_FALSE(source->ready());
  EXPECT_EQ(server->hits("/jwks"), 0);  // its jwks_uri was never trusted
  EXPECT_EQ(verify(*v, server->mint("es-1", claims(*server))).reason, "jwks_unavailable");
}

TEST_F(TokenJwksTest, ErrorStatusAndBadDocumentsKeepTheLastGoodKeys) {
  auto server = startServer({"--max-age", "0"});
  ASSERT_TRUE(server->ready());
  server->addKey("es-1", "ES256");
  TokenIssuerConfig c = config(*server);
  c.jwks.min_refresh = 200ms;
  auto source = startSource(c);
  ASSERT_TRUE(source->waitReady(kWait));
  server->control("/config", {{"jwks_status", 500}});
  ASSERT_TRUE(waitFor(
      [&] { return source->status().last_error.find("HTTP 500") != std::string::npos; }));
  // A JWKS with no usable key (everything unpublished) is refused, not applied.
  server->control("/config", {{"jwks_status", nullptr}});
  server->control("/unpublish", {{"kid", "es-1"}});
  ASSERT_TRUE(waitFor([&] {
    return source->status().last_error.find("no usable signing key") != std::string::npos;
  }));
  EXPECT_EQ(source->status().key_count, 1u);
  EXPECT_TRUE(verify(*verifier(c, source), server->mint("es-1", claims(*server))).ok);
}

TEST_F(TokenJwksTest, HttpsWithATestCaAndTheRfc6125NameCheck) {
  TestCa ca("jwks.test");
  LeafOptions opts;
  opts.uri_san = false;
  opts.ips = {"127.0.0.1"};
  const Credential good = ca.issue("jwks-server", opts);  // CN only: no URI SAN
  opts.ips = {"127.0.0.2"};
  const Credential wrong_host = ca.issue("jwks-server", opts);
  const std::string ca_file = writeFile(dir_.path(), "ca.pem", ca.certPem());
  const std::string cert = writeFile(dir_.path(), "server.pem", good.certPem());
  const std::string key = writeFile(dir_.path(), "server.key", good.keyPem());
  const std::string wrong_cert = writeFile(dir_.path(), "wrong.pem", wrong_host.certPem());
  const std::string wrong_key = writeFile(dir_.path(), "wrong.key", wrong_host.keyPem());

  auto server = startServer({"--https", cert, key});
  ASSERT_TRUE(server->ready());
  ASSERT_EQ(server->issuer().rfind("https://127.0.0.1:", 0), 0u);
  server->addKey("es-1", "ES256");
  TokenIssuerConfig c = config(*server);
  c.ca_file = ca_file;
  auto source = startSource(c);
  ASSERT_TRUE(source->waitReady(kWait)) << source->status().last_error;
  EXPECT_TRUE(verify(*verifier(c, source), server->mint("es-1", claims(*server))).ok);

  // Without the test CA (system roots only) the server is not trusted.
  TokenIssuerConfig system_roots = config(*server);
  auto untrusted = startSource(system_roots);
  ASSERT_TRUE(waitFor([&] { return untrusted->status().fetches_failed >= 1; }));
  EXPECT_NE(untrusted->status().last_error.find("TLS handshake"), std::string::npos)
      << untrusted->status().last_error;
  EXPECT_FALSE(untrusted->ready());

  // A certificate from the right CA for another address fails the name check.
  auto other = startServer({"--https", wrong_cert, wrong_key});
  ASSERT_TRUE(other->ready());
  other->addKey("es-1", "ES256");
  TokenIssuerConfig misnamed = config(*other);
  misnamed.ca_file = ca_file;
  auto refused = startSource(misnamed);
  ASSERT_TRUE(waitFor([&] { return refused->status().fetches_failed >= 1; }));
  EXPECT_NE(refused->status().last_error.find("IP address mismatch"), std::string::npos)
      << refused->status().last_error;
}

TEST_F(TokenJwksTest, StartRefusesBadConfigurationAndCaFiles) {
  TokenIssuerConfig c;
  c.issuer = "https://idp.example.com";
  c.jwks_url = "http://idp.example.com/jwks";
  c.audiences = {kAudience};
  auto refused = JwksSource::start(c);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("jwks_url"), std::string::npos);
  c.jwks_url = "https://idp.example.com/jwks";
  c.ca_file = dir_.file("missing.pem");
  auto missing = JwksSource::start(c);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find(".ca_file \"" + c.ca_file + "\""), std::string::npos)
      << missing.error().message;
}

TEST_F(TokenJwksTest, JwksFileSource) {
  auto server = startServer();
  ASSERT_TRUE(server->ready());
  server->addKey("es-1", "ES256");
  // The file holds what the issuer publishes, fetched here once by the test.
  const std::string& issuer = server->issuer();
  auto conn = TestConnection::plain(
      static_cast<std::uint16_t>(std::stoi(issuer.substr(issuer.rfind(':') + 1))));
  ASSERT_NE(conn, nullptr);
  conn->send(makeRequest("GET", "/jwks", "Connection: close\r\n"));
  auto res = conn->read();
  ASSERT_TRUE(res.has_value());
  TokenIssuerConfig c = config(*server);
  c.discovery_url.clear();
  c.jwks_file = writeFile(dir_.path(), "jwks.json", res->body);
  auto source = startSource(c);
  ASSERT_TRUE(source->waitReady(kWait)) << source->status().last_error;
  EXPECT_EQ(source->status().source, c.jwks_file);
  EXPECT_TRUE(verify(*verifier(c, source), server->mint("es-1", claims(*server))).ok);
}

}  // namespace
}  // namespace warden::testing
