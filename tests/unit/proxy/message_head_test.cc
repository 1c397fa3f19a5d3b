// The heads the relay writes itself (message_head.h) and the header lines the sidecar adds
// (common/header_line.h, TokenFacts::header_lines): RFC 9112 §2.1 start lines, fields in
// their order, the sidecar's lines last, and no control character in any added value.
#include "proxy/message_head.h"

#include <gtest/gtest.h>

#include <boost/beast/http/message.hpp>

#include "common/header_line.h"
#include "common/token_facts.h"

namespace warden::proxy {
namespace {

namespace http = boost::beast::http;

TEST(MessageHeadTest, ARequestHeadKeepsFieldOrderAndEndsWithTheAddedLines) {
  http::request_header<> req;
  req.method(http::verb::get);
  req.target("/budget/read?x=1");
  req.version(11);
  req.insert(http::field::host, "budget");
  req.insert("X-Custom", "a");
  req.insert(http::field::accept, "*/*");
  std::string out = "stale bytes";
  serializeHead(req, out, "X-Forwarded-SPIFFE-ID: spiffe://example.org/a\r\n");
  EXPECT_EQ(out,
            "GET /budget/read?x=1 HTTP/1.1\r\n"
            "Host: budget\r\nX-Custom: a\r\nAccept: */*\r\n"
            "X-Forwarded-SPIFFE-ID: spiffe://example.org/a\r\n\r\n");
}

TEST(MessageHeadTest, AnUnknownMethodAndHttp10AreWrittenAsReceived) {
  http::request_header<> req;
  req.method_string("PURGE");
  req.target("/x");
  req.version(10);
  std::string out;
  serializeHead(req, out);
  EXPECT_EQ(out, "PURGE /x HTTP/1.0\r\n\r\n");
}

TEST(MessageHeadTest, AResponseKeepsItsReasonPhraseOrGetsTheStandardOne) {
  http::response_header<> res;
  res.result(404);
  res.version(11);
  res.reason("Nope");
  res.insert(http::field::content_length, "0");
  std::string out;
  serializeHead(res, out);
  EXPECT_EQ(out, "HTTP/1.1 404 Nope\r\nContent-Length: 0\r\n\r\n");

  http::response_header<> plain;
  plain.result(http::status::ok);
  plain.version(11);
  serializeHead(plain, out);
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\n\r\n");

  http::response_header<> odd;
  odd.result(299);  // unregistered codes pass through with an empty phrase
  odd.version(11);
  serializeHead(odd, out);
  EXPECT_EQ(out.substr(0, 13), "HTTP/1.1 299 ");
}

TEST(HeaderLineTest, ControlCharactersNeverReachALine) {
  std::string out;
  appendHeaderLine(out, "X-Warden-Token-Subject", "evil\r\nX-Forwarded-SPIFFE-ID: spiffe://x\x01");
  EXPECT_EQ(out, "X-Warden-Token-Subject: evilX-Forwarded-SPIFFE-ID: spiffe://x\r\n");
}

TEST(HeaderLineTest, PrerenderedTokenLinesEqualTheOnesRenderedPerRequest) {
  TokenFacts facts;
  facts.issuer = "https://issuer.example";
  facts.subject = "spiffe://example.org/budget-report";
  facts.audiences_csv = "budget-backend";
  facts.roles_csv = "Budget.Read,Budget.Submit";
  std::string per_request;
  appendHeaderLines(per_request, facts);
  EXPECT_EQ(per_request,
            "X-Warden-Token-Issuer: https://issuer.example\r\n"
            "X-Warden-Token-Subject: spiffe://example.org/budget-report\r\n"
            "X-Warden-Token-Audience: budget-backend\r\n"
            "X-Warden-Token-Roles: Budget.Read,Budget.Submit\r\n")
      << "no Client-Id line when the token has no client";
  renderHeaderLines(facts);
  EXPECT_EQ(facts.header_lines, per_request);
  std::string cached;
  appendHeaderLines(cached, facts);
  EXPECT_EQ(cached, per_request);
}

}  // namespace
}  // namespace warden::proxy
