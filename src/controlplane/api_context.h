// Internal to the API server: what route handlers share (api_server.cc, api_routes_*.cc).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "controlplane/api_config.h"
#include "controlplane/change_waiters.h"
#include "controlplane/etag.h"
#include "controlplane/login_tokens.h"
#include "controlplane/principal.h"
#include "controlplane/server_health.h"
#include "controlplane/sidecar_reports.h"
#include "controlplane/store.h"
#include "controlplane/test_calls.h"
#include "net/https_server.h"

namespace warden::controlplane {
class PasswordWorker;
}

namespace warden::controlplane::api {

using net::HttpResponse;
using nlohmann::json;

// A request's route, split at '/' after /api/v1, with its decoded query.
struct Route {
  std::string method;
  std::vector<std::string> segments;  // e.g. {"agents", "budget-report", "risk"}
  std::map<std::string, std::string> query;
  const net::HttpRequest* request = nullptr;
  net::HttpsExchange* exchange = nullptr;
  Principal principal;

  std::string header(std::string_view name) const;
  std::string queryValue(const std::string& key, std::string fallback = {}) const;
  Actor actor() const { return Actor{principal.subject, principal.method}; }
};

HttpResponse error(unsigned status, std::string_view code, std::string_view reason);
// 401 with a WWW-Authenticate challenge: no identity, or one that is not known here.
HttpResponse unauthenticated(std::string_view reason);
HttpResponse ok(const json& body, unsigned status = 200);
HttpResponse storeError(const StoreError& e);
// The request body as a JSON object, or a 400 response.
std::variant<json, HttpResponse> jsonBody(const Route& r);
// A non-negative decimal that fits in int64 (a longer one is refused, never wrapped).
std::optional<std::int64_t> parseInt(const std::string& text);
// The same, where every member is optional: an empty body stands for {}.
std::variant<json, HttpResponse> optionalJsonBody(const Route& r);
// An optional string member of a request body: `fallback` when absent or null, a 400
// naming the field when it is something else (never an exception).
std::variant<std::string, HttpResponse> optionalString(const json& body, const char* key,
                                                       std::string fallback = {});
// If-Match as the store's expected version of object (kind, id) whose current version is
// `current` (0: absent). Missing header on an existing object -> 428 (no blind overwrite).
std::variant<std::optional<std::uint64_t>, HttpResponse> expectedVersion(
    const Route& r, std::string_view kind, std::string_view id, std::uint64_t current);

struct Context {
  const ControlPlaneConfig& config;
  Store& store;
  LoginTokens& logins;
  boost::asio::io_context* ioc = nullptr;
  ChangeWaiters config_waiters;  // distribution long-polls
  ChangeWaiters audit_waiters;   // audit live streams
  TestCallBroker test_calls;     // calls waiting for, or answered by, callers' sidecars
};

boost::asio::awaitable<HttpResponse> agents(Context& c, Route& r);
boost::asio::awaitable<HttpResponse> documents(Context& c, Route& r, std::string_view kind);
boost::asio::awaitable<HttpResponse> audit(Context& c, Route& r);
boost::asio::awaitable<HttpResponse> distribution(Context& c, Route& r);
boost::asio::awaitable<HttpResponse> users(Context& c, Route& r, PasswordWorker& passwords);
HttpResponse explain(Context& c, Route& r);  // api_routes_explain.cc
// api_routes_test_calls.cc: POST /test-calls (admins), and the sidecars' side of it
// (/sidecars/test-calls[/{id}]).
boost::asio::awaitable<HttpResponse> testCalls(Context& c, Route& r);
boost::asio::awaitable<HttpResponse> sidecarTestCalls(Context& c, Route& r);
// api_routes_health.cc; `now` in Unix seconds.
HttpResponse sidecarStatus(Route& r, SidecarReports& reports, std::int64_t now);
HttpResponse health(Context& c, Route& r, const ServerHealthInputs& server, SidecarReports& reports,
                    std::int64_t now);

}  // namespace warden::controlplane::api
