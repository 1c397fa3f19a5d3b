// The sidecar's local admin listener (loopback only, plain HTTP, read-only):
//   GET /healthz      liveness: 200 while the process serves
//   GET /readyz       200 when identity and policy are loaded and the SVID is valid,
//                     else 503; JSON with per-component status either way
//   GET /metrics      Prometheus text exposition
//   GET /config_dump  effective configuration and policy in force, no secrets
// Nothing here mutates state, so nothing here needs authentication; reloads happen on
// file change or SIGHUP. Thread-safety: runs on the control thread's io_context.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <string>

namespace warden::proxy {

struct AdminHandlers {
  std::function<std::pair<bool, std::string>()> readiness;  // ready?, JSON body
  std::function<std::string()> metrics;
  std::function<std::string()> config_dump;
};

boost::asio::awaitable<void> runAdminListener(boost::asio::ip::tcp::acceptor& acceptor,
                                              const AdminHandlers& handlers);

}  // namespace warden::proxy
