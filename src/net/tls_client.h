// TLS client settings for Warden's outbound fetches of public metadata (federation bundles,
// OIDC discovery documents, JWKS): one short request per connection, server authenticated
// per RFC 6125 against the system roots or an operator-given CA file.
//
// Header-only so that it adds nothing to warden_asio. hardenTls also serves the small
// servers that publish such metadata (the bundle endpoint).
// Thread-safety: pure functions over the SSL objects they are given.
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/system/error_code.hpp>
#include <string>

namespace warden::net {

// TLS 1.2 and 1.3 only; for 1.2, ECDHE with AEAD ciphers only (1.3 suites are all AEAD).
// No renegotiation, compression or resumption: each fetch is one short request, so
// resumption buys nothing and would let a resumed session skip today's verification.
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

// Drains OpenSSL's thread-local error queue into one line, so stale errors never leak into
// a later, unrelated message.
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

// Makes the handshake on `ssl` fail unless the server certificate names `host` (RFC 6125:
// a DNS-ID, no partial wildcards; an IP SAN for IP literals) and sends SNI for DNS names
// (never for IP literals, RFC 6066 §3). The chain itself is verified by the context's
// verify mode and roots. False when OpenSSL refuses the name.
inline bool expectServerName(SSL* ssl, const std::string& host, bool host_is_ip) {
  if (!host_is_ip) {
    // SSL_set_tlsext_host_name is a macro with a C-style cast; call what it expands to.
    if (SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(host.c_str())) != 1) {
      return false;
    }
  }
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return (host_is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str())
                     : X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0)) == 1;
}

}  // namespace warden::net
