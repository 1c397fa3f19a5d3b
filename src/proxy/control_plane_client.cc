#include "proxy/control_plane_client.h"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

#include "token/fetch_url.h"
#include "token/http_fetch.h"

namespace warden::proxy {
namespace asio = boost::asio;
using nlohmann::json;

namespace {

constexpr std::size_t kMaxViewBytes = 16 * 1024 * 1024;
constexpr auto kRetryInitial = std::chrono::milliseconds(500);
constexpr auto kRetryMax = std::chrono::seconds(15);
// The first status report: soon after start, once the first view exchange has usually
// happened, so the server does not list a freshly started sidecar as missing for a whole
// interval.
constexpr auto kFirstReportDelay = std::chrono::seconds(1);

std::int64_t nowUnix() { return static_cast<std::int64_t>(std::time(nullptr)); }

// tmp + fsync + rename: a crash leaves the old view or the new one, never half of one.
Status writeAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Error{"cannot write " + tmp};
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) {
      ::close(fd);
      return Error{"cannot write " + tmp};
    }
    done += static_cast<std::size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || std::rename(tmp.c_str(), path.c_str()) != 0) return Error{"cannot replace " + path};
  return {};
}

// `revocations: [{subject, issued_before, reason}]` (absent from a view: none).
Result<std::shared_ptr<const token::RevocationSet>> compileRevocations(const json& view) {
  const auto it = view.find("revocations");
  if (it == view.end() || it->is_null()) return std::shared_ptr<const token::RevocationSet>();
  if (!it->is_array()) return Error{"view.revocations: expected a list"};
  std::vector<token::Revocation> entries;
  entries.reserve(it->size());
  for (std::size_t i = 0; i < it->size(); ++i) {
    const json& r = (*it)[i];
    if (!r.is_object() || !r.contains("subject") || !r["subject"].is_string() ||
        r["subject"].get_ref<const std::string&>().empty() || !r.contains("issued_before") ||
        !r["issued_before"].is_number_integer()) {
      return Error{"view.revocations[" + std::to_string(i) +
                   "]: expected {subject: non-empty string, issued_before: integer}"};
    }
    entries.push_back({r["subject"].get<std::string>(), r["issued_before"].get<std::int64_t>()});
  }
  return token::RevocationSet::build(entries);
}

}  // namespace

std::shared_ptr<const policy::PolicySnapshot> denyAllPolicy() {
  static const auto kDenyAll = [] {
    policy::PolicyConfig config;
    config.version = "no-view-yet";
    config.source_name = "control-plane";
    return policy::compilePolicy(std::move(config)).value();
  }();
  return kDenyAll;
}

Result<ControlPlaneView> compileView(const std::string& body, std::int64_t received_unix) {
  json view = json::parse(body, nullptr, false);
  if (!view.is_object() || !view.contains("generation") || !view["generation"].is_number_unsigned() ||
      !view.contains("governance") || !view["governance"].is_object()) {
    return Error{"view: expected {generation, policy, governance, revocations}"};
  }
  ControlPlaneView out;
  out.generation = view["generation"].get<std::uint64_t>();
  out.body = body;
  out.received_unix = received_unix;
  const std::string agent = view.value("agent", std::string("target"));
  if (view.contains("policy") && view["policy"].is_object()) {
    const auto& p = view["policy"];
    if (!p.contains("content") || !p["content"].is_string() || !p.contains("version") ||
        !p["version"].is_number_unsigned()) {
      return Error{"view.policy: expected {version, content}"};
    }
    auto parsed = policy::parsePolicyYaml(p["content"].get<std::string>(), "control-plane:policies/" + agent);
    if (!parsed) return Error{"view.policy: " + parsed.error().message};
    parsed->version = policy::distributedVersionLabel(parsed->version, p["version"].get<std::uint64_t>());
    auto compiled = policy::compilePolicy(std::move(*parsed));
    if (!compiled) return Error{"view.policy: " + compiled.error().message};
    out.policy = *compiled;
  } else {
    out.policy = denyAllPolicy();
  }
  auto gov = governance::parseGovernanceYaml(view["governance"].dump(), "control-plane:governance/" + agent);
  if (!gov) return Error{"view.governance: " + gov.error().message};
  auto compiled = governance::compileGovernance(std::move(*gov));
  if (!compiled) return Error{"view.governance: " + compiled.error().message};
  out.governance = *compiled;
  auto revocations = compileRevocations(view);
  if (!revocations) return revocations.error();
  out.revocations = std::move(*revocations);
  return out;
}

