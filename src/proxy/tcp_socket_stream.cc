#include "proxy/tcp_socket_stream.h"

#include <sys/socket.h>

#include <cerrno>

namespace warden::proxy {

std::size_t TcpSocketStream::sendNow(int fd, const iovec* iov, std::size_t count,
                                     error_code& ec) {
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov);
  msg.msg_iovlen = count;
  // MSG_NOSIGNAL: a peer that went away is EPIPE, never a SIGPIPE.
  const ssize_t n = ::sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n >= 0) return static_cast<std::size_t>(n);
  if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    ec = error_code(errno, boost::system::system_category());
  }
  return 0;
}

}  // namespace warden::proxy
