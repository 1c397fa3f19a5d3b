#include "demo/sample_agent.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <csignal>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string_view>
#include <thread>
#include <vector>

#include "common/percent_decoding.h"

namespace warden::demo {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using json = nlohmann::json;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxHeaderBytes = 8 * 1024;
constexpr std::size_t kMaxBodyBytes = 64 * 1024;
// What an egress answers is small JSON (the target app's or the sidecar's error); the cap
// keeps a misbehaving peer from growing the agent without bound.
constexpr std::size_t kMaxCallResponseBytes = 1024 * 1024;
constexpr std::size_t kMaxCallPathBytes = 2048;
constexpr std::size_t kMaxCallTargetBytes = 63;
constexpr std::size_t kMaxConnections = 256;
constexpr auto kReadTimeout = std::chrono::seconds(30);  // idle keep-alive wait + one request
constexpr auto kWriteTimeout = std::chrono::seconds(10);
constexpr auto kCallTimeout = std::chrono::seconds(10);
// nlohmann's dump recurses; a body nested deeper than this is echoed as a string instead.
constexpr int kMaxRelayedJsonDepth = 64;

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// Echoed headers and relayed bodies are not ours: invalid UTF-8 is replaced, never thrown.
std::string dumpJson(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Response jsonResponse(http::status status, const json& body) {
  Response res{status, 11};
  res.set(http::field::content_type, "application/json");
  res.body() = dumpJson(body) + "\n";
  return res;
}

std::string headerValue(const Request& req, std::string_view name) {
  const auto it = req.find(name);
  return it == req.end() ? std::string() : std::string(it->value());
}

std::vector<std::string> splitList(std::string_view text) {
  std::vector<std::string> items;
  while (!text.empty()) {
    const auto comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
      item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
      item.remove_suffix(1);
    if (!item.empty())
      items.emplace_back(item);
    if (comma == std::string_view::npos)
      break;
    text.remove_prefix(comma + 1);
  }
  return items;
}

// What the ingress sidecar verified; it strips client-sent copies, so these are facts.
json identityOf(const Request& req) {
  return {{"spiffe_id", headerValue(req, "X-Forwarded-SPIFFE-ID")},
          {"request_id", headerValue(req, "X-Request-ID")},
          {"xfcc", headerValue(req, "X-Forwarded-Client-Cert")}};
}

json tokenOf(const Request& req) {
  return {{"present", req.find("X-Warden-Token-Issuer") != req.end()},
          {"issuer", headerValue(req, "X-Warden-Token-Issuer")},
          {"subject", headerValue(req, "X-Warden-Token-Subject")},
          {"client_id", headerValue(req, "X-Warden-Token-Client-Id")},
          {"audience", splitList(headerValue(req, "X-Warden-Token-Audience"))},
          {"roles", splitList(headerValue(req, "X-Warden-Token-Roles"))}};
}

json budgetData() {
  return {{"fiscal_year", 2026},
          {"currency", "EUR"},
          {"lines",
           {{{"cost_center", "FIN-100"}, {"budget", 125000}, {"spent", 48200}},
            {{"cost_center", "HR-200"}, {"budget", 80000}, {"spent", 61750}},
            {{"cost_center", "ENG-300"}, {"budget", 240000}, {"spent", 119900}}}}};
}

struct Route {
  std::string_view path;
  http::verb verb;
};

constexpr std::array kBackendRoutes{
    Route{"/health", http::verb::get}, Route{"/budget/read", http::verb::get},
    Route{"/budget/submit", http::verb::post}, Route{"/budget/admin", http::verb::delete_}};
constexpr std::array kAgentRoutes{Route{"/health", http::verb::get},
                                  Route{"/a2a/status", http::verb::get},
                                  Route{"/call", http::verb::get}};

struct CallRequest {
  std::string target;
  std::string method;
  std::string path;
};

bool validTarget(std::string_view t) {
  if (t.empty() || t.size() > kMaxCallTargetBytes)
    return false;
  const auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(t.front()))
    return false;
  for (const char c : t) {
    if (!alnum(c) && c != '.' && c != '-')
      return false;
  }
  return true;
}

// The path goes on the request line as is, so anything that could end or split it (space,
// control characters) or that is not ASCII is refused rather than escaped.
bool validPath(std::string_view p) {
  if (p.empty() || p.front() != '/' || p.size() > kMaxCallPathBytes)
    return false;
  for (const char c : p) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f)
      return false;
  }
  return true;
}

