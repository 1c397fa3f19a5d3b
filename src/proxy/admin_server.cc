#include "proxy/admin_server.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "proxy/http_exchange.h"

namespace warden::proxy {
namespace {

asio::awaitable<void> serveAdmin(beast::tcp_stream stream, const AdminHandlers& handlers) {
  beast::flat_buffer buffer;
  for (;;) {
    http::request<http::string_body> req;
    stream.expires_after(std::chrono::seconds(30));
    auto [ec, n] = co_await http::async_read(stream, buffer, req, kTuple);
    if (ec) break;
    http::response<http::string_body> res{http::status::ok, req.version()};
    res.set(http::field::cache_control, "no-store");
    const std::string_view path = req.target().substr(0, req.target().find('?'));
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      res.result(http::status::method_not_allowed);
      res.set(http::field::allow, "GET, HEAD");
      res.set(http::field::content_type, "application/json");
      res.body() = errorBody("method_not_allowed", "admin", "", "the admin API is read-only");
    } else if (path == "/healthz") {
      res.set(http::field::content_type, "text/plain");
      res.body() = "ok\n";
    } else if (path == "/readyz") {
      auto [ready, body] = handlers.readiness();
      res.result(ready ? http::status::ok : http::status::service_unavailable);
      res.set(http::field::content_type, "application/json");
      res.body() = std::move(body);
    } else if (path == "/metrics") {
      res.set(http::field::content_type, "text/plain; version=0.0.4");
      res.body() = handlers.metrics();
    } else if (path == "/config_dump") {
      res.set(http::field::content_type, "application/json");
      res.body() = handlers.config_dump();
    } else {
      res.result(http::status::not_found);
      res.set(http::field::content_type, "application/json");
      res.body() = errorBody("not_found", "admin", "",
                             "known paths: /healthz /readyz /metrics /config_dump");
    }
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    auto [wec, wn] = co_await http::async_write(stream, res, kTuple);
    if (wec || !res.keep_alive()) break;
  }
  boost::system::error_code ec;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
}

}  // namespace

asio::awaitable<void> runAdminListener(asio::ip::tcp::acceptor& acceptor,
                                       const AdminHandlers& handlers) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kTuple);
    if (ec) {
      if (!acceptor.is_open()) co_return;
      continue;
    }
    asio::co_spawn(acceptor.get_executor(), serveAdmin(beast::tcp_stream(std::move(socket)), handlers),
                   asio::detached);
  }
}

}  // namespace warden::proxy
