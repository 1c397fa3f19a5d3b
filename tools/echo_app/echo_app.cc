#include "echo_app.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <nlohmann/json.hpp>
#include <thread>

namespace warden::tools {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

std::uint64_t queryNumber(std::string_view target, std::string_view key, std::uint64_t fallback) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return fallback;
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == key) {
      std::uint64_t v = fallback;
      std::from_chars(pair.data() + eq + 1, pair.data() + pair.size(), v);
      return v;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return fallback;
}

}  // namespace

struct EchoApp::Impl {
  // Destroyed by stop(): that closes the listener and every open connection, like a
  // process exit would.
  std::unique_ptr<asio::io_context> ioc_owner = std::make_unique<asio::io_context>(1);
  asio::io_context& ioc = *ioc_owner;
  std::optional<asio::ip::tcp::acceptor> acceptor;
  std::uint16_t port = 0;  // remembered for port() after stop()
  std::thread thread;
  mutable std::mutex mutex;
  std::vector<SeenRequest> seen;  // guarded by mutex

  asio::awaitable<void> session(beast::tcp_stream stream) {
    beast::flat_buffer buffer;
    std::vector<char> scratch(64 * 1024);
    for (;;) {
      http::request_parser<http::buffer_body> parser;
      parser.body_limit(boost::none);
      auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, kTuple);
      if (ec) break;
      SeenRequest r;
      const auto& req = parser.get();
      r.method = std::string(req.method_string());
      r.target = std::string(req.target());
      for (const auto& f : req) {
        std::string name(f.name_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        auto& slot = r.headers[name];
        slot = slot.empty() ? std::string(f.value()) : slot + ", " + std::string(f.value());
      }
      while (!parser.is_done()) {
        parser.get().body().data = scratch.data();
        parser.get().body().size = scratch.size();
        auto [rec, rn] = co_await http::async_read(stream, buffer, parser, kTuple);
        if (rec == http::error::need_buffer) rec = {};
        if (rec) co_return;
        r.body_bytes += scratch.size() - parser.get().body().size;
      }
      const bool keep_alive = parser.get().keep_alive();
      {
        std::lock_guard lock(mutex);
        seen.push_back(r);
      }
      const std::string_view path = std::string_view(r.target).substr(0, r.target.find('?'));
      // Routed by the last segment, so a policy can put these under any prefix.
      const std::string_view last = path.substr(path.rfind('/') + 1);
      if (last == "sse" || last == "bytes") {
        co_await stream_response(stream, last == "sse", r.target, keep_alive);
        if (!keep_alive) break;
        continue;
      }
      if (last == "slow") {
        asio::steady_timer t(ioc, std::chrono::milliseconds(queryNumber(r.target, "ms", 100)));
        co_await t.async_wait(kTuple);
      }
      nlohmann::json j{{"app", "echo"},
                       {"method", r.method},
                       {"path", r.target},
                       {"body_bytes", r.body_bytes},
                       {"caller_spiffe_id", r.headers["x-forwarded-spiffe-id"]},
                       {"client_cert", r.headers["x-forwarded-client-cert"]},
                       {"request_id", r.headers["x-request-id"]},
                       {"headers", r.headers}};
      http::response<http::string_body> res{http::status::ok, 11};
      res.set(http::field::content_type, "application/json");
      res.body() = j.dump() + "\n";
      res.keep_alive(keep_alive);
      res.prepare_payload();
      auto [wec, wn] = co_await http::async_write(stream, res, kTuple);
      if (wec || !keep_alive) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  }

  asio::awaitable<void> stream_response(beast::tcp_stream& stream, bool sse,
                                        const std::string& target, bool keep_alive) {
    http::response<http::empty_body> res{http::status::ok, 11};
    res.set(http::field::content_type, sse ? "text/event-stream" : "application/octet-stream");
    res.chunked(true);
    res.keep_alive(keep_alive);
    http::response_serializer<http::empty_body> sr{res};
    auto [ec, n] = co_await http::async_write_header(stream, sr, kTuple);
    if (ec) co_return;
    if (sse) {
      const auto events = queryNumber(target, "events", 5);
      const auto interval = std::chrono::milliseconds(queryNumber(target, "interval_ms", 100));
      if (const auto delay = queryNumber(target, "delay_ms", 0); delay > 0) {
        asio::steady_timer t(ioc, std::chrono::milliseconds(delay));
        co_await t.async_wait(kTuple);
      }
      for (std::uint64_t i = 0; i < events; ++i) {
        const std::string event = "id: " + std::to_string(i) + "\ndata: {\"seq\":" +
                                  std::to_string(i) + "}\n\n";
        auto [cec, cn] = co_await asio::async_write(
            stream, http::make_chunk(asio::buffer(event)), kTuple);
        if (cec) co_return;
        if (i + 1 < events) {
          asio::steady_timer t(ioc, interval);
          co_await t.async_wait(kTuple);
        }
      }
    } else {
      std::uint64_t left = queryNumber(target, "n", 1024);
      std::string block(64 * 1024, 'x');
      while (left > 0) {
        const auto take = std::min<std::uint64_t>(left, block.size());
        auto [cec, cn] = co_await asio::async_write(
            stream, http::make_chunk(asio::buffer(block.data(), take)), kTuple);
        if (cec) co_return;
        left -= take;
      }
    }
    co_await asio::async_write(stream, http::make_chunk_last(), kTuple);
  }

  asio::awaitable<void> acceptLoop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor->async_accept(kTuple);
      if (ec) co_return;
      asio::co_spawn(ioc, session(beast::tcp_stream(std::move(socket))), asio::detached);
    }
  }
};

EchoApp::EchoApp() : impl_(std::make_unique<Impl>()) {}
EchoApp::~EchoApp() { stop(); }

bool EchoApp::start(const std::string& host, std::uint16_t port) {
  boost::system::error_code ec;
  asio::ip::tcp::endpoint ep(asio::ip::make_address(host, ec), port);
  if (ec) return false;
  impl_->acceptor.emplace(impl_->ioc);
  impl_->acceptor->open(ep.protocol(), ec);
  if (!ec) impl_->acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor->bind(ep, ec);
  if (!ec) impl_->acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return false;
  asio::co_spawn(impl_->ioc, impl_->acceptLoop(), asio::detached);
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
  return true;
}

void EchoApp::stop() {
  if (!impl_->thread.joinable()) return;
  impl_->ioc.stop();
  impl_->thread.join();
  impl_->acceptor.reset();
  impl_->ioc_owner.reset();
}

std::uint16_t EchoApp::port() const {
  if (impl_->acceptor) impl_->port = impl_->acceptor->local_endpoint().port();
  return impl_->port;
}

std::vector<SeenRequest> EchoApp::requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->seen;
}

std::size_t EchoApp::requestCount() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->seen.size();
}

void EchoApp::clear() {
  std::lock_guard lock(impl_->mutex);
  impl_->seen.clear();
}

}  // namespace warden::tools