struct ControlPlaneClient::Impl {
  ControlPlaneConfig config;
  TlsSource tls;
  ApplyView apply;
  ControlPlaneClient* owner = nullptr;
  token::FetchUrl view_url;
  token::FetchUrl audit_url;
  token::FetchUrl status_url;
  token::FetchUrl test_calls_url;
  StatusSource status_source;  // empty: no status reports
  TestCallRunner test_call_runner;  // empty: no test calls
  asio::io_context ioc{1};
  std::optional<asio::steady_timer> retry_timer;
  std::optional<asio::steady_timer> report_timer;
  std::optional<asio::steady_timer> test_call_timer;
  std::thread thread;
  std::atomic<bool> stopping{false};

  mutable std::mutex mutex;
  ControlPlaneStatus status;  // guarded by mutex

  std::string viewPath() const { return (std::filesystem::path(config.state_dir) / "view.json").string(); }

  // One HTTPS exchange with the server: our SVID presented, the server's SVID verified
  // against the bundles in force and required to be `server_id`.
  asio::awaitable<token::HttpFetchResult> exchange(const token::FetchUrl& url, bool post,
                                                   std::string body, std::chrono::milliseconds timeout) {
    auto contexts = tls();
    if (!contexts || !contexts->client) {
      token::HttpFetchResult none;
      none.error = "no X509-SVID yet";
      co_return none;
    }
    token::HttpFetchRequest request;
    request.url = &url;
    request.post = post;
    request.body = std::move(body);
    request.content_type = "application/json";
    request.user_agent = "warden-sidecar";
    request.max_body_bytes = kMaxViewBytes;
    request.timeout = timeout;
    HandshakeState hs;  // outlives the exchange: the hooks point at it
    expectServerSvid(request, *contexts, hs, config.server_id, "the control plane");
    co_return co_await token::httpFetch(request);
  }

  void noteError(std::string error) {
    std::lock_guard lock(mutex);
    if (status.last_error != error) spdlog::warn("control plane: {}", error);
    status.connected = false;
    status.last_error = std::move(error);
  }

  void noteReport(std::string error) {
    std::lock_guard lock(mutex);
    if (error.empty()) {
      if (!status.last_report_error.empty()) spdlog::info("control plane: status reports accepted again");
      ++status.reports_sent;
    } else {
      // Once per distinct failure at warn; the same failure again every interval is noise.
      if (status.last_report_error != error) {
        spdlog::warn("control plane: status report not accepted (retried every {}s): {}",
                     config.status_interval.count(), error);
      } else {
        spdlog::debug("control plane: status report not accepted: {}", error);
      }
      ++status.reports_failed;
    }
    status.last_report_error = std::move(error);
  }

  // The health report loop: on this client's thread, never on a worker, so a slow or
  // absent server costs the data plane nothing.
  asio::awaitable<void> reportStatus() {
    auto wait = std::min<std::chrono::milliseconds>(kFirstReportDelay, config.status_interval);
    while (!stopping.load()) {
      report_timer->expires_after(wait);
      co_await report_timer->async_wait(asio::as_tuple(asio::use_awaitable));
      if (stopping.load()) break;
      wait = config.status_interval;
      auto res = co_await exchange(status_url, true, status_source().dump(), std::chrono::seconds(10));
      if (!res.ok) {
        noteReport(res.error);
      } else if (res.status != 204) {
        noteReport("answered " + std::to_string(res.status) + ": " + token::printableText(res.body));
      } else {
        noteReport({});
      }
    }
  }

  // One test call: sent through our egress like the app's requests, answered to the
  // server. Several may run at once; each is bounded by the runner's timeout.
  asio::awaitable<void> answerTestCall(TestCall call) {
    const std::string id = call.id;
    json answer = co_await test_call_runner(std::move(call));
    token::FetchUrl url = test_calls_url;
    url.target += "/" + id;
    // The app's bytes need not be UTF-8: never let them make the answer unsendable.
    auto res = co_await exchange(url, true, answer.dump(-1, ' ', false, json::error_handler_t::replace),
                                 std::chrono::seconds(10));
    if (!res.ok || res.status != 204) {
      spdlog::warn("control plane: the answer to test call {} was not accepted: {}", id,
                   res.ok ? std::to_string(res.status) + " " + token::printableText(res.body) : res.error);
      co_return;
    }
    std::lock_guard lock(mutex);
    ++status.test_calls_run;
  }

