// TLS for `warden server`'s own HTTPS listeners with an X509-SVID of one of its
// registration entries: the server context is rebuilt whenever the issuer re-mints that
// SVID (so rotation needs no restart), and client certificates are verified after the
// handshake as X509-SVIDs against the bundles in force (own and federated trust domains).
// Thread-safety: all members may be called from any thread (internally locked).
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <mutex>
#include <string>

#include "common/result.h"
#include "identity/svid_verifier.h"
#include "issuer/issuer.h"
#include "issuer/registration.h"
#include "net/https_server.h"

namespace warden::issuer {

class SvidTls {
 public:
  // `session_context` separates TLS session caches of different listeners.
  static Result<std::unique_ptr<SvidTls>> create(Issuer& issuer, const RegistrationEntry& entry,
                                                 std::string session_context);
  // The context for a new connection (the last good one if re-minting fails).
  std::shared_ptr<boost::asio::ssl::context> serverContext();
  // The presented client certificate, verified as an X509-SVID.
  net::ClientIdentity identify(SSL* ssl);
  // The SPIFFE ID the server presents.
  const std::string& spiffeId() const { return spiffe_id_; }

 private:
  SvidTls() = default;
  std::shared_ptr<const identity::TrustBundleSet> clientTrust();

  Issuer* issuer_ = nullptr;
  std::shared_ptr<const RegistrationEntry> entry_;
  std::string session_context_;
  std::string spiffe_id_;
  std::mutex mutex_;
  std::shared_ptr<boost::asio::ssl::context> context_;    // guarded by mutex_
  std::shared_ptr<const IssuedX509Svid> svid_;            // guarded by mutex_
  std::shared_ptr<const identity::TrustBundleSet> trust_;  // guarded by mutex_
  std::uint64_t trust_generation_ = 0;                     // guarded by mutex_
};

}  // namespace warden::issuer
