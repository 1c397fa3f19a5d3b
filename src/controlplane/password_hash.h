// Password hashing for the bootstrap administrator (scrypt, RFC 7914, via OpenSSL).
//
// Stored form: "scrypt$<N>$<r>$<p>$<salt b64url>$<hash b64url>"; verification recomputes
// with the stored parameters and compares in constant time. Thread-safety: pure.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace warden::controlplane {

Result<std::string> hashPassword(std::string_view password);
bool verifyPassword(std::string_view password, std::string_view stored);
// A random password for a generated credential: 24 bytes of entropy, base64url.
std::string randomPassword();

}  // namespace warden::controlplane
