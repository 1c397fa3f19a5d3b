// Request smuggling and framing through a real ingress sidecar (mTLS on 127.0.0.1, the
// seed policy, the echo app behind it). The property under test: every request the
// sidecar frames is either rejected or evaluated by policy, and the app receives exactly
// the requests that were allowed, framed exactly as the sidecar framed them. Each case
// asserts on three things: what the client read (status, JSON error, whether the
// connection stays), the audit trail, and what the app recorded.
//
// References: RFC 9112 §2.2 (line endings), §3.2 (Host), §5.2 (obs-fold), §6 (message
// body length), §7.1 (chunked coding), §9.3 (persistence, pipelining); RFC 9110 §10.1.1
// (Expect: 100-continue), §15.2 (1xx).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>

#include "support/mesh_harness.h"

namespace warden::testing {
namespace {

using namespace std::string_literals;

constexpr const char* kHost = "Host: budget-backend\r\n";

class HttpSmugglingTest : public ::testing::Test {
 protected:
  std::unique_ptr<TestConnection> connect() {
    std::string error;
    auto c = TestConnection::tls(mesh.backend().ingressEndpoint().port, mesh.report, &error);
    EXPECT_NE(c, nullptr) << error;
    return c;
  }

  // Sends `raw` (report's credential) and expects a proxy-layer JSON error with `status`
  // and `reason`, the connection closed after it, one audit event for it, and nothing at
  // the app.
  void expectRejected(const std::string& raw, int status = 400,
                      const std::string& reason = "bad_request") {
    auto c = connect();
    ASSERT_NE(c, nullptr);
    ASSERT_TRUE(c->send(raw)) << c->lastError();
    auto res = c->read();
    ASSERT_TRUE(res) << "no response: " << c->lastError();
    EXPECT_EQ(res->status, status) << res->body;
    EXPECT_EQ(res->header("content-type"), "application/json");
    const auto body = nlohmann::json::parse(res->body);
    EXPECT_EQ(body["error"], reason) << res->body;
    EXPECT_EQ(body["layer"], "proxy");
    EXPECT_EQ(body["request_id"], res->header("x-request-id"));
    EXPECT_FALSE(res->keep_alive) << "a framing error must close the connection";
    EXPECT_TRUE(c->waitClosed()) << "connection left open after a framing error";

    ASSERT_TRUE(mesh.backendAudit().waitFor(1));
    const auto events = mesh.backendAudit().events();
    ASSERT_EQ(events.size(), 1u) << "one audit event per rejected request, none for leftovers";
    EXPECT_FALSE(events[0].allowed);
    EXPECT_EQ(events[0].layer, "proxy");
    EXPECT_EQ(events[0].reason, reason);
    EXPECT_EQ(events[0].status, status);
    EXPECT_EQ(mesh.app.requestCount(), 0u) << "a rejected request reached the app";
  }

  // Reads one response and returns its parsed JSON body (empty on failure, with a test
  // failure recorded).
  nlohmann::json readJson(TestConnection& c, int status) {
    auto res = c.read();
    EXPECT_TRUE(res) << "no response: " << c.lastError();
    if (!res)
      return {};
    EXPECT_EQ(res->status, status) << res->body;
    last_keep_alive_ = res->keep_alive;
    return nlohmann::json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  }

