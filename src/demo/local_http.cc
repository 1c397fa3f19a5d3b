#include "demo/local_http.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

namespace warden::demo {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

LocalHttpResult localHttp(std::uint16_t port, const std::string& method, const std::string& target,
                          const std::vector<std::pair<std::string, std::string>>& headers,
                          const std::string& body, std::chrono::milliseconds timeout, const std::string& host) {
  LocalHttpResult out;
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, host);
  req.set(http::field::user_agent, "warden-demo");
  req.set(http::field::connection, "close");
  for (const auto& [k, v] : headers) req.set(k, v);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(1 << 20);
  bool done = false;
  stream.expires_after(timeout);
  stream.async_connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                       [&](beast::error_code ec) {
                         if (ec) {
                           out.error = "connect 127.0.0.1:" + std::to_string(port) + ": " + ec.message();
                           return;
                         }
                         http::async_write(stream, req, [&](beast::error_code wec, std::size_t) {
                           if (wec) {
                             out.error = "write: " + wec.message();
                             return;
                           }
                           http::async_read(stream, buffer, parser, [&](beast::error_code rec, std::size_t) {
                             if (rec) {
                               out.error = "read: " + rec.message();
                               return;
                             }
                             done = true;
                           });
                         });
                       });
  ioc.run();
  if (done) {
    out.status = static_cast<int>(parser.get().result_int());
    out.body = std::move(parser.get().body());
  }
  return out;
}

}  // namespace warden::demo
