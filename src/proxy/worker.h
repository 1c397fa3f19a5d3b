// A worker: one thread, one io_context, its own acceptors and upstream pools.
//
// Connections accepted by a worker stay on it for life, so nothing a request touches is
// shared with another thread except the immutable Runtime and the audit/metrics sinks.
// Thread-safety: public methods other than post*/stop* must run on the worker's thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <atomic>
#include <functional>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "common/result.h"
#include "proxy/runtime.h"
#include "proxy/tcp_socket_stream.h"
#include "proxy/tls_socket_stream.h"

namespace warden::proxy {

using TlsStream = TlsSocketStream;

// Idle keep-alive connections to one upstream, most recently used first.
//
// Every connection was made with some client credentials, named by a generation that
// grows with each new set (egress: TlsContexts::generation; 0 where the client presents
// none). The pool holds connections of one generation: asking for a newer one closes the
// idle ones of the older, and a connection of an older generation than the pool's is
// neither handed out nor taken back.
template <class Stream>
class ConnectionPool {
 public:
  // Connections are held by pointer, so a take/give moves no stream (moving a
  // beast::tcp_stream re-allocates its implementation and moves three timers).
  using Handle = std::unique_ptr<Stream>;
  explicit ConnectionPool(std::size_t max_idle = 64) : max_idle_(max_idle) {}
  // Takes an idle connection made with `generation` that the peer has not closed, if any.
  Handle take(std::uint64_t generation = 0);
  void give(Handle stream, std::uint64_t generation = 0);
  std::size_t idle() const { return idle_.size(); }
  void clear() { idle_.clear(); }

 private:
  struct Idle {
    Handle stream;
    std::chrono::steady_clock::time_point since;
  };
  std::size_t max_idle_;
  std::uint64_t generation_ = 0;
  std::vector<Idle> idle_;
};

// An open ingress connection, registered so that a rule change can revoke it (the kill
// switch must bite on open connections and long-lived streams, not only new ones).
struct LiveIngress {
  const identity::SpiffeId* peer = nullptr;
  // Aborts the exchange in progress, if any, by closing its upstream connection: the
  // relay fails, and a response already started ends with the client connection closed
  // (the only honest signal once a status line is out). Without an exchange it does
  // nothing, so a response that just completed is never cut.
  std::function<void()> abort_exchange;
};

class Worker {
 public:
  explicit Worker(SharedState& shared);
  ~Worker();

  // Opens this worker's acceptors; `reuse_port` lets several workers share a port.
  Status listen(bool reuse_port, std::optional<Endpoint> ingress, std::optional<Endpoint> egress);
  void start(std::shared_ptr<const Runtime> runtime);
  // Thread-safe: hands a new runtime to the worker.
  void postRuntime(std::shared_ptr<const Runtime> runtime);
  // Thread-safe: closes the acceptors (in-flight exchanges continue).
  void stopAccepting();
  // Thread-safe: stops the event loop and joins the thread.
  void shutdown();

  Endpoint boundIngress() const { return bound_ingress_; }
  Endpoint boundEgress() const { return bound_egress_; }

  // On the worker's thread:
  boost::asio::io_context& context() { return *ioc_; }
  const std::shared_ptr<const Runtime>& runtime() const { return runtime_; }
  SharedState& shared() { return shared_; }
  ConnectionPool<TcpSocketStream>& appPool() { return app_pool_; }
  ConnectionPool<TlsStream>& routePool(std::size_t route) { return route_pools_[route]; }
  // Any thread may read this (shutdown waits on it).
  std::size_t activeConnections() const { return active_.load(std::memory_order_relaxed); }
  void connectionStarted() { active_.fetch_add(1, std::memory_order_relaxed); }
  void connectionEnded() { active_.fetch_sub(1, std::memory_order_relaxed); }
  // On the worker's thread: sessions register for the lifetime of their connection.
  void addLive(LiveIngress* live) { live_.push_back(live); }
  void removeLive(LiveIngress* live);

 private:
  SharedState& shared_;
  // Destroyed explicitly first in ~Worker, so pending coroutine frames unwind while the
  // rest of the worker is still alive.
  std::unique_ptr<boost::asio::io_context> ioc_ = std::make_unique<boost::asio::io_context>(1);
  std::optional<boost::asio::ip::tcp::acceptor> ingress_acceptor_;
  std::optional<boost::asio::ip::tcp::acceptor> egress_acceptor_;
  Endpoint bound_ingress_, bound_egress_;
  std::shared_ptr<const Runtime> runtime_;
  ConnectionPool<TcpSocketStream> app_pool_;
  std::vector<ConnectionPool<TlsStream>> route_pools_;
  std::atomic<std::size_t> active_{0};
  std::vector<LiveIngress*> live_;
  // Aborts exchanges in progress (long-lived streams, slow uploads) whose caller the new
  // runtime no longer admits (off the allow-list, or denied by governance). Idle
  // keep-alive connections stay open: their next request is evaluated and gets the 403
  // with its reason, which the caller and the audit trail can act on.
  void revokeDenied();
  std::thread thread_;
};

// Coroutines that own one downstream connection each (ingress_session.cc, egress_session.cc).
boost::asio::awaitable<void> runIngressSession(Worker& worker, boost::asio::ip::tcp::socket socket,
                                               std::uint64_t connection_id);
boost::asio::awaitable<void> runEgressSession(Worker& worker, boost::asio::ip::tcp::socket socket,
                                              std::uint64_t connection_id);

}  // namespace warden::proxy