  // The test-call long-poll: on this client's thread, beside the view's, never on a worker.
  asio::awaitable<void> pollTestCalls() {
    auto delay = kRetryInitial;
    std::mt19937 jitter(std::random_device{}());
    std::string last_problem;
    while (!stopping.load()) {
      token::FetchUrl url = test_calls_url;
      url.target += "?wait=" + std::to_string(config.poll_wait.count());
      auto res = co_await exchange(url, false, {}, config.poll_wait + std::chrono::seconds(10));
      std::string problem;
      if (!res.ok) {
        problem = res.error;
      } else if (res.status != 200) {
        problem = "answered " + std::to_string(res.status) + ": " + token::printableText(res.body);
      } else {
        const json list = json::parse(res.body, nullptr, false);
        if (!list.is_object() || !list.contains("calls") || !list["calls"].is_array()) {
          problem = "expected {\"calls\": [...]}";
        } else {
          for (const auto& item : list["calls"]) {
            auto call = parseTestCall(item);
            if (!call) {
              // Without a valid id there is nothing to answer; the server's request times out.
              spdlog::error("control plane: test call refused: {}", call.error().message);
              continue;
            }
            spdlog::info("control plane: test call {}: {} {} to {}", call->id, call->method, call->path,
                         call->target);
            asio::co_spawn(ioc, answerTestCall(std::move(*call)), asio::detached);
          }
        }
      }
      if (problem.empty()) {
        if (!last_problem.empty()) spdlog::info("control plane: taking test calls again");
        last_problem.clear();
        delay = kRetryInitial;
        continue;
      }
      if (problem != last_problem) spdlog::warn("control plane: test calls: {}", problem);
      last_problem = problem;
      const auto wait = delay / 2 + std::chrono::milliseconds(std::uniform_int_distribution<long>(
                                        0, std::max<long>(1, delay.count() / 2))(jitter));
      delay = std::min<std::chrono::milliseconds>(delay * 2, kRetryMax);
      test_call_timer->expires_after(wait);
      co_await test_call_timer->async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }

  asio::awaitable<void> run() {
    auto delay = kRetryInitial;
    std::mt19937 jitter(std::random_device{}());
    while (!stopping.load()) {
      std::uint64_t known = 0;
      {
        std::lock_guard lock(mutex);
        known = status.generation;
      }
      token::FetchUrl url = view_url;
      std::string target = url.target;
      target += (target.find('?') == std::string::npos ? "?" : "&");
      if (known > 0) {
        target += "generation=" + std::to_string(known) + "&wait=" + std::to_string(config.poll_wait.count());
      }
      url.target = target;
      auto res = co_await exchange(url, false, {}, config.poll_wait + std::chrono::seconds(10));
      bool ok = false;
      if (!res.ok) {
        noteError(res.error);
      } else if (res.status == 304) {
        ok = true;
        owner->confirmed_unix_.store(nowUnix(), std::memory_order_relaxed);
      } else if (res.status == 200) {
        auto view = compileView(res.body, nowUnix());
        if (!view) {
          // Fail static: the view in force stays; the server validated this one, so this
          // is a version skew or corruption worth shouting about.
          std::lock_guard lock(mutex);
          ++status.views_rejected;
          status.last_error = view.error().message;
          spdlog::error("control plane: view refused, keeping generation {}: {}",
                        status.generation, view.error().message);
        } else if (auto applied = apply(*view); !applied) {
          std::lock_guard lock(mutex);
          ++status.views_rejected;
          status.last_error = applied.message();
          spdlog::error("control plane: view not applied: {}", applied.message());
        } else {
          if (auto st = writeAtomically(viewPath(), view->body); !st) {
            spdlog::warn("control plane: {} (the view applies, but a restart will not find it)",
                         st.message());
          }
          owner->confirmed_unix_.store(view->received_unix, std::memory_order_relaxed);
          std::lock_guard lock(mutex);
          ++status.views_applied;
          status.generation = view->generation;
          status.last_error.clear();
          ok = true;
        }
      } else {
        noteError("view request answered " + std::to_string(res.status) + ": " +
                  token::printableText(res.body));
      }
      if (ok) {
        std::lock_guard lock(mutex);
        status.connected = true;
        status.live = true;
        status.confirmed_unix = owner->confirmed_unix_.load();
        delay = kRetryInitial;
        continue;
      }
      // Back off with jitter so a fleet does not reconnect in lockstep.
      const auto wait = delay / 2 + std::chrono::milliseconds(std::uniform_int_distribution<long>(
                                        0, std::max<long>(1, delay.count() / 2))(jitter));
      delay = std::min<std::chrono::milliseconds>(delay * 2, kRetryMax);
      retry_timer->expires_after(wait);
      co_await retry_timer->async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }
};

ControlPlaneClient::ControlPlaneClient(ControlPlaneConfig config, TlsSource tls, ApplyView apply)
    : impl_(std::make_unique<Impl>()) {
  impl_->config = std::move(config);
  impl_->tls = std::move(tls);
  impl_->apply = std::move(apply);
  impl_->owner = this;
  std::string base = impl_->config.url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  auto view = token::parseFetchUrl(base + "/api/v1/distribution/view");
  auto audit = token::parseFetchUrl(base + "/api/v1/audit/events");
  auto report = token::parseFetchUrl(base + "/api/v1/sidecars/status");
  auto test_calls = token::parseFetchUrl(base + "/api/v1/sidecars/test-calls");
  if (view) impl_->view_url = *view;
  if (audit) impl_->audit_url = *audit;
  if (report) impl_->status_url = *report;
  if (test_calls) impl_->test_calls_url = *test_calls;
  impl_->retry_timer.emplace(impl_->ioc);
  impl_->report_timer.emplace(impl_->ioc);
  impl_->test_call_timer.emplace(impl_->ioc);
  std::error_code ec;
  std::filesystem::create_directories(impl_->config.state_dir, ec);
}

ControlPlaneClient::~ControlPlaneClient() { stop(); }

std::optional<ControlPlaneView> ControlPlaneClient::loadCached() {
  std::ifstream in(impl_->viewPath(), std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  std::error_code ec;
  const auto mtime = std::filesystem::last_write_time(impl_->viewPath(), ec);
  const auto received = ec ? 0
                           : std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::file_clock::to_sys(mtime).time_since_epoch())
                                 .count();
  auto view = compileView(text.str(), received);
  if (!view) {
    spdlog::error("control plane: the cached view {} does not compile: {}", impl_->viewPath(),
                  view.error().message);
    return std::nullopt;
  }
  confirmed_unix_.store(view->received_unix);
  std::lock_guard lock(impl_->mutex);
  impl_->status.generation = view->generation;
  impl_->status.confirmed_unix = view->received_unix;
  return std::move(*view);
}

void ControlPlaneClient::reportStatusWith(StatusSource source) {
  impl_->status_source = std::move(source);
}

void ControlPlaneClient::runTestCallsWith(TestCallRunner runner) {
  impl_->test_call_runner = std::move(runner);
}

void ControlPlaneClient::start() {
  if (impl_->thread.joinable()) return;
  asio::co_spawn(impl_->ioc, impl_->run(), asio::detached);
  if (impl_->status_source) asio::co_spawn(impl_->ioc, impl_->reportStatus(), asio::detached);
  if (impl_->test_call_runner) asio::co_spawn(impl_->ioc, impl_->pollTestCalls(), asio::detached);
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

void ControlPlaneClient::stop() {
  if (!impl_ || impl_->stopping.exchange(true)) return;
  impl_->ioc.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

audit::ShipResult ControlPlaneClient::shipAudit(std::span<const audit::SpooledEvent> events,
                                                const std::string& spool_id) {
  std::string body = "{\"spool\":" + json(spool_id).dump() + ",\"events\":[";
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (i) body.push_back(',');
    body += "{\"seq\":" + std::to_string(events[i].seq) + ",\"event\":" + events[i].json + "}";
  }
  body += "]}";
  asio::io_context ioc;
  auto future = asio::co_spawn(
      ioc, impl_->exchange(impl_->audit_url, true, std::move(body), std::chrono::seconds(15)),
      asio::use_future);
  ioc.run();
  token::HttpFetchResult res = future.get();
  if (!res.ok) return audit::ShipResult::retry(res.error);
  if (res.status == 200) return audit::ShipResult::ok();
  // 400 means the server cannot store this content: isolate and skip it (the shipper
  // halves the batch down to the one bad event). Anything else is worth retrying.
  if (res.status == 400) return audit::ShipResult::reject(token::printableText(res.body));
  return audit::ShipResult::retry("audit batch answered " + std::to_string(res.status));
}

ControlPlaneStatus ControlPlaneClient::status() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->status;
}

}  // namespace warden::proxy
