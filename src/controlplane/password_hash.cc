#include "controlplane/password_hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdint>
#include <vector>

#include "jose/base64url.h"

namespace warden::controlplane {
namespace {

// 2^15 x 8 x 1: 32 MiB and a few tens of milliseconds per check; logins are rare.
constexpr std::uint64_t kN = 1 << 15;
constexpr std::uint64_t kR = 8;
constexpr std::uint64_t kP = 1;
constexpr std::size_t kHashBytes = 32;
constexpr std::uint64_t kMaxMem = 64ULL * 1024 * 1024;

bool derive(std::string_view password, const std::string& salt, std::uint64_t n, std::uint64_t r,
            std::uint64_t p, unsigned char* out, std::size_t out_len) {
  return EVP_PBE_scrypt(password.data(), password.size(),
                        reinterpret_cast<const unsigned char*>(salt.data()), salt.size(), n, r, p,
                        kMaxMem, out, out_len) == 1;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    const auto pos = s.find(sep, start);
    parts.push_back(s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) return parts;
    start = pos + 1;
  }
}

bool parseUint(std::string_view s, std::uint64_t& out) {
  if (s.empty() || s.size() > 12) return false;
  out = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return true;
}

}  // namespace

Result<std::string> hashPassword(std::string_view password) {
  unsigned char salt[16];
  if (RAND_bytes(salt, sizeof(salt)) != 1) return Error{"no randomness for the password salt"};
  const std::string salt_text(reinterpret_cast<const char*>(salt), sizeof(salt));
  unsigned char hash[kHashBytes];
  if (!derive(password, salt_text, kN, kR, kP, hash, sizeof(hash))) return Error{"scrypt failed"};
  return "scrypt$" + std::to_string(kN) + "$" + std::to_string(kR) + "$" + std::to_string(kP) +
         "$" + jose::base64UrlEncode(salt_text) + "$" +
         jose::base64UrlEncode(std::string_view(reinterpret_cast<const char*>(hash), sizeof(hash)));
}

bool verifyPassword(std::string_view password, std::string_view stored) {
  const auto parts = split(stored, '$');
  if (parts.size() != 6 || parts[0] != "scrypt") return false;
  std::uint64_t n = 0, r = 0, p = 0;
  if (!parseUint(parts[1], n) || !parseUint(parts[2], r) || !parseUint(parts[3], p)) return false;
  if (n < 2 || n > (1 << 20) || r == 0 || r > 32 || p == 0 || p > 16) return false;
  auto salt = jose::base64UrlDecode(parts[4]);
  auto expected = jose::base64UrlDecode(parts[5]);
  if (!salt || !expected || expected->size() != kHashBytes) return false;
  unsigned char hash[kHashBytes];
  if (!derive(password, *salt, n, r, p, hash, sizeof(hash))) return false;
  return CRYPTO_memcmp(hash, expected->data(), kHashBytes) == 0;
}

std::string randomPassword() {
  unsigned char bytes[24];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) std::abort();  // no entropy: nothing is safe
  return jose::base64UrlEncode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

}  // namespace warden::controlplane
