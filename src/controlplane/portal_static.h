// The web portal's files (a built single-page app: index.html, assets/<hashed names>),
// served by `warden server` from the API's listener, so the app and /api/v1 share one
// origin and the app needs no CORS.
//
// Trust posture: request paths come from anyone on the network. A path is served only
// when every percent-decoded segment is an ordinary name (no "." or "..", no dot files, no
// encoded '/', '\\' or NUL) and the file, with symlinks resolved, stays inside the
// configured directory; anything else is 404. Every answer carries the strict security
// headers of securityHeaders(); files are read per request (the app is small) and bounded.
// Thread-safety: serve() is const and may be called from any thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "net/https_server.h"

namespace warden::controlplane {

// CSP and the other headers every portal page (and the sign-in page) carries. `form_action`
// extra origins for form-action besides 'self' (the sign-in form's redirect target).
void setPortalSecurityHeaders(net::HttpResponse& res, std::string_view extra_form_action = {});

// True for paths the portal must never answer (the API, the sign-in, health, metrics).
bool isReservedPath(std::string_view path);

class PortalStatic {
 public:
  static constexpr std::size_t kMaxFileBytes = 8 * 1024 * 1024;

  // `dir` must exist; it is resolved once (symlinks included).
  static Result<std::unique_ptr<PortalStatic>> create(const std::string& dir);
  // GET or HEAD of `encoded_path` (the request target's path, still percent-encoded).
  net::HttpResponse serve(std::string_view encoded_path) const;

 private:
  explicit PortalStatic(std::string root) : root_(std::move(root)) {}
  std::string root_;
};

}  // namespace warden::controlplane
