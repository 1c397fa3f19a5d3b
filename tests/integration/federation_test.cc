// SPIFFE federation over real TLS on 127.0.0.1 (identity-standards §10.7, F1–F5): a
// BundleEndpointServer publishes a bundle, a FederationFetcher fetches it under either
// profile; rotation, revocation (keys: []), malformed and stale documents, and refused
// endpoints. Certificates are minted by the tests (a "Web PKI" CA and SPIFFE CAs).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <openssl/x509.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "identity/spiffe_bundle.h"
#include "issuer/federation.h"
#include "support/http_client_harness.h"
#include "support/test_pki.h"

namespace warden::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;
using issuer::BundleEndpointOptions;
using issuer::BundleEndpointServer;
using issuer::FederationFetcher;
using issuer::FederationProfile;
using issuer::FederationRelationship;
using issuer::FederationStatus;
using issuer::FederationTiming;

constexpr char kTd[] = "a.test";
constexpr char kEndpointId[] = "spiffe://a.test/bundle-endpoint";

identity::SpiffeBundle makeBundle(const std::vector<const TestCa*>& cas,
                                  std::optional<std::int64_t> sequence,
                                  std::optional<std::int64_t> hint = 1) {
  identity::SpiffeBundle bundle;
  bundle.trust_domain = kTd;
  for (const TestCa* ca : cas) {
    X509_up_ref(ca->cert());
    bundle.x509_authorities.emplace_back(ca->cert(), X509_free);
  }
  bundle.sequence = sequence;
  bundle.refresh_hint_seconds = hint;
  return bundle;
}

// The document the endpoint serves; tests swap it while the endpoint runs.
class Document {
 public:
  void set(std::string text) {
    std::lock_guard lock(mutex_);
    text_ = std::move(text);
  }
  std::function<std::string()> provider() {
    return [this] {
      std::lock_guard lock(mutex_);
      return text_;
    };
  }

 private:
  std::mutex mutex_;
  std::string text_;
};

// Every bundle handed to on_change, in order.
class Changes {
 public:
  FederationFetcher::ChangeFn callback() {
    return [this](const identity::SpiffeBundle& b) {
      std::lock_guard lock(mutex_);
      seen_.push_back(b);
    };
  }
  std::size_t count() {
    std::lock_guard lock(mutex_);
    return seen_.size();
  }
  identity::SpiffeBundle last() {
    std::lock_guard lock(mutex_);
    return seen_.empty() ? identity::SpiffeBundle{} : seen_.back();
  }

 private:
  std::mutex mutex_;
  std::vector<identity::SpiffeBundle> seen_;
};

bool waitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

FederationTiming fastTiming() {
  FederationTiming t;
  t.min_refresh = 200ms;
  t.max_refresh = 5s;
  t.default_refresh = 5s;
  t.retry = 200ms;
  t.request_timeout = 2s;
  return t;
}

