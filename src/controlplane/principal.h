// Who is calling the control plane's API, and what they may do.
//
// Roles (checked on every route, docs/control-plane.md#api):
//   admin      everything
//   developer  read everything; write developer policies (never governance, agents, risk)
//   viewer     read everything; write nothing
//   sidecar    a registered agent's sidecar: fetch its own distribution view, ship audit
// Thread-safety: plain values.
#pragma once

#include <string>
#include <string_view>

namespace warden::controlplane {

enum class Role : std::uint8_t { kNone, kViewer, kDeveloper, kAdmin, kSidecar };
std::string_view roleName(Role role);

struct Principal {
  Role role = Role::kNone;
  std::string subject;  // SPIFFE ID (mtls), user name (login)
  std::string method;   // "mtls", "login"
  std::string agent;    // kSidecar: the registry name of the agent the SVID belongs to
  std::string credential_stamp;  // login of a local user: which password the session came from

  bool authenticated() const { return role != Role::kNone; }
  bool canRead() const { return role == Role::kViewer || role == Role::kDeveloper || role == Role::kAdmin; }
  bool canWritePolicy() const { return role == Role::kDeveloper || role == Role::kAdmin; }
  bool isAdmin() const { return role == Role::kAdmin; }
};

}  // namespace warden::controlplane
