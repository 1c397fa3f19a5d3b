#include "controlplane/local_users.h"

#include <spdlog/spdlog.h>

#include "controlplane/password_hash.h"

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

}  // namespace warden::controlplane