// The /call query is untrusted input: the reason comes back as a value and becomes a 400.
Result<CallRequest> parseCallQuery(std::string_view query) {
  std::optional<std::string> target, method, path;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty())
      continue;
    const auto eq = pair.find('=');
    auto key = percentDecode(pair.substr(0, eq), PlusSign::kLiteral);
    auto value =
        percentDecode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), PlusSign::kLiteral);
    if (!key || !value)
      return Error{"malformed percent-encoding in the query"};
    std::optional<std::string>* slot = *key == "target"   ? &target
                                       : *key == "method" ? &method
                                       : *key == "path"   ? &path
                                                          : nullptr;
    if (slot == nullptr)
      return Error{"unknown parameter (expected target, method, path)"};
    if (slot->has_value())
      return Error{"parameter " + *key + " given twice"};
    *slot = std::move(*value);
  }
  if (!target)
    return Error{"missing parameter target"};
  if (!method)
    return Error{"missing parameter method"};
  if (!path)
    return Error{"missing parameter path"};
  if (!validTarget(*target)) {
    return Error{"target must match [a-z0-9][a-z0-9.-]{0,62}"};
  }
  if (*method != "GET" && *method != "POST" && *method != "PUT" && *method != "DELETE") {
    return Error{"method must be one of GET, POST, PUT, DELETE"};
  }
  if (!validPath(*path)) {
    return Error{
        "path must start with /, be at most 2048 bytes and contain no spaces, "
        "control or non-ASCII characters"};
  }
  return CallRequest{std::move(*target), std::move(*method), std::move(*path)};
}

bool jsonDepthWithin(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth)
        return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

json bodyAsJson(const std::string& body) {
  if (!jsonDepthWithin(body, kMaxRelayedJsonDepth))
    return body;
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded())
    return body;
  return parsed;
}

bool isHttpParseError(const beast::error_code& ec) {
  return &ec.category() == &http::make_error_code(http::error::bad_target).category();
}

}  // namespace

struct SampleAgent::Impl {
  SampleAgentOptions options;
  // Destroyed by stop(): that closes the listener and every open connection, like a
  // process exit would.
  std::unique_ptr<asio::io_context> ioc_owner = std::make_unique<asio::io_context>(1);
  std::optional<asio::ip::tcp::acceptor> acceptor;
  std::atomic<std::uint16_t> port{0};
  std::thread thread;
  std::size_t connections = 0;  // I/O thread only

  bool isBackend() const { return options.role == "backend"; }

  json withCaller(json body, const Request& req) const {
    body["identity"] = identityOf(req);
    body["token"] = tokenOf(req);
    return body;
  }

  asio::awaitable<Response> handle(const Request& req) {
    const std::string_view target = req.target();
    const auto question = target.find('?');
    const std::string_view path = target.substr(0, question);
    const std::string_view query =
        question == std::string_view::npos ? std::string_view() : target.substr(question + 1);

    const Route* route = nullptr;
    const auto find = [&](const auto& routes) {
      for (const auto& r : routes) {
        if (r.path == path)
          route = &r;
      }
    };
    if (isBackend()) {
      find(kBackendRoutes);
    } else {
      find(kAgentRoutes);
    }
    if (route == nullptr)
      co_return jsonResponse(http::status::not_found, {{"error", "not_found"}});
    if (req.method() != route->verb) {
      auto res = jsonResponse(http::status::method_not_allowed,
                              {{"error", "method_not_allowed"},
                               {"allowed", std::string(http::to_string(route->verb))}});
      res.set(http::field::allow, http::to_string(route->verb));
      co_return res;
    }

    const std::string& name = options.name;
    if (path == "/health") {
      co_return jsonResponse(http::status::ok,
                             {{"status", "healthy"}, {"agent", name}, {"role", options.role}});
    }
    if (path == "/budget/read") {
      co_return jsonResponse(
          http::status::ok,
          withCaller({{"agent", name}, {"operation", "read"}, {"data", budgetData()}}, req));
    }
    if (path == "/budget/submit") {
      co_return jsonResponse(http::status::ok, withCaller({{"agent", name},
                                                           {"operation", "submit"},
                                                           {"accepted", true},
                                                           {"bytes", req.body().size()}},
                                                          req));
    }
    if (path == "/budget/admin") {
      co_return jsonResponse(
          http::status::ok,
          withCaller({{"agent", name},
                      {"operation", "admin_delete"},
                      {"warning", "reached the app: the sidecar policy should have refused this"}},
                     req));
    }
    if (path == "/a2a/status") {
      co_return jsonResponse(http::status::ok,
                             withCaller({{"agent", name}, {"status", "ok"}}, req));
    }
    // /call
    if (!options.egress_port) {
      co_return jsonResponse(
          http::status::bad_request,
          {{"error", "invalid_request"},
           {"reason", "this agent has no egress configured (--egress 127.0.0.1:PORT)"}});
    }
    auto call = parseCallQuery(query);
    if (!call) {
      co_return jsonResponse(http::status::bad_request,
                             {{"error", "invalid_request"}, {"reason", call.error().message}});
    }
    co_return jsonResponse(http::status::ok, co_await relay(std::move(*call)));
  }

