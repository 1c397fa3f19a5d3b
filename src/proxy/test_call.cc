#include "proxy/test_call.h"

#include <algorithm>
#include <chrono>

#include "common/http_token.h"
#include "identity/spiffe_id.h"
#include "proxy/egress_routes.h"
#include "token/fetch_url.h"
#include "token/http_fetch.h"

namespace warden::proxy {

namespace {

// The whole exchange up to the answer's head, and then each silence in its body: the
// server waits 35 s for an answer, so a call is always answered before it gives up.
constexpr auto kTestCallTimeout = std::chrono::seconds(30);


Result<std::string> member(const nlohmann::json& j, const char* key, bool required) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (required)
      return Error{std::string("test call: ") + key + " is required"};
    return std::string();
  }
  if (!it->is_string())
    return Error{std::string("test call: ") + key + ": expected a string"};
  return it->get<std::string>();
}

nlohmann::json failure(std::string why) {
  return nlohmann::json{{"failure", std::move(why)}};
}

}  // namespace

Result<TestCall> parseTestCall(const nlohmann::json& j) {
  if (!j.is_object())
    return Error{"test call: expected an object"};
  for (const auto& [key, value] : j.items()) {
    if (key != "id" && key != "target" && key != "method" && key != "path" && key != "body" &&
        key != "content_type") {
      return Error{"test call: unknown member " + key};
    }
  }
  TestCall call;
  for (auto [key, out] : {std::pair{"id", &call.id},
                          {"target", &call.target},
                          {"method", &call.method},
                          {"path", &call.path}}) {
    auto v = member(j, key, true);
    if (!v)
      return v.error();
    *out = std::move(*v);
  }
  auto body = member(j, "body", false);
  if (!body)
    return body.error();
  call.body = std::move(*body);
  auto content_type = member(j, "content_type", false);
  if (!content_type)
    return content_type.error();
  call.content_type = std::move(*content_type);

  if (call.id.empty() || call.id.size() > 64 ||
      !std::all_of(call.id.begin(), call.id.end(),
                   [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); })) {
    return Error{"test call: id: expected lower-case hex"};
  }
  if (auto id = identity::SpiffeId::parse(call.target); !id) {
    return Error{"test call: target: " + id.error().message};
  }
  if (call.method.size() > 32 || !isHttpToken(call.method) || call.method == "CONNECT") {
    return Error{"test call: method: expected an HTTP method token"};
  }
  if (call.path.empty() || call.path.front() != '/' || call.path.size() > 4096 ||
      !std::all_of(call.path.begin(), call.path.end(),
                   [](char c) { return c > 0x20 && c < 0x7f; })) {
    return Error{"test call: path: expected an origin-form path"};
  }
  if (call.body.size() > kTestCallBodyLimit)
    return Error{"test call: body: larger than 64 KiB"};
  if (call.content_type.size() > 256 ||
      std::any_of(call.content_type.begin(), call.content_type.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    return Error{"test call: content_type: expected one header value"};
  }
  return call;
}

Result<std::string> testCallHost(const EgressConfig& egress, const std::string& target,
                                 const std::string& path) {
  for (const auto& route : egress.routes) {
    if (route.spiffe_id != target || !pathHasPrefix(path, route.path_prefix))
      continue;
    // The egress picks by Host and then the longest prefix: another route of the same
    // host may win for this path, and it must expect the same target.
    const int chosen = selectRoute(egress, route.host, path);
    if (chosen >= 0 && egress.routes[static_cast<std::size_t>(chosen)].spiffe_id == target) {
      return route.host;
    }
  }
  return Error{"no egress route to " + target + " for " + path +
               " (the app could not reach it either)"};
}

boost::asio::awaitable<nlohmann::json> runTestCall(const EgressConfig& egress,
                                                   Endpoint egress_listener, TestCall call) {
  auto host = testCallHost(egress, call.target, call.path);
  if (!host)
    co_return failure(host.error().message);

  // Plain HTTP to our own loopback listener, named by the route's Host.
  token::FetchUrl url;
  url.text = "http://" + egress_listener.str() + call.path;
  url.tls = false;
  url.host = egress_listener.host;
  url.host_is_ip = true;
  url.port = std::to_string(egress_listener.port);
  url.port_number = egress_listener.port;
  url.target = call.path;
  url.host_header = *host;

  token::HttpFetchRequest request;
  request.url = &url;
  request.method = call.method;
  request.body = call.body;
  request.content_type = call.content_type;
  request.accept = "*/*";
  request.user_agent = "warden-sidecar (test call " + call.id + ")";
  request.max_body_bytes = kTestCallBodyLimit;
  request.timeout = kTestCallTimeout;
  // A 2xx body may be long or endless (a stream): keep the first kTestCallBodyLimit bytes.
  std::string collected;
  bool truncated = false;
  request.on_body = [&](std::string_view piece) {
    const std::size_t room = kTestCallBodyLimit - collected.size();
    collected.append(piece.substr(0, room));
    if (piece.size() > room)
      truncated = true;
    return !truncated && collected.size() < kTestCallBodyLimit;
  };
  const auto started = std::chrono::steady_clock::now();
  token::HttpFetchResult res = co_await token::httpFetch(request);
  const double latency_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  if (!res.ok)
    co_return failure("the egress listener did not answer: " + res.error);
  const bool streamed = res.status >= 200 && res.status < 300;
  if (streamed) {
    // Ended by us at the limit: there may have been more.
    truncated = truncated || collected.size() >= kTestCallBodyLimit;
  }
  nlohmann::json answer{{"status", res.status},
                        {"latency_ms", latency_ms},
                        {"body", streamed ? collected : res.body},
                        {"body_truncated", truncated},
                        {"content_type", res.content_type}};
  co_return answer;
}

}  // namespace warden::proxy