// Answers every request with one fixed response (things BundleEndpointServer never
// sends: 500, redirects), one connection at a time.
class FixedResponseServer {
 public:
  FixedResponseServer(const Credential& cred, std::string response)
      : response_(std::move(response)) {
    namespace ssl = boost::asio::ssl;
    const std::string cert = cred.certPem();
    const std::string key = cred.keyPem();
    ctx_.use_certificate_chain(boost::asio::buffer(cert));
    ctx_.use_private_key(boost::asio::buffer(key), ssl::context::pem);
    const boost::asio::ip::tcp::endpoint ep(boost::asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.bind(ep);
    acceptor_.listen();
    boost::asio::co_spawn(ioc_, serve(acceptor_, ctx_, response_), boost::asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~FixedResponseServer() {
    ioc_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  static boost::asio::awaitable<void> serve(boost::asio::ip::tcp::acceptor& acceptor,
                                            boost::asio::ssl::context& ctx,
                                            const std::string& response) {
    namespace asio = boost::asio;
    constexpr auto tuple = asio::as_tuple(asio::use_awaitable);
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(tuple);
      if (ec) co_return;
      asio::ssl::stream<asio::ip::tcp::socket> stream(std::move(socket), ctx);
      auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server, tuple);
      if (hec) continue;
      std::string request;
      auto [rec, n] =
          co_await asio::async_read_until(stream, asio::dynamic_buffer(request), "\r\n\r\n", tuple);
      if (rec) continue;
      co_await asio::async_write(stream, asio::buffer(response), tuple);
      co_await stream.async_shutdown(tuple);
    }
  }

  std::string response_;
  boost::asio::ssl::context ctx_{boost::asio::ssl::context::tls_server};
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_{ioc_};
  std::thread thread_;
};

class FederationTest : public ::testing::Test {
 protected:
  // A server certificate from the test's "Web PKI" CA.
  Credential webCert(std::vector<std::string> dns, std::vector<std::string> ips) const {
    LeafOptions opts;
    opts.uri_san = false;
    opts.dns = std::move(dns);
    opts.ips = std::move(ips);
    return web_ca.issue("bundles.a.test", opts);
  }

  std::unique_ptr<BundleEndpointServer> startEndpoint(const Credential& cred,
                                                      std::uint16_t port = 0) {
    BundleEndpointOptions options;
    options.listen_port = port;
    options.path = "/bundle";
    options.cert_pem = cred.certPem();
    options.key_pem = cred.keyPem();
    auto server = BundleEndpointServer::start(options, document.provider());
    EXPECT_TRUE(server.ok()) << server.error().message;
    return server ? std::move(*server) : nullptr;
  }

  FederationRelationship webRelationship(std::uint16_t port,
                                         const std::string& host = "127.0.0.1") const {
    FederationRelationship r;
    r.trust_domain = kTd;
    r.url = "https://" + host + ":" + std::to_string(port) + "/bundle";
    r.profile = FederationProfile::kHttpsWeb;
    r.ca_file = web_roots;
    return r;
  }

  FederationRelationship spiffeRelationship(std::uint16_t port) const {
    FederationRelationship r;
    r.trust_domain = kTd;
    r.url = "https://127.0.0.1:" + std::to_string(port) + "/bundle";
    r.profile = FederationProfile::kHttpsSpiffe;
    r.endpoint_spiffe_id = kEndpointId;
    r.bootstrap_bundle = makeBundle({&ca1}, 1).toJson();
    return r;
  }

  std::unique_ptr<FederationFetcher> startFetcher(FederationRelationship rel) {
    auto fetcher = FederationFetcher::start({std::move(rel)}, changes.callback(), fastTiming());
    EXPECT_TRUE(fetcher.ok()) << fetcher.error().message;
    return fetcher ? std::move(*fetcher) : nullptr;
  }

  static FederationStatus statusOf(const FederationFetcher& fetcher) {
    auto all = fetcher.status();
    return all.empty() ? FederationStatus{} : all.front();
  }

  static bool holds(const FederationFetcher& fetcher, const identity::SpiffeBundle& expected) {
    const auto bundles = fetcher.bundles();
    const auto it = bundles.find(kTd);
    return it != bundles.end() && it->second.sameKeys(expected) &&
           it->second.sequence == expected.sequence;
  }

  // Fetches now and waits for a failure that records `error`: a fetch already in flight
  // may still report the previous document's failure first.
  static FederationStatus nextFailure(FederationFetcher& fetcher, const std::string& error) {
    const std::uint64_t before = statusOf(fetcher).fetches_failed;
    fetcher.refreshNow();
    EXPECT_TRUE(waitFor([&] {
      const auto s = statusOf(fetcher);
      return s.fetches_failed > before && s.last_error.find(error) != std::string::npos;
    })) << statusOf(fetcher).last_error;
    return statusOf(fetcher);
  }

  TestCa web_ca{"web-pki.test"};
  TestCa ca1{kTd};
  TestCa ca2{kTd};
  TestCa other_td_ca{"b.test"};
  TempDir dir;
  std::string web_roots = writeFile(dir.path(), "web-roots.pem", web_ca.certPem());
  Document document;
  Changes changes;
};

// F1 over https_web: the endpoint's certificate names 127.0.0.1; the fetcher trusts the
// test's Web PKI root from ca_file.
TEST_F(FederationTest, HttpsWebFetchesBundle) {
  const auto served = makeBundle({&ca1}, 1);
  document.set(served.toJson());
  auto endpoint = startEndpoint(webCert({"localhost"}, {"127.0.0.1"}));
  ASSERT_NE(endpoint, nullptr);
  auto fetcher = startFetcher(webRelationship(endpoint->port()));
  ASSERT_NE(fetcher, nullptr);

  // The fetcher publishes the bundle, then calls on_change: wait for both.
  ASSERT_TRUE(waitFor([&] { return holds(*fetcher, served) && changes.count() >= 1; }));
  EXPECT_EQ(changes.count(), 1u);
  EXPECT_TRUE(changes.last().sameKeys(served));
  EXPECT_EQ(changes.last().trust_domain, kTd);
  const auto status = statusOf(*fetcher);
  EXPECT_EQ(status.trust_domain, kTd);
  EXPECT_TRUE(status.has_bundle);
  EXPECT_EQ(status.sequence, 1);
  EXPECT_EQ(status.last_error, "");
  EXPECT_GE(status.fetches_ok, 1u);
  EXPECT_EQ(status.fetches_failed, 0u);
  EXPECT_NE(status.last_success, std::chrono::system_clock::time_point{});

  // The same document again (even with another hint) is not a change.
  document.set(makeBundle({&ca1}, 1, 2).toJson());
  const auto ok_before = status.fetches_ok;
  fetcher->refreshNow();
  ASSERT_TRUE(waitFor([&] { return statusOf(*fetcher).fetches_ok > ok_before; }));
  EXPECT_EQ(changes.count(), 1u);
}

// The same over a DNS name: SNI and an RFC 6125 DNS-ID check instead of an IP SAN.
TEST_F(FederationTest, HttpsWebFetchesByHostName) {
  const auto served = makeBundle({&ca1}, 1);
  document.set(served.toJson());
  auto endpoint = startEndpoint(webCert({"localhost"}, {}));
  ASSERT_NE(endpoint, nullptr);
  auto fetcher = startFetcher(webRelationship(endpoint->port(), "localhost"));
  ASSERT_NE(fetcher, nullptr);
  ASSERT_TRUE(waitFor([&] { return holds(*fetcher, served); })) << statusOf(*fetcher).last_error;
}

// F2: the endpoint adds a second CA under a new sequence; the fetcher picks it up at the
// refresh hint (1 s), without refreshNow().
TEST_F(FederationTest, RotationIsPickedUpWithinTheRefreshHint) {
  document.set(makeBundle({&ca1}, 1).toJson());
  auto endpoint = startEndpoint(webCert({}, {"127.0.0.1"}));
  ASSERT_NE(endpoint, nullptr);
  auto fetcher = startFetcher(webRelationship(endpoint->port()));
  ASSERT_NE(fetcher, nullptr);
  ASSERT_TRUE(waitFor([&] { return changes.count() == 1; }));

  const auto rotated = makeBundle({&ca1, &ca2}, 2);
  document.set(rotated.toJson());
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(waitFor([&] { return holds(*fetcher, rotated) && changes.count() >= 2; }));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 4s);  // hint 1 s, plus slack for a loaded host
  EXPECT_EQ(changes.count(), 2u);
  EXPECT_EQ(changes.last().x509_authorities.size(), 2u);
  EXPECT_EQ(statusOf(*fetcher).sequence, 2);
}

// F3: `keys: []` is a valid bundle meaning every key is revoked; it replaces the held one.
TEST_F(FederationTest, EmptyKeysRevokeEverything) {
  document.set(makeBundle({&ca1}, 1).toJson());
  auto endpoint = startEndpoint(webCert({}, {"127.0.0.1"}));
  ASSERT_NE(endpoint, nullptr);
  auto fetcher = startFetcher(webRelationship(endpoint->port()));
  ASSERT_NE(fetcher, nullptr);
  ASSERT_TRUE(waitFor([&] { return changes.count() == 1; }));

  document.set(R"({"keys":[],"spiffe_sequence":2,"spiffe_refresh_hint":1})");
  fetcher->refreshNow();
  ASSERT_TRUE(waitFor([&] { return changes.count() == 2; }));
  EXPECT_TRUE(changes.last().x509_authorities.empty());
  EXPECT_TRUE(changes.last().jwt_authorities.empty());
  const auto held = fetcher->bundles();
  ASSERT_EQ(held.count(kTd), 1u);
  EXPECT_TRUE(held.at(kTd).x509_authorities.empty());
  EXPECT_EQ(statusOf(*fetcher).sequence, 2);
  EXPECT_TRUE(statusOf(*fetcher).has_bundle);
}

// F4: every bad document is refused; the last good bundle stays, the error is recorded,
// nobody is notified, and the next good fetch clears the error.
TEST_F(FederationTest, MalformedDocumentsKeepTheLastGoodBundle) {
  const auto good = makeBundle({&ca1}, 1);
  document.set(good.toJson());
  auto endpoint = startEndpoint(webCert({}, {"127.0.0.1"}));
  ASSERT_NE(endpoint, nullptr);
  auto fetcher = startFetcher(webRelationship(endpoint->port()));
  ASSERT_NE(fetcher, nullptr);
  ASSERT_TRUE(waitFor([&] { return holds(*fetcher, good); }));

  // A jwt-svid entry without kid: take a real key's JWK and drop its kid.
  identity::SpiffeBundle with_jwt = makeBundle({&ca1}, 3);
  const Credential jwt_key = ca1.issue("spiffe://a.test/jwt-signer");
  EVP_PKEY_up_ref(jwt_key.key.get());
  with_jwt.jwt_authorities.push_back({"k1", std::shared_ptr<EVP_PKEY>(jwt_key.key.get(), EVP_PKEY_free)});
  auto no_kid = nlohmann::json::parse(with_jwt.toJson());
  for (auto& key : no_kid["keys"]) {
    if (key["use"] == "jwt-svid") key.erase("kid");
  }
  const std::string padding(2 * 1024 * 1024, 'x');

  struct Case {
    std::string name;
    std::string document;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"not JSON", "this is not JSON", "invalid bundle"},
      {"no keys member", R"({"spiffe_sequence":3})", "invalid bundle"},
      {"2 MB body", R"({"keys":[],"spiffe_sequence":3,"pad":")" + padding + "\"}", "exceeds"},
      {"jwt-svid without kid", no_kid.dump(), "invalid bundle"},
      {"duplicate keys", R"({"keys":[],"keys":[],"spiffe_sequence":3})", "invalid bundle"},
      {"no bundle to serve (503)", "", "HTTP 503"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    document.set(c.document);
    const auto status = nextFailure(*fetcher, c.error);
    EXPECT_TRUE(status.has_bundle);
    EXPECT_EQ(status.sequence, 1);
    EXPECT_TRUE(holds(*fetcher, good));
    EXPECT_EQ(changes.count(), 1u);
  }