  // One fresh connection per call: the egress sidecar keeps its own pools, and a new
  // connection makes each demo call stand alone in its audit trail.
  asio::awaitable<json> relay(CallRequest call) {
    const std::uint16_t egress_port = *options.egress_port;
    json out{{"caller", options.name},
             {"target", call.target},
             {"method", call.method},
             {"path", call.path}};
    const auto fail = [&](std::string what, const beast::error_code& ec) {
      out["status"] = 0;
      out["error"] =
          what + " the egress at 127.0.0.1:" + std::to_string(egress_port) + ": " + ec.message();
      return out;
    };

    beast::tcp_stream stream(co_await asio::this_coro::executor);
    stream.expires_after(kCallTimeout);
    const asio::ip::tcp::endpoint egress(asio::ip::address_v4::loopback(), egress_port);
    if (auto [ec] = co_await stream.async_connect(egress, kTuple); ec) {
      co_return fail("connecting to", ec);
    }
    Request req{http::string_to_verb(call.method), call.path, 11};
    req.set(http::field::host, call.target);
    req.set(http::field::user_agent, "warden-sample-agent/" + options.name);
    req.set(http::field::accept, "application/json");
    if (call.method == "POST" || call.method == "PUT") {
      req.set(http::field::content_type, "application/json");
      req.body() = dumpJson({{"from", options.name}});
    }
    req.keep_alive(false);
    req.prepare_payload();
    if (auto [ec, n] = co_await http::async_write(stream, req, kTuple); ec) {
      co_return fail("sending to", ec);
    }
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.header_limit(kMaxHeaderBytes * 2);
    parser.body_limit(kMaxCallResponseBytes);
    if (auto [ec, n] = co_await http::async_read(stream, buffer, parser, kTuple); ec) {
      co_return fail("reading the response of", ec);
    }
    beast::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    const auto& res = parser.get();
    out["status"] = res.result_int();
    out["response"] = bodyAsJson(res.body());
    co_return out;
  }

  asio::awaitable<void> serve(beast::tcp_stream stream) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(kMaxHeaderBytes);
      parser.body_limit(kMaxBodyBytes);
      stream.expires_after(kReadTimeout);
      auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, kTuple);
      // curl waits a second for this before sending a larger body.
      if (!hec && parser.get()[http::field::expect] == "100-continue") {
        http::response<http::empty_body> cont{http::status::continue_, 11};
        auto [cec, cn] = co_await http::async_write(stream, cont, kTuple);
        if (cec)
          break;
      }
      beast::error_code ec = hec;
      if (!ec) {
        auto [rec, rn] = co_await http::async_read(stream, buffer, parser, kTuple);
        ec = rec;
      }
      if (ec) {
        // A request we could not frame is answered once, then the connection is closed:
        // where the next request starts is unknown. Timeouts and resets just close.
        if (!isHttpParseError(ec) || ec == http::error::end_of_stream ||
            ec == http::error::partial_message) {
          break;
        }
        Response res =
            ec == http::error::body_limit
                ? jsonResponse(http::status::payload_too_large,
                               {{"error", "body_too_large"}, {"limit", kMaxBodyBytes}})
            : ec == http::error::header_limit
                ? jsonResponse(http::status::request_header_fields_too_large,
                               {{"error", "header_too_large"}, {"limit", kMaxHeaderBytes}})
                : jsonResponse(http::status::bad_request, {{"error", "bad_request"}});
        res.keep_alive(false);
        res.prepare_payload();
        stream.expires_after(kWriteTimeout);
        co_await http::async_write(stream, res, kTuple);
        break;
      }
      const Request req = parser.release();
      const bool keep_alive = req.keep_alive();
      Response res = co_await handle(req);
      spdlog::debug("sample agent {}: {} {} -> {}", options.name,
                    std::string_view(req.method_string()), std::string_view(req.target()),
                    res.result_int());
      res.version(req.version());
      res.keep_alive(keep_alive);
      res.prepare_payload();
      stream.expires_after(kWriteTimeout);
      auto [wec, wn] = co_await http::async_write(stream, res, kTuple);
      if (wec || !keep_alive)
        break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    --connections;
  }

  asio::awaitable<void> acceptLoop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor->async_accept(kTuple);
      if (ec == asio::error::operation_aborted || !acceptor->is_open())
        co_return;
      if (ec) {
        // Out of descriptors and the like: back off instead of spinning, keep serving.
        spdlog::warn("sample agent {}: accept: {}", options.name, ec.message());
        asio::steady_timer pause(*ioc_owner, std::chrono::milliseconds(100));
        co_await pause.async_wait(kTuple);
        continue;
      }
      if (connections >= kMaxConnections)
        continue;  // the socket closes as it goes out of scope
      ++connections;
      asio::co_spawn(*ioc_owner, serve(beast::tcp_stream(std::move(socket))), asio::detached);
    }
  }
};

