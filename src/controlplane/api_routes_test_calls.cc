// /api/v1/test-calls and /api/v1/sidecars/test-calls: a real request sent by a caller's
// own sidecar on an administrator's behalf (controlplane/test_calls.h,
// docs/control-plane.md#test-calls).
#include <spdlog/spdlog.h>

#include "common/http_token.h"
#include "controlplane/api_context.h"
#include "jose/jws.h"

namespace warden::controlplane::api {
namespace {

// How long the caller's sidecar has to pick a call up (it long-polls, so a running one
// takes it at once), and to answer it after that (its own egress gives up on an upstream
// after its timeouts; this only bounds a sidecar that vanished mid-call).
constexpr auto kPickupWait = std::chrono::seconds(5);
constexpr auto kAnswerWait = std::chrono::seconds(35);
constexpr std::size_t kMaxPathBytes = 4096;
// A sidecar's answer: the status, a few facts and at most kMaxTestCallBodyBytes of body
// (JSON-escaped, so up to six bytes a byte).
constexpr std::size_t kMaxAnswerBytes = 8 * kMaxTestCallBodyBytes;


// An agent by registry name or SPIFFE ID; a 4xx naming `field` otherwise.
std::variant<AgentRecord, HttpResponse> agentNamed(Store& store, const std::string& text,
                                                   const char* field) {
  auto agent =
      text.rfind("spiffe://", 0) == 0 ? store.getAgentBySpiffeId(text) : store.getAgent(text);
  if (!agent) {
    if (agent.error().kind == StoreErrorKind::kNotFound) {
      return error(404, "not_found", std::string(field) + ": no registered agent " + text);
    }
    return storeError(agent.error());
  }
  if (agent->spiffe_id.empty()) {
    return error(400, "invalid_request",
                 std::string(field) + ": agent " + agent->name +
                     " has no SPIFFE ID (federation-only agents have no sidecar here)");
  }
  return std::move(*agent);
}

std::variant<std::string, HttpResponse> requiredString(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    return error(400, "invalid_request", std::string(key) + ": expected a non-empty string");
  }
  return it->get<std::string>();
}

// What the mesh decided, read from the answer: a response in Warden's denial shape
// ({error, layer, request_id, message}) is a denial by that layer; anything else reached
// the app (or is a relay error without that shape) and counts as allowed by Warden.
json verdictOf(int status, const std::string& body) {
  if (status >= 400) {
    auto parsed = json::parse(body, nullptr, false);
    if (parsed.is_object() && parsed.contains("error") && parsed["error"].is_string() &&
        parsed.contains("layer") && parsed["layer"].is_string() && parsed.contains("request_id")) {
      return json{{"decision", "deny"},
                  {"layer", parsed["layer"]},
                  {"reason", parsed["error"]},
                  {"request_id", parsed["request_id"]}};
    }
  }
  return json{{"decision", "allow"}};
}

// The sidecar's answer, strictly: {status, latency_ms, body, body_truncated,
// content_type} or {failure}.
std::variant<json, std::string> parseAnswer(const std::string& text) {
  auto parsed = jose::parseJsonNoDuplicates(text);
  if (!parsed)
    return "not JSON: " + parsed.error().message;
  const json& a = *parsed;
  if (!a.is_object())
    return std::string("expected an object");
  if (a.contains("failure")) {
    if (!a["failure"].is_string() || a["failure"].get_ref<const std::string&>().empty() ||
        a.size() != 1) {
      return std::string("failure: expected a non-empty string, alone");
    }
    return a;
  }
  for (const auto& [key, value] : a.items()) {
    if (key != "status" && key != "latency_ms" && key != "body" && key != "body_truncated" &&
        key != "content_type") {
      return "unknown member " + key;
    }
  }
  if (!a.contains("status") || !a["status"].is_number_integer() || a["status"].get<int>() < 100 ||
      a["status"].get<int>() > 599) {
    return std::string("status: expected an HTTP status");
  }
  if (!a.contains("latency_ms") || !a["latency_ms"].is_number() ||
      a["latency_ms"].get<double>() < 0) {
    return std::string("latency_ms: expected a non-negative number");
  }
  if (!a.contains("body") || !a["body"].is_string() ||
      a["body"].get_ref<const std::string&>().size() > kMaxTestCallBodyBytes) {
    return std::string("body: expected a string of at most ") +
           std::to_string(kMaxTestCallBodyBytes) + " bytes";
  }
  if (a.contains("body_truncated") && !a["body_truncated"].is_boolean()) {
    return std::string("body_truncated: expected a boolean");
  }
  if (a.contains("content_type") && !a["content_type"].is_string()) {
    return std::string("content_type: expected a string");
  }
  return a;
}

// POST /api/v1/test-calls: queue, wait for the caller's sidecar, answer with its result.
boost::asio::awaitable<HttpResponse> sendTestCall(Context& c, Route& r) {
  // A test call is real traffic under an agent's identity, with whatever effect the
  // target gives it: administrators only.
  if (!r.principal.isAdmin()) {
    co_return error(403, "forbidden", "sending a real call as an agent needs the admin role");
  }
  auto parsed = jsonBody(r);
  if (auto* res = std::get_if<HttpResponse>(&parsed))
    co_return std::move(*res);
  const json& b = std::get<json>(parsed);
  for (const auto& [key, value] : b.items()) {
    if (key != "caller" && key != "target" && key != "method" && key != "path" && key != "body" &&
        key != "content_type") {
      co_return error(400, "invalid_request", "unknown member " + key);
    }
  }
  std::string fields[4];
  const char* names[4] = {"caller", "target", "method", "path"};
  for (int i = 0; i < 4; ++i) {
    auto v = requiredString(b, names[i]);
    if (auto* res = std::get_if<HttpResponse>(&v))
      co_return std::move(*res);
    fields[i] = std::move(std::get<std::string>(v));
  }
  const std::string& method = fields[2];
  const std::string& path = fields[3];
  if (method.size() > 32 || !isHttpToken(method)) {
    co_return error(400, "invalid_request", "method: expected an HTTP method token");
  }
  if (method == "CONNECT")
    co_return error(400, "invalid_request", "method: CONNECT cannot be a test call");
  if (path.front() != '/' || path.size() > kMaxPathBytes ||
      !std::all_of(path.begin(), path.end(), [](char ch) { return ch > 0x20 && ch < 0x7f; })) {
    co_return error(400, "invalid_request",
                    "path: expected an origin-form path (starting with '/', printable ASCII, no "
                    "spaces, at most " +
                        std::to_string(kMaxPathBytes) + " bytes)");
  }
  TestCall call;
  call.method = method;
  call.path = path;
  if (auto it = b.find("body"); it != b.end() && !it->is_null()) {
    if (!it->is_string() || it->get_ref<const std::string&>().size() > kMaxTestCallBodyBytes) {
      co_return error(
          400, "invalid_request",
          "body: expected a string of at most " + std::to_string(kMaxTestCallBodyBytes) + " bytes");
    }
    call.body = it->get<std::string>();
  }
  auto content_type =
      optionalString(b, "content_type", call.body.empty() ? "" : "application/json");
  if (auto* res = std::get_if<HttpResponse>(&content_type))
    co_return std::move(*res);
  call.content_type = std::get<std::string>(content_type);
  if (call.content_type.find_first_of("\r\n") != std::string::npos ||
      call.content_type.size() > 256) {
    co_return error(400, "invalid_request", "content_type: expected one header value");
  }
  if (!call.content_type.empty() && call.body.empty()) {
    co_return error(400, "invalid_request", "content_type: given without a body");
  }

  auto caller = agentNamed(c.store, fields[0], "caller");
  if (auto* res = std::get_if<HttpResponse>(&caller))
    co_return std::move(*res);
  auto target = agentNamed(c.store, fields[1], "target");
  if (auto* res = std::get_if<HttpResponse>(&target))
    co_return std::move(*res);
  const AgentRecord& from = std::get<AgentRecord>(caller);
  const AgentRecord& to = std::get<AgentRecord>(target);
  call.caller_id = from.spiffe_id;
  call.target_id = to.spiffe_id;
  if (!c.test_calls.submit(call)) {
    co_return error(429, "too_many_test_calls",
                    from.name + " already has " + std::to_string(kMaxPendingTestCallsPerCaller) +
                        " test calls waiting for its sidecar");
  }
  spdlog::info("control plane: test call {} by {} ({}): {} -> {} {} {}", call.id,
               r.principal.subject, r.principal.method, from.name, to.name, call.method, call.path);

  const auto started = std::chrono::steady_clock::now();
  const auto pickup_deadline = started + kPickupWait;
  const auto answer_deadline = started + kAnswerWait;
  for (;;) {
    const std::uint64_t seen = c.test_calls.answered().epoch();
    if (c.test_calls.result(call.id) || r.exchange->stopping())
      break;
    const bool picked = c.test_calls.pickedUp(call.id);
    const auto deadline = picked ? answer_deadline : pickup_deadline;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      break;
    // A pickup is not announced on `answered`: wake at the pickup deadline and look.
    co_await c.test_calls.answered().wait(*c.ioc, seen, left);
  }
  const json* result = c.test_calls.result(call.id);
  const bool picked = c.test_calls.pickedUp(call.id);
  json answer = result ? *result : json();
  c.test_calls.forget(call.id);
  if (!picked) {
    co_return error(504, "test_call_not_picked_up",
                    from.name + "'s sidecar did not pick the call up within " +
                        std::to_string(kPickupWait.count()) +
                        " s: it is not running, not connected to this server, or not configured "
                        "with control_plane.test_calls: true");
  }
  if (!result) {
    co_return error(504, "test_call_timeout",
                    from.name + "'s sidecar took the call but sent no answer within " +
                        std::to_string(kAnswerWait.count()) + " s");
  }
  if (answer.contains("failure")) {
    co_return error(
        502, "test_call_failed",
        from.name + "'s sidecar could not send the call: " + answer["failure"].get<std::string>());
  }
  json out{{"id", call.id},
           {"caller", from.name},
           {"caller_spiffe_id", from.spiffe_id},
           {"target", to.name},
           {"target_spiffe_id", to.spiffe_id},
           {"method", call.method},
           {"path", call.path},
           {"sent_unix", static_cast<std::int64_t>(std::time(nullptr))},
           {"status", answer["status"]},
           {"latency_ms", answer["latency_ms"]},
           {"content_type", answer.value("content_type", std::string())},
           {"body", answer["body"]},
           {"body_truncated", answer.value("body_truncated", false)}};
  out.update(verdictOf(answer["status"].get<int>(), answer["body"].get<std::string>()));
  co_return ok(out);
}

// GET /api/v1/sidecars/test-calls?wait=N: the calls waiting for this sidecar.
boost::asio::awaitable<HttpResponse> takeTestCalls(Context& c, Route& r) {
  const auto max_wait = std::chrono::duration_cast<std::chrono::seconds>(c.config.long_poll_max);
  std::int64_t wait = 0;
  if (auto text = r.queryValue("wait"); !text.empty()) {
    auto n = parseInt(text);
    if (!n)
      co_return error(400, "invalid_request", "wait: expected whole seconds");
    wait = std::min<std::int64_t>(*n, max_wait.count());
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait);
  std::vector<TestCall> calls;
  for (;;) {
    const std::uint64_t seen = c.test_calls.queued().epoch();
    calls = c.test_calls.take(r.principal.subject);
    if (!calls.empty() || r.exchange->stopping())
      break;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      break;
    co_await c.test_calls.queued().wait(*c.ioc, seen, left);
  }
  json list = json::array();
  for (const auto& call : calls)
    list.push_back(testCallToJson(call));
  auto res = ok(json{{"calls", std::move(list)}});
  res.set(boost::beast::http::field::cache_control, "no-store");
  co_return res;
}

// POST /api/v1/sidecars/test-calls/{id}: the sidecar's answer.
HttpResponse answerTestCall(Context& c, Route& r, const std::string& id) {
  if (r.request->body().size() > kMaxAnswerBytes) {
    return error(413, "payload_too_large",
                 "an answer is at most " + std::to_string(kMaxAnswerBytes) + " bytes");
  }
  if (r.header("content-type").rfind("application/json", 0) != 0) {
    return error(415, "unsupported_media_type", "send application/json");
  }
  auto answer = parseAnswer(r.request->body());
  if (auto* problem = std::get_if<std::string>(&answer))
    return error(400, "invalid_request", *problem);
  switch (c.test_calls.answer(r.principal.subject, id, std::move(std::get<json>(answer)))) {
    case TestCallBroker::Answered::kAccepted:
      break;
    case TestCallBroker::Answered::kUnknown:
      return error(404, "not_found", "no test call " + id + " is waiting for this sidecar");
    case TestCallBroker::Answered::kNotPickedUp:
      return error(409, "conflict", "test call " + id + " was not handed to this sidecar yet");
    case TestCallBroker::Answered::kAlreadyAnswered:
      return error(409, "conflict", "test call " + id + " is answered already");
  }
  HttpResponse res{boost::beast::http::status::no_content, 11};
  res.set(boost::beast::http::field::cache_control, "no-store");
  return res;
}

}  // namespace

boost::asio::awaitable<HttpResponse> testCalls(Context& c, Route& r) {
  if (r.segments.size() != 1)
    co_return error(404, "not_found", "no such route");
  if (r.method != "POST") {
    auto res = error(405, "method_not_allowed", "use POST");
    res.set(boost::beast::http::field::allow, "POST");
    co_return res;
  }
  co_return co_await sendTestCall(c, r);
}

boost::asio::awaitable<HttpResponse> sidecarTestCalls(Context& c, Route& r) {
  // Only a registered agent's sidecar, identified by its client certificate, and only
  // for calls made in its own name.
  if (r.principal.role != Role::kSidecar) {
    co_return error(403, "forbidden", "only a registered agent's sidecar takes its test calls");
  }
  if (r.segments.size() == 2) {
    if (r.method != "GET")
      co_return error(405, "method_not_allowed", "use GET");
    co_return co_await takeTestCalls(c, r);
  }
  if (r.segments.size() == 3) {
    if (r.method != "POST")
      co_return error(405, "method_not_allowed", "use POST");
    co_return answerTestCall(c, r, r.segments[2]);
  }
  co_return error(404, "not_found", "no such route");
}

}  // namespace warden::controlplane::api