  const auto ok_before = statusOf(*fetcher).fetches_ok;
  document.set(good.toJson());
  fetcher->refreshNow();
  ASSERT_TRUE(waitFor([&] { return statusOf(*fetcher).fetches_ok > ok_before; }));
  EXPECT_EQ(statusOf(*fetcher).last_error, "");
  EXPECT_EQ(changes.count(), 1u);
}

// F4 at the HTTP layer: a 500 and a redirect are failures (redirects are not followed).
TEST_F(FederationTest, HttpErrorsAndRedirectsKeepTheLastGoodBundle) {
  const auto good = makeBundle({&ca1}, 1);
  document.set(good.toJson());
  const Credential cert = webCert({}, {"127.0.0.1"});
  auto endpoint = startEndpoint(cert);
  ASSERT_NE(endpoint, nullptr);
  FixedResponseServer error500(
      cert, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  FixedResponseServer redirect(
      cert, "HTTP/1.1 307 Temporary Redirect\r\nLocation: https://127.0.0.1:" +
                std::to_string(endpoint->port()) +
                "/bundle\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");

  for (const auto* server : {&error500, &redirect}) {
    auto fetcher = startFetcher(webRelationship(server->port()));
    ASSERT_NE(fetcher, nullptr);
    ASSERT_TRUE(waitFor([&] { return statusOf(*fetcher).fetches_failed > 0; }));
    const auto status = statusOf(*fetcher);
    if (server == &error500) {
      EXPECT_THAT(status.last_error, HasSubstr("HTTP 500"));
    } else {
      EXPECT_THAT(status.last_error, HasSubstr("HTTP 307 redirect"));
      EXPECT_THAT(status.last_error, HasSubstr("not followed"));
    }
    EXPECT_FALSE(status.has_bundle);
    EXPECT_TRUE(fetcher->bundles().empty());
  }
  EXPECT_EQ(changes.count(), 0u);
}

// A bundle with a lower sequence than the held one is ignored (and recorded).
TEST_F(FederationTest, LowerSequenceIsIgnored) {
  const auto newer = makeBundle({&ca1, &ca2}, 2);
  document.set(newer.toJson());
  auto endpoint = startEndpoint(webCert({}, {"127.0.0.1"}));
  ASSERT_NE(endpoint, nullptr);
  auto fetcher = startFetcher(webRelationship(endpoint->port()));
  ASSERT_NE(fetcher, nullptr);
  ASSERT_TRUE(waitFor([&] { return holds(*fetcher, newer) && changes.count() >= 1; }));

  document.set(makeBundle({&ca1}, 1).toJson());
  nextFailure(*fetcher, "sequence 1 is lower than the held 2");
  EXPECT_TRUE(holds(*fetcher, newer));
  EXPECT_EQ(changes.count(), 1u);

  // A new sequence with the same keys is a change (consumers track the sequence).
  const auto same_keys = makeBundle({&ca1, &ca2}, 3);
  document.set(same_keys.toJson());
  fetcher->refreshNow();
  ASSERT_TRUE(waitFor([&] { return holds(*fetcher, same_keys) && changes.count() >= 2; }));
  EXPECT_EQ(changes.count(), 2u);
}

// F5 (https_web): a certificate that does not name the URL's host, or that does not chain
// to the configured roots, is refused.
TEST_F(FederationTest, HttpsWebRefusesCertificateForAnotherHost) {
  document.set(makeBundle({&ca1}, 1).toJson());
  auto endpoint = startEndpoint(webCert({"bundles.elsewhere.test"}, {"127.0.0.2"}));
  ASSERT_NE(endpoint, nullptr);
  auto by_ip = startFetcher(webRelationship(endpoint->port()));
  ASSERT_NE(by_ip, nullptr);
  ASSERT_TRUE(waitFor([&] { return statusOf(*by_ip).fetches_failed > 0; }));
  EXPECT_THAT(statusOf(*by_ip).last_error, HasSubstr("IP address mismatch"));

  auto by_name = startFetcher(webRelationship(endpoint->port(), "localhost"));
  ASSERT_NE(by_name, nullptr);
  ASSERT_TRUE(waitFor([&] { return statusOf(*by_name).fetches_failed > 0; }));
  EXPECT_THAT(statusOf(*by_name).last_error, HasSubstr("hostname mismatch"));

  EXPECT_TRUE(by_ip->bundles().empty());
  EXPECT_TRUE(by_name->bundles().empty());
  EXPECT_EQ(changes.count(), 0u);
}

TEST_F(FederationTest, HttpsWebRefusesUntrustedRoot) {
  document.set(makeBundle({&ca1}, 1).toJson());
  LeafOptions opts;
  opts.uri_san = false;
  opts.ips = {"127.0.0.1"};
  TestCa rogue{"rogue.test"};
  auto endpoint = startEndpoint(rogue.issue("rogue", opts));
  ASSERT_NE(endpoint, nullptr);
  auto fetcher = startFetcher(webRelationship(endpoint->port()));
  ASSERT_NE(fetcher, nullptr);
  ASSERT_TRUE(waitFor([&] { return statusOf(*fetcher).fetches_failed > 0; }));
  EXPECT_THAT(statusOf(*fetcher).last_error, HasSubstr("unable to get local issuer certificate"));
  EXPECT_TRUE(fetcher->bundles().empty());
}

// F1 over https_spiffe (self-serving, bootstrap bundle given): the endpoint's X509-SVID
// for the configured ID is accepted although it names no host at all.
TEST_F(FederationTest, HttpsSpiffeAcceptsTheConfiguredEndpointId) {
  const auto served = makeBundle({&ca1}, 1);
  document.set(served.toJson());
  auto endpoint = startEndpoint(ca1.issue(kEndpointId));
  ASSERT_NE(endpoint, nullptr);
  auto fetcher = startFetcher(spiffeRelationship(endpoint->port()));
  ASSERT_NE(fetcher, nullptr);
  ASSERT_TRUE(waitFor([&] { return holds(*fetcher, served) && changes.count() >= 1; }))
      << statusOf(*fetcher).last_error;
  EXPECT_EQ(changes.count(), 1u);
}

// F5 (https_spiffe): a valid SVID for another ID of the same trust domain is refused,
// and so is an SVID that does not chain to the bundle held for the endpoint's domain.
TEST_F(FederationTest, HttpsSpiffeRefusesAnotherIdOrAnUntrustedSvid) {
  document.set(makeBundle({&ca1}, 1).toJson());
  auto wrong_id = startEndpoint(ca1.issue("spiffe://a.test/not-the-endpoint"));
  ASSERT_NE(wrong_id, nullptr);
  auto fetcher = startFetcher(spiffeRelationship(wrong_id->port()));
  ASSERT_NE(fetcher, nullptr);
  ASSERT_TRUE(waitFor([&] { return statusOf(*fetcher).fetches_failed > 0; }));
  EXPECT_THAT(statusOf(*fetcher).last_error,
              HasSubstr("server presented spiffe://a.test/not-the-endpoint, expected " +
                        std::string(kEndpointId)));
  EXPECT_TRUE(fetcher->bundles().empty());

  auto untrusted = startEndpoint(ca2.issue(kEndpointId));  // ca2 is not in the bootstrap
  ASSERT_NE(untrusted, nullptr);
  auto fetcher2 = startFetcher(spiffeRelationship(untrusted->port()));
  ASSERT_NE(fetcher2, nullptr);
  ASSERT_TRUE(waitFor([&] { return statusOf(*fetcher2).fetches_failed > 0; }));
  EXPECT_THAT(statusOf(*fetcher2).last_error, HasSubstr("not a valid X509-SVID"));

  // A Web PKI certificate is no X509-SVID, whatever host it names.
  auto web = startEndpoint(webCert({"localhost"}, {"127.0.0.1"}));
  ASSERT_NE(web, nullptr);
  auto fetcher3 = startFetcher(spiffeRelationship(web->port()));
  ASSERT_NE(fetcher3, nullptr);
  ASSERT_TRUE(waitFor([&] { return statusOf(*fetcher3).fetches_failed > 0; }));
  EXPECT_THAT(statusOf(*fetcher3).last_error, HasSubstr("not a valid X509-SVID"));
  EXPECT_EQ(changes.count(), 0u);
}

// Self-serving https_spiffe validates with the newest fetched bundle: after the endpoint
// published ca2, it may switch to an SVID from ca2, which the bootstrap bundle lacks.
TEST_F(FederationTest, HttpsSpiffeTrustsTheNewestFetchedBundle) {
  const auto both = makeBundle({&ca1, &ca2}, 2);
  document.set(both.toJson());
  auto endpoint = startEndpoint(ca1.issue(kEndpointId));
  ASSERT_NE(endpoint, nullptr);
  const std::uint16_t port = endpoint->port();
  auto fetcher = startFetcher(spiffeRelationship(port));
  ASSERT_NE(fetcher, nullptr);
  ASSERT_TRUE(waitFor([&] { return holds(*fetcher, both); })) << statusOf(*fetcher).last_error;

  endpoint.reset();
  const auto ca2_only = makeBundle({&ca2}, 3);
  document.set(ca2_only.toJson());
  endpoint = startEndpoint(ca2.issue(kEndpointId), port);
  ASSERT_NE(endpoint, nullptr);
  fetcher->refreshNow();
  ASSERT_TRUE(waitFor([&] { return holds(*fetcher, ca2_only); })) << statusOf(*fetcher).last_error;

  // ca1 has now been dropped by the endpoint's own bundle: an SVID from it is refused even
  // though the operator's bootstrap bundle still lists ca1.
  endpoint.reset();
  endpoint = startEndpoint(ca1.issue(kEndpointId), port);
  ASSERT_NE(endpoint, nullptr);
  nextFailure(*fetcher, "not a valid X509-SVID");
  EXPECT_TRUE(holds(*fetcher, ca2_only));
}

// The endpoint itself: GET and HEAD on its path, 405 for other methods, 404 elsewhere,
// keep-alive, and no client certificate needed.
TEST_F(FederationTest, EndpointServesOnlyGetOnItsPath) {
  const std::string doc = makeBundle({&ca1}, 1).toJson();
  document.set(doc);
  auto endpoint = startEndpoint(webCert({}, {"127.0.0.1"}));
  ASSERT_NE(endpoint, nullptr);
  auto c = TestConnection::tls(endpoint->port(), std::nullopt);
  ASSERT_NE(c, nullptr);

  ASSERT_TRUE(c->send(makeRequest("GET", "/bundle")));
  auto get = c->read();
  ASSERT_TRUE(get) << c->lastError();
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->header("content-type"), "application/json");
  EXPECT_EQ(get->body, doc);
  EXPECT_TRUE(get->keep_alive);

  ASSERT_TRUE(c->send(makeRequest("GET", "/bundle?format=spiffe")));
  auto with_query = c->read();
  ASSERT_TRUE(with_query) << c->lastError();
  EXPECT_EQ(with_query->status, 200);

  ASSERT_TRUE(c->send(makeRequest("HEAD", "/bundle")));
  auto head = c->read(/*head_request=*/true);
  ASSERT_TRUE(head) << c->lastError();
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("content-length"), std::to_string(doc.size()));
  EXPECT_EQ(head->body, "");

  ASSERT_TRUE(c->send(makeRequest("POST", "/bundle", "", "{}")));
  auto post = c->read();
  ASSERT_TRUE(post) << c->lastError();
  EXPECT_EQ(post->status, 405);
  EXPECT_THAT(post->header("allow"), HasSubstr("GET"));

  ASSERT_TRUE(c->send(makeRequest("GET", "/other")));
  auto other = c->read();
  ASSERT_TRUE(other) << c->lastError();
  EXPECT_EQ(other->status, 404);

  ASSERT_TRUE(c->send(makeRequest("DELETE", "/")));
  auto root = c->read();
  ASSERT_TRUE(root) << c->lastError();
  EXPECT_EQ(root->status, 404);
}

