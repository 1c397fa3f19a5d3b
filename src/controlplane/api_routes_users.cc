// /api/v1/users: local users with roles (admins only). Passwords are generated here and
// shown once; the store keeps scrypt hashes, and no answer ever carries one.
#include "controlplane/api_context.h"
#include "controlplane/local_users.h"
#include "controlplane/password_hash.h"

namespace warden::controlplane::api {

HttpResponse users(Context& c, Route& r) {
  if (!r.principal.isAdmin())
    return error(403, "forbidden", "managing users needs the admin role");
  if (r.segments.size() == 1 && r.method == "GET") {
    auto list = c.store.listCredentials();
    if (!list)
      return storeError(list.error());
    json out = json::array();
    for (const auto& u : *list) {
      out.push_back({{"username", u.name}, {"role", u.role}, {"created", u.created_unix}});
    }
    return ok(json{{"users", out}});
  }
  if (r.segments.size() == 1 && r.method == "POST") {
    auto body = jsonBody(r);
    if (auto* res = std::get_if<HttpResponse>(&body))
      return std::move(*res);
    const json& b = std::get<json>(body);
    auto name = optionalString(b, "username");
    if (auto* res = std::get_if<HttpResponse>(&name))
      return std::move(*res);
    auto role = optionalString(b, "role");
    if (auto* res = std::get_if<HttpResponse>(&role))
      return std::move(*res);
    const std::string& user = std::get<std::string>(name);
    if (!validUserName(user))
      return error(400, "invalid_request", "username: [a-z0-9._-]{1,64}");
    if (!userRoleFromName(std::get<std::string>(role))) {
      return error(400, "invalid_request", "role: admin, developer or viewer");
    }
    const std::string password = randomPassword();
    auto hash = hashPassword(password);
    if (!hash)
      return error(500, "internal", hash.error().message);
    auto stored = c.store.storeCredential(user, *hash, r.actor(), std::get<std::string>(role));
    if (!stored)
      return storeError(stored.error());
    return ok(json{{"username", user},
                   {"role", std::get<std::string>(role)},
                   {"password", password},
                   {"note", "shown once; stored only as a scrypt hash"}},
              201);
  }
  if (r.segments.size() == 2 && r.method == "DELETE") {
    auto done = c.store.deleteCredential(r.segments[1], r.actor());
    if (!done) {
      // The last admin: a conflict with the state, not a stale version (409, not 412).
      if (done.error().kind == StoreErrorKind::kConflict) {
        return error(409, "conflict", done.error().message);
      }
      return storeError(done.error());
    }
    return HttpResponse{boost::beast::http::status::no_content, 11};
  }
  if (r.segments.size() <= 2)
    return error(405, "method_not_allowed", "GET/POST /users, DELETE /users/{name}");
  return error(404, "not_found", "no such route");
}

}  // namespace warden::controlplane::api
