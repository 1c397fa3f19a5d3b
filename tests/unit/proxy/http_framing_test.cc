// The strict HTTP/1.1 framing layer in front of Beast (proxy/http_framing.h): the raw
// header-block scan, the post-parse Content-Length / Transfer-Encoding / Host checks and
// hop-by-hop field removal. Each case names the RFC 9112 / RFC 9110 rule it stands for;
// the integration counterpart (through a real sidecar) is
// tests/integration/http_smuggling_test.cc.
#include <gtest/gtest.h>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/verb.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proxy/http_framing.h"

namespace warden::proxy {
namespace {

namespace http = boost::beast::http;
using namespace std::string_literals;

// ---------------------------------------------------------------------------------------
// scanHeaderBlock

struct Scan {
  HeaderScan result;
  std::size_t end = 0;
  std::string why;
};

Scan scan(std::string_view bytes) {
  Scan s;
  std::string_view why;
  s.end = 12345;  // sentinel: must be left alone unless the head is complete
  s.result = scanHeaderBlock(bytes, s.end, why);
  s.why = std::string(why);
  return s;
}

constexpr std::string_view kCleanHead =
    "POST /budget/submit HTTP/1.1\r\n"
    "Host: budget-backend\r\n"
    "Content-Length: 5\r\n"
    "\r\n";

TEST(ScanHeaderBlockTest, CleanHeadIsCompleteAndEndsAfterTheEmptyLine) {
  const Scan s = scan(kCleanHead);
  EXPECT_EQ(s.result, HeaderScan::kComplete);
  EXPECT_EQ(s.end, kCleanHead.size());
  EXPECT_TRUE(s.why.empty());
}

TEST(ScanHeaderBlockTest, EndExcludesTheBodyAndAPipelinedRequest) {
  // RFC 9112 §2.1: the head ends at the first empty line; what follows (body, next
  // request) is not header bytes and must not be scanned as such, even when it holds
  // bytes that would be malformed in a head.
  const std::string bytes = std::string(kCleanHead) + "he\nl\0o"s + "GET / HTTP/1.1\n\n";
  const Scan s = scan(bytes);
  EXPECT_EQ(s.result, HeaderScan::kComplete);
  EXPECT_EQ(s.end, kCleanHead.size());
}

TEST(ScanHeaderBlockTest, EveryProperPrefixOfACleanHeadNeedsMore) {
  // Whatever the TCP/TLS segmentation, a clean head is never rejected early, and never
  // reported complete before its final CRLF CRLF (a split between the CR and LF of the
  // terminator included).
  for (std::size_t n = 0; n < kCleanHead.size(); ++n) {
    const Scan s = scan(kCleanHead.substr(0, n));
    EXPECT_EQ(s.result, HeaderScan::kNeedMore) << "prefix of " << n << " bytes: " << s.why;
    EXPECT_EQ(s.end, 12345u) << "end written for an incomplete head";
  }
}

TEST(ScanHeaderBlockTest, MinimalHeadWithoutFields) {
  // RFC 9112 §2.1: start-line CRLF *( field-line CRLF ) CRLF, zero fields allowed.
  const Scan s = scan("GET / HTTP/1.0\r\n\r\n");
  EXPECT_EQ(s.result, HeaderScan::kComplete);
  EXPECT_EQ(s.end, 18u);
}

struct MalformedCase {
  std::string_view name;
  std::string bytes;
  std::string_view why;
};

TEST(ScanHeaderBlockTest, RejectsWhatRfc9112LetsARecipientReject) {
  const std::vector<MalformedCase> cases = {
      // RFC 9112 §2.2: a recipient MAY accept a bare LF as a line terminator; a proxy must
      // not, because the app behind it may not (one side sees two fields, the other one).
      {"bare LF ends the request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", "bare LF in header"},
      {"bare LF ends a field line", "GET / HTTP/1.1\r\nHost: a\nX: 1\r\n\r\n", "bare LF in header"},
      {"bare LF ends the head", "GET / HTTP/1.1\r\nHost: a\r\n\n", "bare LF in header"},
      {"head of bare LFs only", "GET / HTTP/1.1\nHost: a\n\n", "bare LF in header"},
      {"LF as the very first byte", "\nGET / HTTP/1.1\r\n\r\n", "bare LF in header"},
      // RFC 9112 §2.2: a bare CR outside content MUST be rejected or replaced by SP.
      {"bare CR in a field value", "GET / HTTP/1.1\r\nHost: a\rX: 1\r\n\r\n", "bare CR in header"},
      {"bare CR in the request line", "GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n", "bare CR in header"},
      {"CR then a non-LF where the head should end", "GET / HTTP/1.1\r\nHost: a\r\n\rX",
       "bare CR in header"},
      // RFC 9110 §5.5: field values never contain NUL; a recipient MUST reject or replace.
      {"NUL in a field value", "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n"s, "NUL byte in header"},
      {"NUL in the request line", "GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n"s, "NUL byte in header"},
      {"NUL before the head is complete", "GET / HTTP/1.1\r\nHo\0"s, "NUL byte in header"},
      // RFC 9112 §5.2: obs-fold (a line starting with SP or HTAB) may be rejected with 400.
      {"obs-fold with SP", "GET / HTTP/1.1\r\nX-A: 1\r\n 2\r\nHost: a\r\n\r\n",
       "obsolete line folding in header"},
      {"obs-fold with HTAB", "GET / HTTP/1.1\r\nX-A: 1\r\n\t2\r\nHost: a\r\n\r\n",
       "obsolete line folding in header"},
      // RFC 9112 §2.2: whitespace between the start-line and the first field line is a
      // smuggling vector and MUST be rejected (or the line ignored); it is the same shape.
      {"whitespace before the first field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n",
       "obsolete line folding in header"},
  };
  for (const auto& c : cases) {
    const Scan s = scan(c.bytes);
    EXPECT_EQ(s.result, HeaderScan::kMalformed) << c.name;
    EXPECT_EQ(s.why, c.why) << c.name;
    EXPECT_EQ(s.end, 12345u) << c.name << ": end written for a malformed head";
  }
}

TEST(ScanHeaderBlockTest, BadBytesAreFoundBeforeTheHeadIsComplete) {
  // The scan must reject as soon as the bad byte arrives, not wait for the CRLF CRLF that
  // an attacker may never send (otherwise the connection idles until the header timeout).
  EXPECT_EQ(scan("GET / HTTP/1.1\nHo").result, HeaderScan::kMalformed);
  EXPECT_EQ(scan("GET / HTTP/1.1\r\nX: 1\r\n\tmore").result, HeaderScan::kMalformed);
  EXPECT_EQ(scan("GET / HTTP/1.1\r\nX: a\rb").result, HeaderScan::kMalformed);
}

TEST(ScanHeaderBlockTest, BadBytesAreFoundAtEveryOffsetOfALongLine) {
  // The scan skips eight bytes at a time between CR/LF/NUL; a bad byte must be found
  // wherever it falls in a word, and in the byte-wise tail after the last whole word.
  const std::string prefix = "GET / HTTP/1.1\r\nAuthorization: Bearer ";
  for (std::size_t at = 0; at < 40; ++at) {
    for (const char bad : {'\0', '\r', '\n'}) {
      std::string line(40, 'a');
      line[at] = bad;
      const std::string bytes = prefix + line + "\r\n\r\n";
      EXPECT_EQ(scan(bytes).result, HeaderScan::kMalformed)
          << "byte " << static_cast<int>(bad) << " at " << at;
    }
  }
  const std::string clean = prefix + std::string(1000, 'x') + "\r\n\r\n";
  EXPECT_EQ(scan(clean).result, HeaderScan::kComplete);
  EXPECT_EQ(scan(clean).end, clean.size());
  // High bytes (obs-text) are not line bytes: 0x8D / 0x8A must not be mistaken for CR / LF.
  const std::string high = prefix + "\x8d\x8a\x80\xff\x8d\x8a\x8d\x8a\x8d" + "\r\n";
  EXPECT_EQ(scan(high).result, HeaderScan::kNeedMore);
}

TEST(ScanHeaderBlockTest, TrailingCrOrCrlfWaitsForTheNextByte) {
  // A CR or a CRLF at the end of the bytes received so far cannot be judged yet: the next
  // byte decides between a line end, the end of the head, obs-fold or a bare CR.
  EXPECT_EQ(scan("GET / HTTP/1.1\r").result, HeaderScan::kNeedMore);
  EXPECT_EQ(scan("GET / HTTP/1.1\r\n").result, HeaderScan::kNeedMore);
  EXPECT_EQ(scan("GET / HTTP/1.1\r\nHost: a\r\n\r").result, HeaderScan::kNeedMore);
}

// ---------------------------------------------------------------------------------------
// checkRequestFraming / checkResponseFraming

http::request_header<> request(unsigned version,
                               std::vector<std::pair<std::string, std::string>> fields) {
  http::request_header<> h;
  h.method(http::verb::post);
  h.target("/budget/submit");
  h.version(version);
  // insert(), not set(): repeated fields must stay repeated, as the parser delivers them.
  for (const auto& [name, value] : fields)
    h.insert(name, value);
  return h;
}

http::response_header<> response(unsigned version,
                                 std::vector<std::pair<std::string, std::string>> fields) {
  http::response_header<> h;
  h.result(http::status::ok);
  h.version(version);
  for (const auto& [name, value] : fields)
    h.insert(name, value);
  return h;
}

TEST(CheckRequestFramingTest, AcceptsOrdinaryRequests) {
  EXPECT_EQ(checkRequestFraming(request(11, {{"Host", "budget-backend"}})), "");
  EXPECT_EQ(checkRequestFraming(request(11, {{"Host", "b"}, {"Content-Length", "5"}})), "");
  EXPECT_EQ(checkRequestFraming(request(11, {{"Host", "b"}, {"Transfer-Encoding", "chunked"}})),
            "");
  // RFC 9112 §7: transfer-coding names are case-insensitive.
  EXPECT_EQ(checkRequestFraming(request(11, {{"Host", "b"}, {"Transfer-Encoding", "Chunked"}})),
            "");
  // RFC 9112 §3.2: an empty Host is valid when the target URI has no authority.
  EXPECT_EQ(checkRequestFraming(request(11, {{"Host", ""}})), "");
  // RFC 9112 §3.2: Host is required of HTTP/1.1 only.
  EXPECT_EQ(checkRequestFraming(request(10, {})), "");
  EXPECT_EQ(checkRequestFraming(request(10, {{"Content-Length", "0"}})), "");
}

TEST(CheckRequestFramingTest, RejectsRepeatedOrListValuedContentLength) {
  // RFC 9112 §6.3 item 5 lets a recipient accept "5, 5" or two equal fields as one; a proxy
  // that does so hands the app a message whose framing it must then re-derive. Rejected.
  EXPECT_EQ(checkRequestFraming(
                request(11, {{"Host", "b"}, {"Content-Length", "5"}, {"Content-Length", "5"}})),
            "repeated Content-Length");
  EXPECT_EQ(checkRequestFraming(
                request(11, {{"Host", "b"}, {"Content-Length", "5"}, {"Content-Length", "6"}})),
            "repeated Content-Length");
  EXPECT_EQ(checkRequestFraming(request(11, {{"Host", "b"}, {"Content-Length", "5, 5"}})),
            "Content-Length must be one number");
  EXPECT_EQ(checkRequestFraming(request(11, {{"Host", "b"}, {"Content-Length", "5,"}})),
            "Content-Length must be one number");
  // The same on HTTP/1.0, where there is no chunked alternative to fall back on.
  EXPECT_EQ(checkRequestFraming(request(10, {{"Content-Length", "5"}, {"Content-Length", "5"}})),
            "repeated Content-Length");
}

TEST(CheckRequestFramingTest, RejectsTransferEncodingOtherThanExactlyChunked) {
  // RFC 9112 §6.3 item 4: a request whose final coding is not chunked has no determinable
  // length (400); any coding before chunked is one the app may decode differently.
  for (const char* te : {"gzip, chunked", "chunked, identity", "xchunked", "identity", "gzip",
                         "chunked;q=1", "chunked,", ""}) {
    EXPECT_NE(checkRequestFraming(request(11, {{"Host", "b"}, {"Transfer-Encoding", te}})), "")
        << "Transfer-Encoding: " << te;
  }
  // Two fields that together read "chunked, chunked" (RFC 9110 §5.3 combines them).
  EXPECT_NE(
      checkRequestFraming(request(
          11, {{"Host", "b"}, {"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}})),
      "");
  EXPECT_EQ(
      checkRequestFraming(request(
          11, {{"Host", "b"}, {"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}})),
      "repeated Transfer-Encoding");
}

TEST(CheckRequestFramingTest, RejectsTransferEncodingOnHttp10) {
  // RFC 9112 §6.1: a recipient of an HTTP/1.0 message with Transfer-Encoding MUST treat
  // its framing as faulty (1.0 apps do not know chunked); refusing it is the safe reading.
  EXPECT_EQ(checkRequestFraming(request(10, {{"Transfer-Encoding", "chunked"}})),
            "Transfer-Encoding on HTTP/1.0");
  EXPECT_EQ(checkRequestFraming(request(10, {{"Host", "b"}, {"Transfer-Encoding", "chunked"}})),
            "Transfer-Encoding on HTTP/1.0");
}

TEST(CheckRequestFramingTest, RequiresExactlyOneHostOnHttp11) {
  // RFC 9112 §3.2: a server MUST respond 400 to an HTTP/1.1 request without Host or with
  // more than one Host field.
  EXPECT_EQ(checkRequestFraming(request(11, {})), "missing Host header");
  EXPECT_EQ(checkRequestFraming(request(11, {{"Content-Length", "5"}})), "missing Host header");
  EXPECT_EQ(checkRequestFraming(request(11, {{"Host", "a"}, {"Host", "a"}})),
            "repeated Host header");
  EXPECT_EQ(checkRequestFraming(request(11, {{"Host", "a"}, {"host", "b"}})),
            "repeated Host header");
}

TEST(CheckRequestFramingTest, LengthProblemsAreReportedBeforeHostProblems) {
  // Both are 400; the order only fixes which reason the client reads.
  EXPECT_EQ(checkRequestFraming(request(11, {{"Content-Length", "1, 1"}})),
            "Content-Length must be one number");
}

TEST(CheckResponseFramingTest, AppliesTheLengthRulesButNotHost) {
  EXPECT_EQ(checkResponseFraming(response(11, {})), "");
  EXPECT_EQ(checkResponseFraming(response(11, {{"Content-Length", "12"}})), "");
  EXPECT_EQ(checkResponseFraming(response(11, {{"Transfer-Encoding", "chunked"}})), "");
  EXPECT_EQ(checkResponseFraming(response(10, {{"Content-Length", "3"}})), "");
  // RFC 9112 §6.3 item 5: the same ambiguity, from the upstream side (response splitting).
  EXPECT_EQ(checkResponseFraming(response(11, {{"Content-Length", "3"}, {"Content-Length", "3"}})),
            "repeated Content-Length");
  EXPECT_EQ(checkResponseFraming(response(11, {{"Content-Length", "3, 3"}})),
            "Content-Length must be one number");
  EXPECT_NE(checkResponseFraming(response(11, {{"Transfer-Encoding", "gzip, chunked"}})), "");
  EXPECT_NE(checkResponseFraming(response(11, {{"Transfer-Encoding", "chunked, gzip"}})), "");
  EXPECT_EQ(checkResponseFraming(response(10, {{"Transfer-Encoding", "chunked"}})),
            "Transfer-Encoding on HTTP/1.0");
}

// ---------------------------------------------------------------------------------------
// removeHopByHopFields

std::vector<std::string> names(const http::fields& f) {
  std::vector<std::string> out;
  for (const auto& field : f)
    out.emplace_back(field.name_string());
  return out;
}

TEST(RemoveHopByHopFieldsTest, RemovesTheFixedSetAndKeepsEndToEndFields) {
  // RFC 9110 §7.6.1 (Connection, and the fields it names), §7.6.1's list of fields that
  // are hop-by-hop by definition (Keep-Alive, Proxy-Connection, TE, Upgrade), §6.6.2
  // (Trailer is about this hop's chunked coding), §11.7 (Proxy-Authorization/-Authenticate
  // are for the proxy that consumes them).
  http::fields f;
  f.insert("Host", "budget-backend");
  f.insert("Connection", "keep-alive");
  f.insert("Keep-Alive", "timeout=5");
  f.insert("Proxy-Connection", "keep-alive");
  f.insert("TE", "trailers");
  f.insert("Trailer", "X-Checksum");
  f.insert("Upgrade", "websocket");
  f.insert("Proxy-Authorization", "Basic Zm9vOmJhcg==");
  f.insert("Proxy-Authenticate", "Basic");
  f.insert("Content-Type", "application/json");
  f.insert("Authorization", "Bearer t");
  f.insert("Content-Length", "12");
  removeHopByHopFields(f);
  EXPECT_EQ(names(f),
            (std::vector<std::string>{"Host", "Content-Type", "Authorization", "Content-Length"}));
}

TEST(RemoveHopByHopFieldsTest, RemovesFieldsNamedInConnectionCaseInsensitively) {
  // RFC 9110 §7.6.1: connection options are case-insensitive field names; every
  // Connection field counts (RFC 9110 §5.3 combines repeated fields into one list).
  http::fields f;
  f.insert("Host", "b");
  f.insert("Connection", "X-Hop-One ,x-hop-two");
  f.insert("Connection", "X-HOP-THREE");
  f.insert("x-hop-one", "1");
  f.insert("X-Hop-Two", "2");
  f.insert("X-Hop-Two", "2b");
  f.insert("x-hop-three", "3");
  f.insert("X-End-To-End", "kept");
  removeHopByHopFields(f);
  EXPECT_EQ(names(f), (std::vector<std::string>{"Host", "X-End-To-End"}));
}

TEST(RemoveHopByHopFieldsTest, ConnectionCannotRemoveContentLengthOrTransferEncoding) {
  // RFC 9110 §7.6.1: a sender MUST NOT list a field meant for all recipients (framing is);
  // obeying such a list would forward a body without its framing, so the app would read
  // the body as the next request.
  http::fields f;
  f.insert("Host", "b");
  f.insert("Connection", "Content-Length, transfer-encoding, TRANSFER-ENCODING");
  f.insert("Content-Length", "5");
  removeHopByHopFields(f);
  EXPECT_EQ(f[http::field::content_length], "5");
  EXPECT_EQ(f.count(http::field::connection), 0u);

  http::fields chunked;
  chunked.insert("Host", "b");
  chunked.insert("Connection", "close, content-length");
  chunked.insert("Connection", "Transfer-Encoding");
  chunked.insert("Transfer-Encoding", "chunked");
  removeHopByHopFields(chunked);
  EXPECT_EQ(chunked[http::field::transfer_encoding], "chunked");
  EXPECT_EQ(chunked.count(http::field::connection), 0u);
}

TEST(RemoveHopByHopFieldsTest, ConnectionCannotRemoveHost) {
  // RFC 9112 §3.2: every HTTP/1.1 request carries Host; removing it because a client
  // named it in Connection would send the app an invalid request.
  http::fields f;
  f.insert("Host", "budget-backend");
  f.insert("Connection", "host");
  removeHopByHopFields(f);
  EXPECT_EQ(f[http::field::host], "budget-backend");
}

TEST(RemoveHopByHopFieldsTest, NoConnectionFieldLeavesOtherFieldsAlone) {
  http::fields f;
  f.insert("Host", "b");
  f.insert("X-A", "1");
  f.insert("X-A", "2");
  removeHopByHopFields(f);
  EXPECT_EQ(names(f), (std::vector<std::string>{"Host", "X-A", "X-A"}));
}

}  // namespace
}  // namespace warden::proxy
