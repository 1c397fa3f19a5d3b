// The demo mesh's sample agent app (`warden sample-agent`), run as the real process: what
// it echoes of the sidecar's verified headers, its routes, and how an agent's /call relays
// through its sidecar's egress (here a fake egress that records what it was sent).
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <csignal>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/http_client_harness.h"
#include "support/process_harness.h"
#include "support/test_env.h"
#include "support/test_pki.h"

namespace warden::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using json = nlohmann::json;
using namespace std::chrono_literals;

// What the fake egress received.
struct EgressSeen {
  std::string method, target, host, content_type, body;
};

// Stands in for the sidecar's egress listener: answers every request with one canned
// response and records it. Its own I/O thread; stop() (or the destructor) ends it.
class FakeEgress {
 public:
  FakeEgress(int status, std::string body, std::string content_type = "application/json")
      : status_(status), body_(std::move(body)), content_type_(std::move(content_type)) {
    acceptor_.emplace(ioc_, asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    port_ = acceptor_->local_endpoint().port();
    asio::co_spawn(ioc_, acceptLoop(), asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~FakeEgress() {
    ioc_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return port_; }
  std::vector<EgressSeen> seen() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  asio::awaitable<void> acceptLoop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_->async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec)
        co_return;
      asio::co_spawn(ioc_, serve(beast::tcp_stream(std::move(socket))), asio::detached);
    }
  }
  asio::awaitable<void> serve(beast::tcp_stream stream) {
    constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
    stream.expires_after(5s);
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    auto [ec, n] = co_await http::async_read(stream, buffer, req, kTuple);
    if (ec)
      co_return;
    {
      std::lock_guard lock(mutex_);
      seen_.push_back({std::string(req.method_string()), std::string(req.target()),
                       std::string(req[http::field::host]),
                       std::string(req[http::field::content_type]), req.body()});
    }
    http::response<http::string_body> res{static_cast<http::status>(status_), 11};
    res.set(http::field::content_type, content_type_);
    res.body() = body_;
    res.keep_alive(false);
    res.prepare_payload();
    co_await http::async_write(stream, res, kTuple);
  }

  const int status_;
  const std::string body_, content_type_;
  asio::io_context ioc_{1};
  std::optional<asio::ip::tcp::acceptor> acceptor_;
  std::uint16_t port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<EgressSeen> seen_;
};

