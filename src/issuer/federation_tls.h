// TLS settings shared by the bundle endpoint (server) and the federation fetcher (client).
// Internal to src/issuer; not a public header.
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/system/error_code.hpp>
#include <string>

namespace warden::issuer::detail {

// TLS 1.2 and 1.3 only; for 1.2, ECDHE with AEAD ciphers only (1.3 suites are all AEAD).
// No renegotiation, compression or resumption: a bundle fetch is one short request, so
// resumption buys nothing and would let a resumed session skip verification against the
// bundle in force at that moment.
inline void hardenTls(SSL_CTX* ctx) {
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_cipher_list(ctx,
                          "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                          "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:"
                          "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305");
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);
}

// Drains OpenSSL's thread-local error queue into one line (so stale errors never leak
// into a later, unrelated message).
inline std::string drainOpensslErrors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

// `ec`'s message, followed by OpenSSL's queued reasons when there are any.
inline std::string withOpensslErrors(const boost::system::error_code& ec) {
  const std::string details = drainOpensslErrors();
  return details.empty() ? ec.message() : ec.message() + " (" + details + ")";
}

}  // namespace warden::issuer::detail
