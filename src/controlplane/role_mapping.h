// A person's control-plane role from the values of one claim of an external provider's
// token (groups, app roles): admin wins over developer over viewer; no listed value, no
// role. Shared by the API's bearer tokens from external providers (external_idp.h) and the
// portal's sign-in through them (upstream_sign_in.h), so both read a claim the same way.
// Thread-safety: a pure function.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "controlplane/principal.h"

namespace warden::controlplane {

inline Role roleFromClaimValues(const std::vector<std::string>& have,
                                const std::vector<std::string>& admin_values,
                                const std::vector<std::string>& developer_values,
                                const std::vector<std::string>& viewer_values) {
  auto any = [&](const std::vector<std::string>& wanted) {
    return std::any_of(have.begin(), have.end(), [&](const std::string& v) {
      return std::find(wanted.begin(), wanted.end(), v) != wanted.end();
    });
  };
  if (any(admin_values))
    return Role::kAdmin;
  if (any(developer_values))
    return Role::kDeveloper;
  if (any(viewer_values))
    return Role::kViewer;
  return Role::kNone;
}

}  // namespace warden::controlplane
