// Local users of the control plane (the bootstrap `admin` and those an admin adds): a
// name, a role and a scrypt hash in the store. Both sign-ins (POST /api/v1/login and the
// portal's /oauth2/authorize form) check passwords here, so they cannot drift apart.
// Trust posture: user names and passwords come from anyone on the network.
// Thread-safety: free functions; the store is thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "controlplane/principal.h"
#include "controlplane/store.h"

namespace warden::controlplane {

// admin, developer or viewer (never sidecar: that role comes from an SVID only).
std::optional<Role> userRoleFromName(std::string_view name);
// [a-z0-9._-]{1,64}
bool validUserName(std::string_view name);
// The user's role when the password is right. Costs one scrypt whether or not the user
// exists, so timing does not reveal names.
std::optional<Role> checkUserPassword(Store& store, std::string_view user,
                                      std::string_view password);

// Which password a session of a local user came from: a short digest of the stored scrypt
// hash (salted, so every rotation or reset changes it), carried in the login token. ""
// for anyone who is not a local user ("<provider>:<name>" people from external providers).
std::string credentialStamp(Store& store, std::string_view user);

// Whether a verified login token of a local user is still honoured: the user must still
// exist and the token must come from the current password (a rotated or reset password
// ends the sessions it opened). The role is the user's role now, so a change takes effect
// at once. Principals that are not local users' logins are returned unchanged.
std::optional<Principal> currentLocalLogin(Store& store, Principal principal);

}  // namespace warden::controlplane
