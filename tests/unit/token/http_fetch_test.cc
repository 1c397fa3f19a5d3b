// httpFetch's request options beyond GET/POST (token/http_fetch.h): any method, extra
// headers (and the refusal of injected ones), the ETag of the answer, and streamed bodies.
// A one-connection plaintext server on 127.0.0.1 records what arrives and answers with
// canned bytes.
#include "token/http_fetch.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

namespace warden::token {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// Accepts one connection, reads one request (head + Content-Length body), writes the
// answer's pieces with a short pause between them, then closes.
class OneShotServer {
 public:
  explicit OneShotServer(std::vector<std::string> pieces)
      : acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this, pieces = std::move(pieces)] {
      boost::system::error_code ec;
      tcp::socket socket(ioc_);
      acceptor_.accept(socket, ec);
      if (ec) return;
      std::string data;
      auto n = asio::read_until(socket, asio::dynamic_buffer(data), "\r\n\r\n", ec);
      if (ec) return;
      std::string head = data.substr(0, n);
      std::string body = data.substr(n);
      std::size_t length = 0;
      for (const std::string key : {"Content-Length: ", "content-length: "}) {
        if (auto at = head.find(key); at != std::string::npos) {
          length = std::stoul(head.substr(at + key.size()));
        }
      }
      if (body.size() < length) {
        std::string rest(length - body.size(), '\0');
        asio::read(socket, asio::buffer(rest), ec);
        body += rest;
      }
      request_.set_value(head + body);
      for (const auto& p : pieces) {
        asio::write(socket, asio::buffer(p), ec);
        if (ec) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      socket.shutdown(tcp::socket::shutdown_both, ec);
    });
  }
  ~OneShotServer() {
    // Unblocks an accept() still waiting (a test that never connected): the thread then
    // reads EOF and ends.
    boost::system::error_code ec;
    asio::io_context ioc;
    tcp::socket wake(ioc);
    wake.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
    wake.close(ec);
    thread_.join();
  }

  FetchUrl url(const std::string& target = "/x") const {
    return parseFetchUrl("http://127.0.0.1:" + std::to_string(port_) + target).value();
  }
  std::string request() {
    auto f = request_.get_future();
    return f.wait_for(std::chrono::seconds(5)) == std::future_status::ready ? f.get() : "";
  }

 private:
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::promise<std::string> request_;
  std::thread thread_;
};

HttpFetchResult fetch(const HttpFetchRequest& request) {
  asio::io_context ioc;
  auto f = asio::co_spawn(ioc, httpFetch(request), asio::use_future);
  ioc.run();
  return f.get();
}

TEST(HttpFetchTest, PutWithHeadersBodyAndTheEtagBack) {
  OneShotServer server({"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nETag: \"policy:a:2\"\r\n"
                        "Content-Length: 2\r\nConnection: close\r\n\r\n{}"});
  const auto url = server.url("/api/v1/policies/a");
  HttpFetchRequest r;
  r.url = &url;
  r.method = "PUT";
  r.body = R"({"content":"x"})";
  r.content_type = "application/json";
  r.headers = {{"If-Match", "\"policy:a:1\""}, {"Authorization", "Bearer abc"}};
  const auto res = fetch(r);
  ASSERT_TRUE(res.ok) << res.error;
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.etag, "\"policy:a:2\"");
  EXPECT_EQ(res.body, "{}");
  const std::string seen = server.request();
  EXPECT_EQ(seen.rfind("PUT /api/v1/policies/a HTTP/1.1\r\n", 0), 0u) << seen;
  EXPECT_NE(seen.find("If-Match: \"policy:a:1\"\r\n"), std::string::npos) << seen;
  EXPECT_NE(seen.find("Authorization: Bearer abc\r\n"), std::string::npos) << seen;
  EXPECT_NE(seen.find("Content-Type: application/json\r\n"), std::string::npos) << seen;
  EXPECT_NE(seen.find("\r\n\r\n{\"content\":\"x\"}"), std::string::npos) << seen;
}

