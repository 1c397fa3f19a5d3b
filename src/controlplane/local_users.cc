#include "controlplane/local_users.h"

#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include "controlplane/password_hash.h"
#include "jose/base64url.h"

namespace warden::controlplane {

std::optional<Role> userRoleFromName(std::string_view name) {
  if (name == "admin")
    return Role::kAdmin;
  if (name == "developer")
    return Role::kDeveloper;
  if (name == "viewer")
    return Role::kViewer;
  return std::nullopt;
}

bool validUserName(std::string_view name) {
  if (name.empty() || name.size() > 64)
    return false;
  for (char c : name) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok)
      return false;
  }
  return true;
}

std::optional<Role> checkUserPassword(Store& store, std::string_view user,
                                      std::string_view password) {
  static const std::string kDummy = hashPassword("warden-dummy").value();
  // Names that could never be stored are not looked up, but still cost the same work.
  auto credential = validUserName(user) ? store.getCredential(user)
                                        : StoreResult<Credential>(StoreError::notFound(""));
  if (!credential) {
    if (credential.error().kind != StoreErrorKind::kNotFound) {
      spdlog::error("control plane sign-in: {}", credential.error().message);
    }
    (void)verifyPassword(password, kDummy);
    return std::nullopt;
  }
  if (!verifyPassword(password, credential->hash))
    return std::nullopt;
  return userRoleFromName(credential->role);
}

namespace {

// Local user names are [a-z0-9._-]; external people's subjects carry their provider.
bool localUser(std::string_view subject) { return subject.find(':') == std::string_view::npos; }

std::string stampOf(const Credential& credential) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(credential.hash.data()), credential.hash.size(), digest);
  // 96 bits: enough that a reset password never reuses a stamp by chance.
  return jose::base64UrlEncode(std::string_view(reinterpret_cast<const char*>(digest), 12));
}

}  // namespace

std::string credentialStamp(Store& store, std::string_view user) {
  if (!localUser(user)) return {};
  auto credential = store.getCredential(user);
  return credential ? stampOf(*credential) : std::string();
}

std::optional<Principal> currentLocalLogin(Store& store, Principal principal) {
  if (principal.method != "login" || !localUser(principal.subject)) return principal;
  auto credential = store.getCredential(principal.subject);
  if (!credential) return std::nullopt;  // deleted (or the store failed: fail closed)
  if (principal.credential_stamp != stampOf(*credential)) return std::nullopt;
  auto role = userRoleFromName(credential->role);
  if (!role) return std::nullopt;
  principal.role = *role;
  return principal;
}

}  // namespace warden::controlplane
