#include "proxy/worker.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/stream_traits.hpp>

#include "proxy/http_exchange.h"

namespace warden::proxy {
namespace {

// An idle pooled connection is usable only if the peer has neither closed it nor sent
// anything unsolicited (a stale response or a TLS close_notify).
bool stillOpen(int fd) {
  char byte;
  const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

asio::awaitable<void> acceptLoop(Worker& worker, asio::ip::tcp::acceptor& acceptor, bool ingress) {
  auto& shared = worker.shared();
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      // EMFILE and friends: back off briefly rather than spin.
      spdlog::warn("accept failed: {}", ec.message());
      asio::steady_timer t(worker.context(), std::chrono::milliseconds(50));
      co_await t.async_wait(kTuple);
      continue;
    }
    if (worker.activeConnections() >= shared.config.limits.max_connections) {
      socket.close();
      continue;
    }
    socket.set_option(asio::ip::tcp::no_delay(true), ec);
    const auto id = shared.next_connection_id.fetch_add(1, std::memory_order_relaxed);
    if (ingress) {
      asio::co_spawn(worker.context(), runIngressSession(worker, std::move(socket), id),
                     asio::detached);
    } else {
      asio::co_spawn(worker.context(), runEgressSession(worker, std::move(socket), id),
                     asio::detached);
    }
  }
}

Result<Endpoint> openAcceptor(std::optional<asio::ip::tcp::acceptor>& acceptor,
                              asio::io_context& ioc, const Endpoint& where, bool reuse_port) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(where.host, ec);
  if (ec) return Error{where.str() + ": " + ec.message()};
  asio::ip::tcp::endpoint endpoint(address, where.port);
  acceptor.emplace(ioc);
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec && reuse_port) {
    int one = 1;
    if (::setsockopt(acceptor->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
      ec.assign(errno, boost::system::system_category());
    }
  }
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    acceptor.reset();
    return Error{"cannot listen on " + where.str() + ": " + ec.message()};
  }
  const auto local = acceptor->local_endpoint();
  return Endpoint{local.address().to_string(), local.port()};
}

}  // namespace

// A connection that went back to the pool moments ago is not worth a syscall to probe:
// under load that probe was one recv() per request (a fifth of all syscalls, measured with
// strace -c), and a peer closing an idle connection within this window is rare and
// covered by the replay of bodiless requests.
constexpr auto kProbeAfterIdle = std::chrono::milliseconds(500);

template <class Stream>
typename ConnectionPool<Stream>::Handle ConnectionPool<Stream>::take(std::uint64_t generation) {
  if (generation != generation_) {
    if (generation < generation_) return nullptr;
    idle_.clear();
    generation_ = generation;
  }
  const auto now = std::chrono::steady_clock::now();
  while (!idle_.empty()) {
    Idle entry = std::move(idle_.back());
    idle_.pop_back();
    if (now - entry.since < kProbeAfterIdle ||
        stillOpen(beast::get_lowest_layer(*entry.stream).socket().native_handle())) {
      return std::move(entry.stream);
    }
  }
  return nullptr;
}

template <class Stream>
void ConnectionPool<Stream>::give(Handle stream, std::uint64_t generation) {
  if (generation != generation_) {
    if (generation < generation_) return;  // made with credentials since replaced
    idle_.clear();
    generation_ = generation;
  }
  if (idle_.size() >= max_idle_) return;  // closing the surplus is cheaper than tracking it
  beast::get_lowest_layer(*stream).expires_never();
  idle_.push_back(Idle{std::move(stream), std::chrono::steady_clock::now()});
}

template class ConnectionPool<TcpSocketStream>;
template class ConnectionPool<TlsStream>;

Worker::Worker(SharedState& shared) : shared_(shared) {
  if (shared.config.egress) route_pools_.resize(shared.config.egress->routes.size());
}

Worker::~Worker() {
  shutdown();
  ingress_acceptor_.reset();
  egress_acceptor_.reset();
  app_pool_.clear();
  route_pools_.clear();
  ioc_.reset();
}

Status Worker::listen(bool reuse_port, std::optional<Endpoint> ingress,
                      std::optional<Endpoint> egress) {
  if (ingress) {
    auto bound = openAcceptor(ingress_acceptor_, *ioc_, *ingress, reuse_port);
    if (!bound) return Error{"ingress.listen: " + bound.error().message};
    bound_ingress_ = *bound;
  }
  if (egress) {
    auto bound = openAcceptor(egress_acceptor_, *ioc_, *egress, reuse_port);
    if (!bound) return Error{"egress.listen: " + bound.error().message};
    bound_egress_ = *bound;
  }
  return {};
}

void Worker::start(std::shared_ptr<const Runtime> runtime) {
  runtime_ = std::move(runtime);
  if (ingress_acceptor_) {
    asio::co_spawn(*ioc_, acceptLoop(*this, *ingress_acceptor_, true), asio::detached);
  }
  if (egress_acceptor_) {
    asio::co_spawn(*ioc_, acceptLoop(*this, *egress_acceptor_, false), asio::detached);
  }
  thread_ = std::thread([this] {
    ioc_->run();
    // Pools hold sockets of this io_context; close them on its thread.
    app_pool_.clear();
    for (auto& p : route_pools_) p.clear();
  });
}

void Worker::postRuntime(std::shared_ptr<const Runtime> runtime) {
  asio::post(*ioc_, [this, runtime = std::move(runtime)]() mutable {
    runtime_ = std::move(runtime);
    revokeDenied();
  });
}

void Worker::removeLive(LiveIngress* live) {
  auto it = std::find(live_.begin(), live_.end(), live);
  if (it == live_.end()) return;
  *it = live_.back();
  live_.pop_back();
}

void Worker::revokeDenied() {
  if (!runtime_ || live_.empty()) return;
  const auto age = governanceAge(shared_);
  // Copy first: close() may end a session, which unregisters itself.
  std::vector<LiveIngress*> doomed;
  for (LiveIngress* live : live_) {
    bool deny = runtime_->policy && !runtime_->policy->allowsPeer(*live->peer);
    if (!deny && runtime_->governance) {
      deny = !runtime_->governance->evaluate(live->peer->str(), age).allowed;
    }
    if (deny) doomed.push_back(live);
  }
  for (LiveIngress* live : doomed) {
    if (std::find(live_.begin(), live_.end(), live) == live_.end()) continue;
    live->abort_exchange();
  }
}

void Worker::stopAccepting() {
  asio::post(*ioc_, [this] {
    boost::system::error_code ec;
    if (ingress_acceptor_) ingress_acceptor_->close(ec);
    if (egress_acceptor_) egress_acceptor_->close(ec);
  });
}

void Worker::shutdown() {
  if (!thread_.joinable()) return;
  ioc_->stop();
  thread_.join();
}

}  // namespace warden::proxy
