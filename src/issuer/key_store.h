// Persistence of the issuer's signing keys and CA certificates in its state directory.
//
// Trust posture: the state directory holds private keys. It is created 0700, key files are
// written 0600 through a temporary file, fsync and rename (a crash leaves the old file or
// the new one, never half of one), and a key file readable by group or others is refused
// at load, as ssh does, rather than silently used.
// Thread-safety: pure functions; callers serialize writes to one directory.
#pragma once

#include <openssl/ossl_typ.h>

#include <memory>
#include <optional>
#include <string>

#include "common/result.h"

namespace warden::issuer {

using X509Ref = std::shared_ptr<X509>;      // freed with X509_free
using PkeyRef = std::shared_ptr<EVP_PKEY>;  // freed with EVP_PKEY_free

X509Ref adoptX509(X509* cert);
PkeyRef adoptPkey(EVP_PKEY* key);

Status ensurePrivateDirectory(const std::string& dir);
// Writes `text` atomically with the given mode.
Status writeFileAtomically(const std::string& path, const std::string& text, unsigned mode);
// nullopt when the file does not exist; an error when it exists but cannot be read.
Result<std::optional<std::string>> readOptionalFile(const std::string& path);
Status removeFileIfExists(const std::string& path);

std::string privateKeyPem(EVP_PKEY* key);   // PKCS#8
std::string privateKeyDer(EVP_PKEY* key);   // PKCS#8 DER (Workload API x509_svid_key)
std::string certificatePem(X509* cert);
std::string certificateDer(X509* cert);
Result<PkeyRef> parsePrivateKeyPem(const std::string& pem);
Result<X509Ref> parseCertificatePem(const std::string& pem);

// Loads a private key written by writeFileAtomically(..., 0600); refuses group/other access.
Result<std::optional<PkeyRef>> loadPrivateKeyFile(const std::string& path);

}  // namespace warden::issuer