// A loopback port nobody listens on: bound, read, released.
std::uint16_t closedPort() {
  asio::io_context ioc;
  asio::ip::tcp::acceptor a(ioc, asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  return a.local_endpoint().port();
}

struct RunningAgent {
  std::unique_ptr<ChildProcess> process;
  std::uint16_t port = 0;
};

class SampleAgentTest : public ::testing::Test {
 protected:
  // Starts `warden sample-agent` on an ephemeral port and reads the port from its ready line.
  RunningAgent start(const std::string& name, const std::string& role,
                     std::optional<std::uint16_t> egress = std::nullopt) {
    std::vector<std::string> argv{WARDEN_BINARY, "sample-agent", "--name",   name,
                                  "--role",      role,           "--listen", "127.0.0.1:0"};
    if (egress)
      argv.insert(argv.end(), {"--egress", "127.0.0.1:" + std::to_string(*egress)});
    RunningAgent agent;
    agent.process = std::make_unique<ChildProcess>(argv, dir.path());
    const std::string ready = "sample agent " + name + " listening on 127.0.0.1:";
    const bool up = waitUntil(
        [&] {
          const auto out = agent.process->out();
          const auto at = out.find(ready);
          return at != std::string::npos && out.find('\n', at) != std::string::npos;
        },
        15s);
    EXPECT_TRUE(up) << agent.process->out() << agent.process->err();
    if (!up)
      return agent;
    const auto out = agent.process->out();
    agent.port = static_cast<std::uint16_t>(std::stoi(out.substr(out.find(ready) + ready.size())));
    return agent;
  }

  // One request on a fresh connection; the body parsed as JSON (null when it is not).
  static std::pair<HttpResponse, json> call(std::uint16_t port, const std::string& request) {
    auto c = TestConnection::plain(port);
    EXPECT_NE(c, nullptr);
    if (c == nullptr)
      return {};
    EXPECT_TRUE(c->send(request));
    auto res = c->read(false, 15s);
    EXPECT_TRUE(res.has_value()) << c->lastError();
    if (!res)
      return {};
    return {*res, json::parse(res->body, nullptr, false)};
  }
  static std::pair<HttpResponse, json> get(std::uint16_t port, const std::string& target) {
    return call(port, makeRequest("GET", target));
  }

  TempDir dir;
};

TEST_F(SampleAgentTest, BackendEchoesTheVerifiedIdentityAndTokenHeadersExactly) {
  auto backend = start("budget-backend", "backend");
  ASSERT_NE(backend.port, 0);

  auto [health, health_body] = get(backend.port, "/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.header("content-type"), "application/json");
  EXPECT_EQ(health_body,
            (json{{"status", "healthy"}, {"agent", "budget-backend"}, {"role", "backend"}}));

  const std::string xfcc =
      "By=spiffe://example.org/budget-backend;Hash=0a1b2c3d;URI=spiffe://example.org/budget-report";
  const std::string headers =
      "X-Forwarded-SPIFFE-ID: spiffe://example.org/budget-report\r\n"
      "X-Forwarded-Client-Cert: " +
      xfcc +
      "\r\n"
      "X-Request-ID: 7f3c0d2e-1111-4222-8333-944445555666\r\n"
      "X-Warden-Token-Issuer: https://issuer.example.org\r\n"
      "X-Warden-Token-Subject: spiffe://example.org/budget-report\r\n"
      "X-Warden-Token-Client-Id: budget-report\r\n"
      "X-Warden-Token-Audience: budget-backend, https://api.example.org\r\n"
      "X-Warden-Token-Roles: budget.read,budget.submit\r\n"
      "Authorization: Bearer must-never-be-echoed\r\n";
  // Keep-alive: read, submit and admin on one connection.
  auto c = TestConnection::plain(backend.port);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->send(makeRequest("GET", "/budget/read", headers)));
  auto read = c->read(false, 10s);
  ASSERT_TRUE(read) << c->lastError();
  EXPECT_EQ(read->status, 200);
  EXPECT_TRUE(read->keep_alive);
  const auto body = json::parse(read->body, nullptr, false);
  EXPECT_EQ(body["agent"], "budget-backend");
  EXPECT_EQ(body["operation"], "read");
  EXPECT_EQ(body["identity"], (json{{"spiffe_id", "spiffe://example.org/budget-report"},
                                    {"request_id", "7f3c0d2e-1111-4222-8333-944445555666"},
                                    {"xfcc", xfcc}}));
  EXPECT_EQ(body["token"], (json{{"present", true},
                                 {"issuer", "https://issuer.example.org"},
                                 {"subject", "spiffe://example.org/budget-report"},
                                 {"client_id", "budget-report"},
                                 {"audience", {"budget-backend", "https://api.example.org"}},
                                 {"roles", {"budget.read", "budget.submit"}}}));
  ASSERT_TRUE(body["data"]["lines"].is_array());
  EXPECT_FALSE(body["data"]["lines"].empty());
  EXPECT_EQ(read->body.find("must-never-be-echoed"), std::string::npos);

  // No token headers: present is false and the lists are empty.
  ASSERT_TRUE(c->send(makeRequest("POST", "/budget/submit", "Content-Type: application/json\r\n",
                                  R"({"amount":1200})")));
  auto submit = c->read(false, 10s);
  ASSERT_TRUE(submit) << c->lastError();
  EXPECT_EQ(submit->status, 200);
  const auto submitted = json::parse(submit->body, nullptr, false);
  EXPECT_EQ(submitted["operation"], "submit");
  EXPECT_EQ(submitted["accepted"], true);
  EXPECT_EQ(submitted["bytes"], 15);
  EXPECT_EQ(submitted["identity"]["spiffe_id"], "");
  EXPECT_EQ(submitted["token"], (json{{"present", false},
                                      {"issuer", ""},
                                      {"subject", ""},
                                      {"client_id", ""},
                                      {"audience", json::array()},
                                      {"roles", json::array()}}));

  ASSERT_TRUE(c->send(makeRequest("DELETE", "/budget/admin", headers)));
  auto admin = c->read(false, 10s);
  ASSERT_TRUE(admin) << c->lastError();
  EXPECT_EQ(admin->status, 200);
  const auto deleted = json::parse(admin->body, nullptr, false);
  EXPECT_EQ(deleted["operation"], "admin_delete");
  EXPECT_NE(deleted["warning"].get<std::string>().find("should have refused"), std::string::npos);
  EXPECT_EQ(deleted["identity"]["spiffe_id"], "spiffe://example.org/budget-report");

  backend.process->signal(SIGTERM);
  EXPECT_EQ(backend.process->wait(10s), 0) << backend.process->err();
}

TEST_F(SampleAgentTest, UnknownPathIs404AndWrongMethodIs405WithAllow) {
  auto backend = start("budget-backend", "backend");
  auto agent = start("budget-report", "agent");
  ASSERT_NE(backend.port, 0);
  ASSERT_NE(agent.port, 0);

  auto [missing, missing_body] = get(backend.port, "/budget/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing_body, (json{{"error", "not_found"}}));
  // Each role serves only its own routes.
  EXPECT_EQ(get(backend.port, "/a2a/status").first.status, 404);
  EXPECT_EQ(get(agent.port, "/budget/read").first.status, 404);

  auto [wrong, wrong_body] = call(backend.port, makeRequest("POST", "/budget/read", "", "{}"));
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.header("allow"), "GET");
  EXPECT_EQ(wrong_body["error"], "method_not_allowed");
  EXPECT_EQ(call(backend.port, makeRequest("GET", "/budget/admin")).first.header("allow"),
            "DELETE");
  EXPECT_EQ(call(agent.port, makeRequest("DELETE", "/call")).first.status, 405);

  auto [status, status_body] = get(agent.port, "/a2a/status");
  EXPECT_EQ(status.status, 200);
  EXPECT_EQ(status_body["agent"], "budget-report");
  EXPECT_EQ(status_body["status"], "ok");
  EXPECT_EQ(status_body["token"]["present"], false);

  // Bodies are bounded: refused on the declared length, before any of it is read (sending
  // it would race the server's close).
  auto [big, big_body] = call(backend.port,
                              "POST /budget/submit HTTP/1.1\r\nHost: budget-backend\r\n"
                              "Content-Length: 71680\r\n\r\n");
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(big_body["error"], "body_too_large");
}

TEST_F(SampleAgentTest, CallRelaysMethodPathHostAndBodyToTheEgressAndReturnsItsAnswer) {
  FakeEgress egress(201, R"({"agent":"budget-backend","operation":"submit","accepted":true})");
  auto agent = start("budget-report", "agent", egress.port());
  ASSERT_NE(agent.port, 0);

  auto [res, body] =
      get(agent.port, "/call?target=budget-backend&method=POST&path=%2Fbudget%2Fsubmit%3Fq%3D1");
  EXPECT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(body,
            (json{{"caller", "budget-report"},
                  {"target", "budget-backend"},
                  {"method", "POST"},
                  {"path", "/budget/submit?q=1"},
                  {"status", 201},
                  {"response",
                   {{"agent", "budget-backend"}, {"operation", "submit"}, {"accepted", true}}}}));
  auto seen = egress.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].target, "/budget/submit?q=1");
  EXPECT_EQ(seen[0].host, "budget-backend");
  EXPECT_EQ(seen[0].content_type, "application/json");
  EXPECT_EQ(json::parse(seen[0].body, nullptr, false), (json{{"from", "budget-report"}}));

  // A GET sends no body; the status is whatever the egress answered.
  auto [deleted, deleted_body] =
      get(agent.port, "/call?target=budget-backend&method=DELETE&path=/budget/admin");
  EXPECT_EQ(deleted.status, 200);
  EXPECT_EQ(deleted_body["status"], 201);
  seen = egress.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].method, "DELETE");
  EXPECT_EQ(seen[1].target, "/budget/admin");
  EXPECT_EQ(seen[1].body, "");
}

