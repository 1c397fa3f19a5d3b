// /api/v1/users: local users with roles (admins only). Passwords are generated here and
// shown once; the store keeps scrypt hashes, and no answer ever carries one.
#include "controlplane/api_context.h"
#include "controlplane/local_users.h"
#include "controlplane/password_hash.h"
#include "controlplane/password_worker.h"

namespace warden::controlplane::api {

boost::asio::awaitable<HttpResponse> users(Context& c, Route& r, PasswordWorker& passwords) {
  if (!r.principal.isAdmin())
    co_return error(403, "forbidden", "managing users needs the admin role");
  if (r.segments.size() == 1 && r.method == "GET") {
    auto list = c.store.listCredentials();
    if (!list)
      co_return storeError(list.error());
    json out = json::array();
    for (const auto& u : *list) {
      out.push_back({{"username", u.name}, {"role", u.role}, {"created", u.created_unix}});
    }
    co_return ok(json{{"users", out}});
  }
  if (r.segments.size() == 1 && r.method == "POST") {
    auto body = jsonBody(r);
    if (auto* res = std::get_if<HttpResponse>(&body))
      co_return std::move(*res);
    const json& b = std::get<json>(body);
    auto name = optionalString(b, "username");
    if (auto* res = std::get_if<HttpResponse>(&name))
      co_return std::move(*res);
    auto role = optionalString(b, "role");
    if (auto* res = std::get_if<HttpResponse>(&role))
      co_return std::move(*res);
    const std::string& user = std::get<std::string>(name);
    if (!validUserName(user))
      co_return error(400, "invalid_request", "username: [a-z0-9._-]{1,64}");
    if (!userRoleFromName(std::get<std::string>(role))) {
      co_return error(400, "invalid_request", "role: admin, developer or viewer");
    }
    const std::string password = randomPassword();
    auto hash = co_await passwords.hash(password);  // scrypt, off the I/O thread
    if (!hash)
      co_return error(500, "internal", hash.error().message);
    auto stored = c.store.storeCredential(user, *hash, r.actor(), std::get<std::string>(role));
    if (!stored)
      co_return storeError(stored.error());
    co_return ok(json{{"username", user},
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
        co_return error(409, "conflict", done.error().message);
      }
      co_return storeError(done.error());
    }
    co_return HttpResponse{boost::beast::http::status::no_content, 11};
  }
  if (r.segments.size() <= 2)
    co_return error(405, "method_not_allowed", "GET/POST /users, DELETE /users/{name}");
  co_return error(404, "not_found", "no such route");
}

}  // namespace warden::controlplane::api
