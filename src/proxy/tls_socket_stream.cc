#include "proxy/tls_socket_stream.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <sys/socket.h>

#include <boost/asio/ssl/error.hpp>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace warden::proxy {
namespace asio = boost::asio;

namespace {

using BioState = detail::TlsBioState;

// send/recv on the socket for OpenSSL. MSG_NOSIGNAL: a peer that went away is an error
// value (EPIPE), never a SIGPIPE for a process that did not ignore it (tests, embedders).
int bioWrite(BIO* bio, const char* data, std::size_t size, std::size_t* written) {
  auto* state = static_cast<BioState*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  const ssize_t n = ::send(state->fd, data, size, MSG_NOSIGNAL);
  if (n >= 0) {
    *written = static_cast<std::size_t>(n);
    return 1;
  }
  state->last_errno = errno;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) BIO_set_retry_write(bio);
  return 0;
}

// Serves what Asio received; with nothing left, "retry" (the stream then receives) or, once
// the peer closed, end of stream.
int bioRead(BIO* bio, char* data, std::size_t size, std::size_t* read) {
  auto* state = static_cast<BioState*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  const std::size_t buffered = state->in_end - state->in_begin;
  if (buffered > 0) {
    const std::size_t n = std::min(size, buffered);
    std::memcpy(data, state->in.get() + state->in_begin, n);
    state->in_begin += n;
    *read = n;
    return 1;
  }
  if (!state->eof) BIO_set_retry_read(bio);
  return 0;
}

long bioCtrl(BIO* bio, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;  // nothing is buffered here
    case BIO_CTRL_EOF: {
      const auto* state = static_cast<BioState*>(BIO_get_data(bio));
      return state->eof && state->in_begin == state->in_end ? 1 : 0;
    }
    default:
      return 0;
  }
}

int bioCreate(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

BIO_METHOD* socketBioMethod() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "warden socket");
    if (m == nullptr || BIO_meth_set_write_ex(m, bioWrite) != 1 ||
        BIO_meth_set_read_ex(m, bioRead) != 1 || BIO_meth_set_ctrl(m, bioCtrl) != 1 ||
        BIO_meth_set_create(m, bioCreate) != 1) {
      throw std::runtime_error("cannot create the OpenSSL socket BIO method");
    }
    return m;
  }();
  return method;
}

// SSL_get_error needs an empty error queue before the call it judges. Clearing an empty
// queue still walks all of its slots; on the data path (two or three SSL calls per
// request) looking first is the cheaper way to the same guarantee.
void clearErrorQueue() {
  if (ERR_peek_error() != 0) ERR_clear_error();
}

}  // namespace

TlsSocketStream::Impl::Impl(asio::ip::tcp::socket s, asio::ssl::context& context)
    : SocketDeadline(std::move(s)), ssl(SSL_new(context.native_handle())) {
  if (ssl == nullptr) throw std::runtime_error("SSL_new failed");
  // Partial writes: a write completes once a record is out, like write_some should;
  // moving buffer: a retried write may come from a different address (same bytes).
  SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // Read-ahead: one recv fills OpenSSL's buffer with as many records as have arrived,
  // instead of a 5-byte header read and a body read per record.
  SSL_set_read_ahead(ssl, 1);
}

TlsSocketStream::Impl::~Impl() { SSL_free(ssl); }

TlsSocketStream::TlsSocketStream(asio::ip::tcp::socket socket, asio::ssl::context& context)
    : core_(std::make_shared<Impl>(std::move(socket), context)) {}

TlsSocketStream::TlsSocketStream(const executor_type& executor, asio::ssl::context& context)
    : core_(std::make_shared<Impl>(asio::ip::tcp::socket(executor), context)) {}

TlsSocketStream& TlsSocketStream::operator=(TlsSocketStream&& other) noexcept {
  if (this != &other) {
    if (core_) close();
    core_ = std::move(other.core_);
  }
  return *this;
}

TlsSocketStream::~TlsSocketStream() {
  if (core_) close();
}

void TlsSocketStream::Impl::prepareHandshake(asio::ssl::stream_base::handshake_type type) {
  if (type == asio::ssl::stream_base::client) {
    SSL_set_connect_state(ssl);
  } else {
    SSL_set_accept_state(ssl);
  }
}