  Mesh mesh;
  bool last_keep_alive_ = false;
};

// --- Content-Length and Transfer-Encoding together or repeated (RFC 9112 §6.3) ----------

TEST_F(HttpSmugglingTest, ContentLengthWithChunkedIsRejected) {
  // CL.TE: a front end using Content-Length forwards "0\r\n\r\nGET ..." as body; a back end
  // using chunked sees a second request. RFC 9112 §6.1: such a message MAY be rejected.
  const std::string smuggled = "GET /budget/read HTTP/1.1\r\n"s + kHost + "\r\n";
  expectRejected("POST /stream/x HTTP/1.1\r\n"s + kHost +
                 "Content-Length: " + std::to_string(5 + smuggled.size()) +
                 "\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled);
}

TEST_F(HttpSmugglingTest, ChunkedWithContentLengthIsRejected) {
  // TE.CL, the other order of the same two fields.
  expectRejected("POST /stream/x HTTP/1.1\r\n"s + kHost +
                 "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
}

TEST_F(HttpSmugglingTest, TwoEqualContentLengthsAreRejected) {
  expectRejected("POST /stream/x HTTP/1.1\r\n"s + kHost +
                 "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello");
}

TEST_F(HttpSmugglingTest, TwoDifferentContentLengthsAreRejected) {
  expectRejected("POST /stream/x HTTP/1.1\r\n"s + kHost +
                 "Content-Length: 5\r\nContent-Length: 0\r\n\r\nhello");
}

TEST_F(HttpSmugglingTest, ListValuedContentLengthIsRejected) {
  expectRejected("POST /stream/x HTTP/1.1\r\n"s + kHost + "Content-Length: 5, 5\r\n\r\nhello");
}

TEST_F(HttpSmugglingTest, TransferEncodingGzipChunkedIsRejected) {
  expectRejected("POST /stream/x HTTP/1.1\r\n"s + kHost +
                 "Transfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
}

TEST_F(HttpSmugglingTest, TransferEncodingChunkedIdentityIsRejected) {
  // Final coding not chunked: RFC 9112 §6.3 item 4, no determinable length for a request.
  expectRejected("POST /stream/x HTTP/1.1\r\n"s + kHost +
                 "Transfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
}

TEST_F(HttpSmugglingTest, TransferEncodingXchunkedIsRejected) {
  expectRejected("POST /stream/x HTTP/1.1\r\n"s + kHost +
                 "Transfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
}

TEST_F(HttpSmugglingTest, TransferEncodingOnHttp10IsRejected) {
  expectRejected("POST /stream/x HTTP/1.0\r\n"s + kHost +
                 "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
}

// --- Header block syntax (RFC 9112 §2.2, §5.2; RFC 9110 §5.5) ----------------------------

TEST_F(HttpSmugglingTest, ObsFoldIsRejected) {
  expectRejected("GET /budget/read HTTP/1.1\r\n"s + kHost +
                 "X-A: 1\r\n Transfer-Encoding: chunked\r\n\r\n");
}

TEST_F(HttpSmugglingTest, BareLfLineEndingsAreRejected) {
  expectRejected("GET /budget/read HTTP/1.1\nHost: budget-backend\n\n");
}

TEST_F(HttpSmugglingTest, BareLfInsideAFieldIsRejected) {
  // One field to a CRLF-only parser ("X-A: 1\nContent-Length: 5"), two to a lenient one.
  expectRejected("POST /stream/x HTTP/1.1\r\n"s + kHost + "X-A: 1\nContent-Length: 5\r\n\r\nhello");
}

TEST_F(HttpSmugglingTest, BareCrIsRejected) {
  expectRejected("GET /budget/read HTTP/1.1\r\n"s + kHost + "X-A: 1\rX-B: 2\r\n\r\n");
}

TEST_F(HttpSmugglingTest, NulInHeaderIsRejected) {
  expectRejected("GET /budget/read HTTP/1.1\r\n"s + kHost + "X-A: a\0b\r\n\r\n"s);
}

// --- Host (RFC 9112 §3.2) ---------------------------------------------------------------

TEST_F(HttpSmugglingTest, Http11WithoutHostIsRejected) {
  expectRejected("GET /budget/read HTTP/1.1\r\n\r\n");
}

TEST_F(HttpSmugglingTest, TwoHostHeadersAreRejected) {
  expectRejected("GET /budget/read HTTP/1.1\r\nHost: budget-backend\r\nHost: evil\r\n\r\n");
}

// --- Header size limit ------------------------------------------------------------------

TEST_F(HttpSmugglingTest, HeaderBlockOverTheLimitIs431) {
  // Default limit 16 KiB (SidecarConfig::Limits::max_header_bytes).
  expectRejected(
      makeRequest("GET", "/budget/read", "X-Big: " + std::string(17 * 1024, 'a') + "\r\n"), 431,
      "headers_too_large");
}

TEST_F(HttpSmugglingTest, HeaderLimitIsExactAtTheBoundary) {
  // A sidecar with a 4 KiB limit (the echo app behind it accepts Beast's default 8 KiB,
  // so a head near 16 KiB could not be served by it): a head of exactly the limit,
  // terminating CRLF CRLF included, is served; one byte more is 431.
  constexpr std::size_t kLimit = 4096;
  auto cfg = mesh.ingressConfig(mesh.backend_cred, mesh.writePolicy(kSeedPolicy, "limit.yaml"));
  cfg.limits.max_header_bytes = kLimit;
  auto sidecar = mesh.start(std::move(cfg));
  ASSERT_NE(sidecar, nullptr);
  auto headOfSize = [](std::size_t size) {
    const std::size_t base = makeRequest("GET", "/budget/read", "X-Pad: \r\n").size();
    return makeRequest("GET", "/budget/read", "X-Pad: " + std::string(size - base, 'p') + "\r\n");
  };
  const std::string exact = headOfSize(kLimit);
  const std::string over = headOfSize(kLimit + 1);
  ASSERT_EQ(exact.size(), kLimit);
  ASSERT_EQ(over.size(), kLimit + 1);

  std::string error;
  auto c = TestConnection::tls(sidecar->ingressEndpoint().port, mesh.report, &error);
  ASSERT_NE(c, nullptr) << error;
  ASSERT_TRUE(c->send(exact));
  auto body = readJson(*c, 200);
  EXPECT_EQ(body["path"], "/budget/read");
  EXPECT_EQ(mesh.app.requestCount(), 1u);

  ASSERT_TRUE(c->send(over));
  auto res = c->read();
  ASSERT_TRUE(res) << c->lastError();
  EXPECT_EQ(res->status, 431);
  EXPECT_EQ(nlohmann::json::parse(res->body)["error"], "headers_too_large");
  EXPECT_TRUE(c->waitClosed());
  EXPECT_EQ(mesh.app.requestCount(), 1u);
}

// --- Chunked bodies (RFC 9112 §7.1) -----------------------------------------------------

TEST_F(HttpSmugglingTest, InvalidChunkSizeClosesAndNothingAfterItReachesTheApp) {
  // An allowed POST whose body turns out to be malformed, followed by a request that a
  // parser resynchronising on the next line would serve.
  auto c = connect();
  ASSERT_TRUE(c->send("POST /stream/x HTTP/1.1\r\n"s + kHost +
                      "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"
                      "GET /budget/read HTTP/1.1\r\n" +
                      kHost + "\r\n"));
  auto res = c->read();
  ASSERT_TRUE(res) << "a malformed body is answered, not just dropped: " << c->lastError();
  EXPECT_EQ(res->status, 400) << res->body;
  EXPECT_EQ(nlohmann::json::parse(res->body)["error"], "bad_request");
  EXPECT_FALSE(res->keep_alive);
  EXPECT_TRUE(c->waitClosed());
  EXPECT_EQ(mesh.app.requestCount(), 0u);
}

TEST_F(HttpSmugglingTest, InvalidChunkSizeAfterAGoodChunkNeverCompletesARequestAtTheApp) {
  // The head and the first chunk may already be at the app when the bad size arrives; the
  // upstream connection must then be dropped, not finished or reused, so the app never
  // completes this request nor reads the smuggled one.
  auto c = connect();
  ASSERT_TRUE(c->send("POST /stream/x HTTP/1.1\r\n"s + kHost +
                      "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n\r\n"
                      "GET /budget/read HTTP/1.1\r\n" +
                      kHost + "\r\n"));
  auto res = c->read();
  ASSERT_TRUE(res) << c->lastError();
  EXPECT_EQ(res->status, 400) << res->body;
  EXPECT_FALSE(res->keep_alive);
  EXPECT_TRUE(c->waitClosed());
  EXPECT_EQ(mesh.app.requestCount(), 0u);
  // The pool must not hold the half-written upstream connection: a fresh client's request
  // is served and is the only one the app ever completed.
  auto next = connect();
  ASSERT_TRUE(next->send(makeRequest("GET", "/budget/read")));
  auto body = readJson(*next, 200);
  EXPECT_EQ(body["path"], "/budget/read");
  ASSERT_EQ(mesh.app.requestCount(), 1u);
  EXPECT_EQ(mesh.app.requests()[0].method, "GET");
}

TEST_F(HttpSmugglingTest, RequestAfterAChunkedBodyIsEvaluatedOnItsOwn) {
  auto c = connect();
  ASSERT_TRUE(c->send("POST /stream/x HTTP/1.1\r\n"s + kHost +
                      "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" +
                      makeRequest("POST", "/budget/submit", "", "{\"amount\":5}")));
  auto first = readJson(*c, 200);
  EXPECT_EQ(first["method"], "POST");
  EXPECT_EQ(first["path"], "/stream/x");
  EXPECT_EQ(first["body_bytes"], 5);
  EXPECT_TRUE(last_keep_alive_);

  auto second = c->read();
  ASSERT_TRUE(second) << "the smuggled request got no answer: " << c->lastError();
  EXPECT_EQ(second->status, 403);
  const auto denial = nlohmann::json::parse(second->body);
  EXPECT_EQ(denial["error"], "rule_denied");
  EXPECT_EQ(denial["layer"], "rbac");
  EXPECT_FALSE(second->keep_alive) << "a denied request with an unread body closes";
  EXPECT_TRUE(c->waitClosed());

  ASSERT_EQ(mesh.app.requestCount(), 1u);
  const auto seen = mesh.app.requests()[0];
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.target, "/stream/x");
  EXPECT_EQ(seen.body_bytes, 5u);

  ASSERT_TRUE(mesh.backendAudit().waitFor(2));
  const auto events = mesh.backendAudit().events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_TRUE(events[0].allowed);
  EXPECT_EQ(events[0].rule_id, "report-stream");
  EXPECT_FALSE(events[1].allowed);
  EXPECT_EQ(events[1].path, "/budget/submit");
  EXPECT_EQ(events[1].rule_id, "report-default-deny");
}

TEST_F(HttpSmugglingTest, MultiChunkBodyReachesTheAppWhole) {
  // Chunk boundaries are the sidecar's to re-frame, but every byte must arrive inside the
  // one body: a request line carried as chunk data (with a chunk extension, RFC 9112
  // §7.1.1, that must not change the size) stays body, never a second request.
  const std::string inner = makeRequest("GET", "/budget/submit");
  auto c = connect();
  std::string raw = "POST /stream/x HTTP/1.1\r\n"s + kHost + "Transfer-Encoding: chunked\r\n\r\n";
  raw += "5;ext=1\r\nhello\r\n";
  char size[16];
  std::snprintf(size, sizeof size, "%zx", inner.size());
  raw += std::string(size) + "\r\n" + inner + "\r\n";
  raw += "1\r\n!\r\n0\r\n\r\n";
  ASSERT_TRUE(c->send(raw));
  auto body = readJson(*c, 200);
  EXPECT_EQ(body["path"], "/stream/x");
  EXPECT_EQ(body["body_bytes"], 5 + inner.size() + 1);
  EXPECT_TRUE(last_keep_alive_);
  // The same connection still frames correctly after the body.
  ASSERT_TRUE(c->send(makeRequest("GET", "/budget/read")));
  auto next = readJson(*c, 200);
  EXPECT_EQ(next["path"], "/budget/read");
  ASSERT_EQ(mesh.app.requestCount(), 2u);
  EXPECT_EQ(mesh.app.requests()[0].body_bytes, 5 + inner.size() + 1);
  EXPECT_EQ(mesh.app.requests()[1].target, "/budget/read");
}

// --- Pipelining (RFC 9112 §9.3.2) -------------------------------------------------------

TEST_F(HttpSmugglingTest, PipelinedAllowedThenDeniedIsEvaluatedPerRequest) {
  auto c = connect();
  ASSERT_TRUE(c->send(makeRequest("GET", "/budget/read") +
                      makeRequest("POST", "/budget/submit", "", "{\"amount\":5}")));
  auto first = readJson(*c, 200);
  EXPECT_EQ(first["path"], "/budget/read");
  auto second = c->read();
  ASSERT_TRUE(second) << c->lastError();
  EXPECT_EQ(second->status, 403);
  EXPECT_EQ(nlohmann::json::parse(second->body)["error"], "rule_denied");
  EXPECT_FALSE(second->keep_alive);
  EXPECT_TRUE(c->waitClosed());
  ASSERT_EQ(mesh.app.requestCount(), 1u);
  EXPECT_EQ(mesh.app.requests()[0].method, "GET");
  EXPECT_EQ(mesh.app.requests()[0].target, "/budget/read");
  EXPECT_EQ(mesh.app.requests()[0].body_bytes, 0u);
}

TEST_F(HttpSmugglingTest, PipelinedAllowedRequestsAreBothServedInOrder) {
  auto c = connect();
  ASSERT_TRUE(c->send(makeRequest("GET", "/budget/read") + makeRequest("GET", "/budget/read?n=2")));
  auto first = readJson(*c, 200);
  EXPECT_EQ(first["path"], "/budget/read");
  EXPECT_TRUE(last_keep_alive_);
  auto second = readJson(*c, 200);
  EXPECT_EQ(second["path"], "/budget/read?n=2");
  EXPECT_TRUE(last_keep_alive_);
  ASSERT_EQ(mesh.app.requestCount(), 2u);
  EXPECT_EQ(mesh.app.requests()[0].target, "/budget/read");
  EXPECT_EQ(mesh.app.requests()[1].target, "/budget/read?n=2");
  EXPECT_NE(first["request_id"], second["request_id"]);
}

// RFC 9112 §9.6: a server that receives "close" closes the connection after its
// response, and says so. The sidecar removes Connection with the other hop-by-hop fields
// before forwarding; the client's wish must survive that.
TEST_F(HttpSmugglingTest, ConnectionCloseFromTheClientClosesAfterTheResponse) {
  auto c = connect();
  ASSERT_TRUE(c->send(makeRequest("GET", "/budget/read", "Connection: close\r\n")));
  auto res = c->read();
  ASSERT_TRUE(res) << c->lastError();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->header("connection"), "close");
  EXPECT_FALSE(res->keep_alive);
  EXPECT_TRUE(c->waitClosed());
  ASSERT_EQ(mesh.app.requestCount(), 1u);
}

TEST_F(HttpSmugglingTest, Http10WithoutKeepAliveClosesAfterTheResponse) {
  auto c = connect();
  ASSERT_TRUE(c->send("GET /budget/read HTTP/1.0\r\n"s + kHost + "\r\n"));
  auto res = c->read();
  ASSERT_TRUE(res) << c->lastError();
  EXPECT_EQ(res->status, 200);
  EXPECT_FALSE(res->keep_alive);
  EXPECT_TRUE(c->waitClosed());
}

// --- Denials and the rest of the stream -------------------------------------------------

TEST_F(HttpSmugglingTest, DeniedRequestWithABodyClosesTheConnection) {
  // The unread body could be anything (including a request); the sidecar does not read it
  // for a request it refused, so it cannot tell where the next request starts.
  auto c = connect();
  ASSERT_TRUE(c->send(makeRequest("POST", "/budget/submit", "", "GET /budget/read HTTP/1.1")));
  auto res = c->read();
  ASSERT_TRUE(res) << c->lastError();
  EXPECT_EQ(res->status, 403);
  EXPECT_EQ(res->header("connection"), "close");
  EXPECT_FALSE(res->keep_alive);
  EXPECT_TRUE(c->waitClosed());
  EXPECT_EQ(mesh.app.requestCount(), 0u);
}

TEST_F(HttpSmugglingTest, DeniedChunkedRequestClosesTheConnection) {
  auto c = connect();
  ASSERT_TRUE(c->send("POST /budget/submit HTTP/1.1\r\n"s + kHost +
                      "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"));
  auto res = c->read();
  ASSERT_TRUE(res) << c->lastError();
  EXPECT_EQ(res->status, 403);
  EXPECT_FALSE(res->keep_alive);
  EXPECT_TRUE(c->waitClosed());
  EXPECT_EQ(mesh.app.requestCount(), 0u);
}

TEST_F(HttpSmugglingTest, DeniedBodilessRequestKeepsTheConnection) {
  auto c = connect();
  ASSERT_TRUE(c->send(makeRequest("GET", "/budget/submit")));
  auto res = c->read();
  ASSERT_TRUE(res) << c->lastError();
  EXPECT_EQ(res->status, 403);
  EXPECT_EQ(nlohmann::json::parse(res->body)["error"], "rule_denied");
  EXPECT_TRUE(res->keep_alive);
  EXPECT_EQ(res->header("connection"), "");
  EXPECT_EQ(mesh.app.requestCount(), 0u);
  ASSERT_TRUE(c->send(makeRequest("GET", "/budget/read")));
  auto body = readJson(*c, 200);
  EXPECT_EQ(body["path"], "/budget/read");
  EXPECT_EQ(mesh.app.requestCount(), 1u);
}

// --- Expect: 100-continue (RFC 9110 §10.1.1) --------------------------------------------

TEST_F(HttpSmugglingTest, ExpectContinueOnAllowedPostGets100ThenTheResponse) {
  auto c = connect();
  ASSERT_TRUE(c->send("POST /stream/upload HTTP/1.1\r\n"s + kHost +
                      "Content-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  auto interim = c->read();
  ASSERT_TRUE(interim) << "no 100 Continue before the body: " << c->lastError();
  EXPECT_EQ(interim->status, 100);
  EXPECT_EQ(mesh.app.requestCount(), 0u);
  ASSERT_TRUE(c->send("hello"));
  auto body = readJson(*c, 200);
  EXPECT_EQ(body["path"], "/stream/upload");
  EXPECT_EQ(body["body_bytes"], 5);
  ASSERT_EQ(mesh.app.requestCount(), 1u);
  // The expectation was met by the sidecar; the app must not be asked to meet it again.
  EXPECT_EQ(mesh.app.requests()[0].headers.count("expect"), 0u);
}

TEST_F(HttpSmugglingTest, ExpectContinueOnDeniedPostGets403AndNever100) {
  auto c = connect();
  ASSERT_TRUE(c->send("POST /budget/submit HTTP/1.1\r\n"s + kHost +
                      "Content-Length: 12\r\nExpect: 100-continue\r\n\r\n"));
  auto res = c->read();
  ASSERT_TRUE(res) << c->lastError();
  EXPECT_EQ(res->status, 403) << "a denied upload was invited with 100 Continue";
  EXPECT_EQ(nlohmann::json::parse(res->body)["error"], "rule_denied");
  EXPECT_FALSE(res->keep_alive);
  EXPECT_TRUE(c->waitClosed());
  EXPECT_EQ(mesh.app.requestCount(), 0u);
}

}  // namespace
}  // namespace warden::testing