TEST(HttpFetchTest, DeleteSendsNoBodyAndLegacyPostStillPosts) {
  {
    OneShotServer server({"HTTP/1.1 412 Precondition Failed\r\nContent-Length: 5\r\n\r\nstale"});
    const auto url = server.url("/api/v1/agents/a");
    HttpFetchRequest r;
    r.url = &url;
    r.method = "DELETE";
    const auto res = fetch(r);
    ASSERT_TRUE(res.ok) << res.error;
    EXPECT_EQ(res.status, 412);
    EXPECT_EQ(res.body, "stale");
    EXPECT_EQ(res.etag, "");
    const std::string seen = server.request();
    EXPECT_EQ(seen.rfind("DELETE /api/v1/agents/a HTTP/1.1\r\n", 0), 0u) << seen;
    EXPECT_EQ(seen.find("Content-Type"), std::string::npos) << seen;
  }
  {
    OneShotServer server({"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"});
    const auto url = server.url("/token");
    HttpFetchRequest r;
    r.url = &url;
    r.post = true;
    r.body = "a=b";
    r.content_type = "application/x-www-form-urlencoded";
    const auto res = fetch(r);
    ASSERT_TRUE(res.ok) << res.error;
    const std::string seen = server.request();
    EXPECT_EQ(seen.rfind("POST /token HTTP/1.1\r\n", 0), 0u) << seen;
    EXPECT_NE(seen.find("Content-Type: application/x-www-form-urlencoded\r\n"), std::string::npos);
  }
}

TEST(HttpFetchTest, InjectedHeadersAndUnknownMethodsAreRefusedBeforeConnecting) {
  const auto url = parseFetchUrl("http://127.0.0.1:1/x").value();  // nothing is contacted
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"If-Match", "\"a\"\r\nX-Injected: 1"}, {"X-A\r\nX-B", "1"}, {"Bad Name", "1"},
           {"", "1"}, {"If-Match", std::string("a\0b", 3)}}) {
    HttpFetchRequest r;
    r.url = &url;
    r.headers = {{name, value}};
    const auto res = fetch(r);
    EXPECT_FALSE(res.ok);
    EXPECT_NE(res.error.find("malformed request header"), std::string::npos) << res.error;
  }
  HttpFetchRequest r;
  r.url = &url;
  r.method = "BREW";
  const auto res = fetch(r);
  EXPECT_FALSE(res.ok);
  EXPECT_NE(res.error.find("unsupported method"), std::string::npos) << res.error;
}

TEST(HttpFetchTest, StreamedBodyArrivesPieceByPieceUntilTheCallbackStops) {
  // Two events a second apart: the first must be handed over while the second is not sent
  // yet, and stopping after it ends the exchange without waiting for the rest.
  std::vector<std::string> pieces{"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                  "Transfer-Encoding: chunked\r\n\r\n",
                                  "d\r\n: connected\n\n\r\n", "10\r\nid: 1\ndata: {}\n\n\r\n"};
  pieces.resize(pieces.size() + 50);  // empty writes, 20 ms apart
  pieces.push_back("10\r\nid: 2\ndata: {}\n\n\r\n");
  pieces.push_back("0\r\n\r\n");
  OneShotServer server(std::move(pieces));
  const auto url = server.url("/api/v1/audit/stream");
  HttpFetchRequest r;
  r.url = &url;
  r.timeout = std::chrono::seconds(5);
  std::string got;
  int calls = 0;
  r.on_body = [&](std::string_view piece) {
    ++calls;
    got.append(piece);
    return got.find("id: 1\n") == std::string::npos;  // stop after the first event
  };
  const auto started = std::chrono::steady_clock::now();
  const auto res = fetch(r);
  ASSERT_TRUE(res.ok) << res.error;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(800));
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.content_type, "text/event-stream");
  EXPECT_EQ(got, ": connected\n\nid: 1\ndata: {}\n\n");
  EXPECT_GE(calls, 1);
  EXPECT_TRUE(res.body.empty());
}

TEST(HttpFetchTest, StreamedRequestCollectsAnErrorBodyAndEndsOnSilence) {
  {
    OneShotServer server({"HTTP/1.1 401 Unauthorized\r\nContent-Length: 7\r\n\r\n", "{\"a\":1}"});
    const auto url = server.url();
    HttpFetchRequest r;
    r.url = &url;
    bool called = false;
    r.on_body = [&](std::string_view) { return called = true; };
    const auto res = fetch(r);
    ASSERT_TRUE(res.ok) << res.error;
    EXPECT_EQ(res.status, 401);
    EXPECT_EQ(res.body, "{\"a\":1}");
    EXPECT_FALSE(called);
  }
  {
    // The head, one piece, then a second of nothing (empty writes, 20 ms apart).
    std::vector<std::string> pieces(50);
    pieces[0] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n";
    OneShotServer server(std::move(pieces));
    const auto url = server.url();
    HttpFetchRequest r;
    r.url = &url;
    r.timeout = std::chrono::milliseconds(100);
    std::string got;
    r.on_body = [&](std::string_view piece) {
      got.append(piece);
      return true;
    };
    const auto res = fetch(r);
    EXPECT_EQ(got, "abc");
    EXPECT_FALSE(res.ok);
    EXPECT_NE(res.error.find("timed out"), std::string::npos) << res.error;
  }
}

}  // namespace
}  // namespace warden::token