bool TlsSocketStream::Impl::attachBio(error_code& ec) {
  if (bio_attached) return true;
  if (!socket.is_open()) {
    ec = asio::error::not_connected;
    return false;
  }
  socket.non_blocking(true, ec);
  if (ec) return false;
  BIO* bio = BIO_new(socketBioMethod());
  if (bio == nullptr) {
    ec = asio::error::no_memory;
    return false;
  }
  bio_state.fd = socket.native_handle();
  BIO_set_data(bio, &bio_state);
  SSL_set_bio(ssl, bio, bio);  // the SSL owns it from here
  bio_attached = true;
  return true;
}

asio::mutable_buffer TlsSocketStream::Impl::receiveSpace() {
  auto& st = bio_state;
  if (!st.in) st.in = std::make_unique<char[]>(detail::TlsBioState::kInCapacity);
  // OpenSSL asks for more only once it took all there was; should it not, what is left
  // moves to the front rather than being overwritten.
  if (st.in_begin > 0) {
    std::memmove(st.in.get(), st.in.get() + st.in_begin, st.in_end - st.in_begin);
    st.in_end -= st.in_begin;
    st.in_begin = 0;
  }
  return asio::buffer(st.in.get() + st.in_end, detail::TlsBioState::kInCapacity - st.in_end);
}

TlsSocketStream::Want TlsSocketStream::Impl::classify(int ret, error_code& ec) {
  const int error = SSL_get_error(ssl, ret);
  switch (error) {
    case SSL_ERROR_WANT_READ:
      return Want::kRead;
    case SSL_ERROR_WANT_WRITE:
      return Want::kWrite;
    case SSL_ERROR_ZERO_RETURN:
      ec = asio::error::eof;
      break;
    case SSL_ERROR_SYSCALL: {
      const unsigned long queued = ERR_get_error();
      if (queued != 0) {
        ec = error_code(static_cast<int>(queued), asio::error::get_ssl_category());
      } else if (bio_state.last_errno != 0 && !bio_state.eof) {
        ec = error_code(bio_state.last_errno, boost::system::system_category());
      } else {
        ec = asio::ssl::error::stream_truncated;
      }
      break;
    }
    default: {
      const unsigned long queued = ERR_get_error();
      if (ERR_GET_LIB(queued) == ERR_LIB_SSL &&
          ERR_GET_REASON(queued) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        ec = asio::ssl::error::stream_truncated;
      } else if (queued != 0) {
        ec = error_code(static_cast<int>(queued), asio::error::get_ssl_category());
      } else {
        ec = asio::error::fault;
      }
      break;
    }
  }
  clearErrorQueue();
  return Want::kNothing;
}

int TlsSocketStream::HandshakeStep::operator()(Impl& impl, std::size_t& n, error_code& ec) {
  n = 0;
  if (!impl.attachBio(ec)) return -1;
  clearErrorQueue();
  return SSL_do_handshake(impl.ssl);
}

int TlsSocketStream::ReadStep::operator()(Impl& impl, std::size_t& n, error_code&) {
  n = 0;
  if (buffer.size() == 0) return 1;
  clearErrorQueue();
  impl.bio_state.last_errno = 0;
  return SSL_read_ex(impl.ssl, buffer.data(), buffer.size(), &n);
}

int TlsSocketStream::WriteStep::operator()(Impl& impl, std::size_t& n, error_code&) {
  n = 0;
  if (size == 0) return 1;
  clearErrorQueue();
  impl.bio_state.last_errno = 0;
  return SSL_write_ex(impl.ssl, data, size, &n);
}

int TlsSocketStream::ShutdownStep::operator()(Impl& impl, std::size_t& n, error_code&) {
  n = 0;
  if (!impl.bio_attached) return 1;
  clearErrorQueue();
  if (!sent) {
    const int ret = SSL_shutdown(impl.ssl);
    if (ret < 0) return ret;  // WANT_WRITE is retried; an error ends it
    sent = true;
    if (ret == 1) return 1;  // the peer's close_notify had already arrived
  }
  // Linger: drain whatever the peer still sends until its close_notify or EOF.
  char sink[4096];
  for (int i = 0; i < 64; ++i) {
    std::size_t got = 0;
    impl.bio_state.last_errno = 0;
    const int ret = SSL_read_ex(impl.ssl, sink, sizeof sink, &got);
    if (ret <= 0) {
      const int error = SSL_get_error(impl.ssl, ret);
      if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return ret;
      clearErrorQueue();
      return 1;  // close_notify, EOF or an error: done either way
    }
  }
  return 1;  // a peer that keeps streaming is not waited for
}

}  // namespace warden::proxy