SampleAgent::SampleAgent(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SampleAgent::~SampleAgent() {
  stop();
}

Result<std::unique_ptr<SampleAgent>> SampleAgent::create(SampleAgentOptions options) {
  if (options.name.empty() || options.name.size() > 63) {
    return Error{"name: must be 1 to 63 characters"};
  }
  for (const char c : options.name) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f)
      return Error{"name: must be printable ASCII without spaces"};
  }
  if (options.role != "backend" && options.role != "agent") {
    return Error{"role: must be backend or agent, got \"" + options.role + "\""};
  }
  boost::system::error_code ec;
  asio::ip::make_address(options.listen_host, ec);
  if (ec)
    return Error{"listen: \"" + options.listen_host + "\" is not an IP address"};
  if (options.egress_port && *options.egress_port == 0) {
    return Error{"egress: port 0 is not a listener"};
  }
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  return std::unique_ptr<SampleAgent>(new SampleAgent(std::move(impl)));
}

Status SampleAgent::start() {
  auto& s = *impl_;
  if (s.thread.joinable() || !s.ioc_owner)
    return Error{"sample agent: start() called twice"};
  boost::system::error_code ec;
  const asio::ip::tcp::endpoint ep(asio::ip::make_address(s.options.listen_host, ec),
                                   s.options.listen_port);
  s.acceptor.emplace(*s.ioc_owner);
  if (!ec)
    s.acceptor->open(ep.protocol(), ec);
  if (!ec)
    s.acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec)
    s.acceptor->bind(ep, ec);
  if (!ec)
    s.acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    s.acceptor.reset();
    return Error{"listening on " + s.options.listen_host + ":" +
                 std::to_string(s.options.listen_port) + ": " + ec.message()};
  }
  s.port = s.acceptor->local_endpoint().port();
  asio::co_spawn(*s.ioc_owner, s.acceptLoop(), asio::detached);
  s.thread = std::thread([&s] { s.ioc_owner->run(); });
  return {};
}

void SampleAgent::stop() {
  auto& s = *impl_;
  if (!s.thread.joinable())
    return;
  s.ioc_owner->stop();
  s.thread.join();
  s.acceptor.reset();
  s.ioc_owner.reset();
}

std::uint16_t SampleAgent::port() const {
  return impl_->port;
}
const SampleAgentOptions& SampleAgent::options() const {
  return impl_->options;
}

int runSampleAgent(const SampleAgentOptions& options) {
  constexpr int kExitConfigError = 2;
  // Blocked before the I/O thread starts so only sigwait below takes them. The demo
  // library cannot use cli/signals.h (the cli is not a library), hence the few lines here.
  // SIGHUP is taken and ignored: a supervisor's reload broadcast must not kill the app.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto agent = SampleAgent::create(options);
  if (!agent) {
    std::cerr << "warden sample-agent: " << agent.error().message << "\n";
    return kExitConfigError;
  }
  if (auto st = (*agent)->start(); !st) {
    std::cerr << "warden sample-agent: " << st.message() << "\n";
    return kExitConfigError;
  }
  const std::string& host = options.listen_host;
  const std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  std::cout << "sample agent " << options.name << " listening on " << shown << ":"
            << (*agent)->port() << std::endl;
  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0 || sig == SIGHUP)
      continue;
    spdlog::info("sample agent {}: signal {}, stopping", options.name, sig);
    break;
  }
  (*agent)->stop();
  return 0;
}

}  // namespace warden::demo