TEST_F(SampleAgentTest, CallReturnsTheEgressErrorStatusAndANonJsonBodyAsAString) {
  FakeEgress denying(403, R"({"error":"rbac_denied","layer":"rbac","message":"no rule"})");
  FakeEgress text(502, "upstream went away", "text/plain");
  auto agent = start("employee-menus", "agent", denying.port());
  auto other = start("demo-agent", "agent", text.port());
  ASSERT_NE(agent.port, 0);
  ASSERT_NE(other.port, 0);

  auto [res, body] = get(agent.port, "/call?target=budget-backend&method=GET&path=/budget/read");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(body["status"], 403);
  EXPECT_EQ(body["response"]["layer"], "rbac");
  EXPECT_EQ(body["response"]["error"], "rbac_denied");

  auto [tres, tbody] = get(other.port, "/call?target=budget-backend&method=GET&path=/budget/read");
  EXPECT_EQ(tres.status, 200);
  EXPECT_EQ(tbody["status"], 502);
  EXPECT_EQ(tbody["response"], "upstream went away");
}

TEST_F(SampleAgentTest, InvalidCallInputsAre400WithAReasonAndNothingIsSent) {
  FakeEgress egress(200, "{}");
  auto agent = start("budget-approval", "agent", egress.port());
  ASSERT_NE(agent.port, 0);

  struct Case {
    std::string query;
    std::string reason_part;
  };
  const std::vector<Case> cases{
      {"method=GET&path=/x", "missing parameter target"},
      {"target=budget-backend&path=/x", "missing parameter method"},
      {"target=budget-backend&method=GET", "missing parameter path"},
      {"target=Budget-Backend&method=GET&path=/x", "target must match"},
      {"target=-backend&method=GET&path=/x", "target must match"},
      {"target=" + std::string(64, 'a') + "&method=GET&path=/x", "target must match"},
      {"target=budget-backend%3A443&method=GET&path=/x", "target must match"},
      {"target=budget-backend&method=PATCH&path=/x", "method must be one of"},
      {"target=budget-backend&method=get&path=/x", "method must be one of"},
      {"target=budget-backend&method=GET&path=budget", "path must start with /"},
      {"target=budget-backend&method=GET&path=/a%20b", "path must start with /"},
      {"target=budget-backend&method=GET&path=/a%0D%0AX-Evil:%201", "path must start with /"},
      {"target=budget-backend&method=GET&path=/" + std::string(2048, 'a'),
       "path must start with /"},
      {"target=budget-backend&method=GET&path=/%zz", "malformed percent-encoding"},
      {"target=budget-backend&method=GET&path=/x%4", "malformed percent-encoding"},
      {"target=a&target=b&method=GET&path=/x", "given twice"},
      {"target=budget-backend&method=GET&path=/x&verbose=1", "unknown parameter"},
  };
  for (const auto& c : cases) {
    auto [res, body] = get(agent.port, "/call?" + c.query);
    EXPECT_EQ(res.status, 400) << c.query;
    EXPECT_EQ(body["error"], "invalid_request") << c.query;
    EXPECT_NE(body.value("reason", "").find(c.reason_part), std::string::npos)
        << c.query << " -> " << res.body;
  }
  // The longest valid target and path are accepted (the bounds are not off by one).
  auto [ok, ok_body] = get(agent.port, "/call?target=" + std::string(63, 'a') +
                                           "&method=GET&path=/" + std::string(2047, 'a'));
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok_body["status"], 200);
  EXPECT_EQ(egress.seen().size(), 1u);

  // An agent started without --egress cannot call anyone.
  auto lone = start("demo-agent", "agent");
  ASSERT_NE(lone.port, 0);
  auto [no_egress, no_egress_body] =
      get(lone.port, "/call?target=budget-backend&method=GET&path=/budget/read");
  EXPECT_EQ(no_egress.status, 400);
  EXPECT_NE(no_egress_body.value("reason", "").find("egress"), std::string::npos) << no_egress.body;
}