TEST_F(FederationTest, EndpointClosesOversizeRequestHeads) {
  document.set(makeBundle({&ca1}, 1).toJson());
  auto endpoint = startEndpoint(webCert({}, {"127.0.0.1"}));
  ASSERT_NE(endpoint, nullptr);
  auto c = TestConnection::tls(endpoint->port(), std::nullopt);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->send(makeRequest("GET", "/bundle", "X-Pad: " + std::string(16 * 1024, 'a') + "\r\n")));
  EXPECT_FALSE(c->read());
}

TEST_F(FederationTest, EndpointRejectsBadOptions) {
  BundleEndpointOptions options;
  const Credential cred = webCert({}, {"127.0.0.1"});
  options.cert_pem = cred.certPem();
  options.key_pem = cred.keyPem();
  auto bad_host = options;
  bad_host.listen_host = "localhost";
  EXPECT_FALSE(BundleEndpointServer::start(bad_host, document.provider()).ok());
  auto bad_path = options;
  bad_path.path = "bundle";
  EXPECT_FALSE(BundleEndpointServer::start(bad_path, document.provider()).ok());
  auto wrong_key = options;
  wrong_key.key_pem = webCert({}, {"127.0.0.1"}).keyPem();
  auto mismatch = BundleEndpointServer::start(wrong_key, document.provider());
  ASSERT_FALSE(mismatch.ok());
  EXPECT_THAT(mismatch.error().message, HasSubstr("server key"));
  EXPECT_FALSE(BundleEndpointServer::start(options, nullptr).ok());
  // Further documents (the JWT issuer's OIDC discovery): each on a path of its own.
  const auto json = [] { return std::string("{}"); };
  auto same_path = options;
  same_path.path = "/keys";
  same_path.documents.push_back({"/keys", json});
  auto clash = BundleEndpointServer::start(same_path, document.provider());
  ASSERT_FALSE(clash.ok());
  EXPECT_THAT(clash.error().message, HasSubstr("two documents on path /keys"));
  auto bad_document_path = options;
  bad_document_path.documents.push_back({"/keys?x", json});
  EXPECT_FALSE(BundleEndpointServer::start(bad_document_path, document.provider()).ok());
  auto no_provider = options;
  no_provider.documents.push_back({"/keys", nullptr});
  EXPECT_FALSE(BundleEndpointServer::start(no_provider, document.provider()).ok());
}

}  // namespace
}  // namespace warden::testing