TEST_F(SampleAgentTest, UnreachableEgressGivesStatusZeroAndWhatFailed) {
  const auto port = closedPort();
  auto agent = start("budget-report", "agent", port);
  ASSERT_NE(agent.port, 0);
  auto [res, body] = get(agent.port, "/call?target=budget-backend&method=GET&path=/budget/read");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(body["status"], 0);
  EXPECT_EQ(body["target"], "budget-backend");
  EXPECT_NE(
      body.value("error", "").find("connecting to the egress at 127.0.0.1:" + std::to_string(port)),
      std::string::npos)
      << res.body;
  EXPECT_FALSE(body.contains("response"));
}

TEST_F(SampleAgentTest, BadOptionsExitWithUsageErrors) {
  const auto bad_role = runToCompletion(
      {WARDEN_BINARY, "sample-agent", "--name", "x", "--role", "admin", "--listen", "127.0.0.1:0"},
      dir.path());
  EXPECT_EQ(bad_role.code, 2) << bad_role.err;
  const auto bad_egress =
      runToCompletion({WARDEN_BINARY, "sample-agent", "--name", "x", "--role", "agent", "--listen",
                       "127.0.0.1:0", "--egress", "10.0.0.1:15001"},
                      dir.path());
  EXPECT_EQ(bad_egress.code, 2) << bad_egress.err;
  EXPECT_NE(bad_egress.err.find("--egress"), std::string::npos) << bad_egress.err;
}

}  // namespace
}  // namespace warden::testing
