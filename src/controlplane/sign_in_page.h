// The server-rendered pages and redirects of the portal's sign-in (portal_login.h,
// upstream_sign_in.h): one HTML shell with the portal's stylesheet, error pages, and
// redirects, all with the portal's security headers and never cached (they echo request
// parameters). Callers escape what they render into `inner` (oauth_form.h's htmlEscape);
// the functions here escape the messages they are given.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "net/https_server.h"

namespace warden::controlplane {

// `extra_form_action`: origins (space-separated) the page's forms may lead to besides
// 'self', since CSP form-action also governs the redirects after a form post.
net::HttpResponse signInHtml(unsigned status, std::string body,
                             std::string_view extra_form_action = {});
// The whole document around `inner` (trusted, already escaped markup).
std::string signInDocument(std::string_view title, std::string_view inner);
// An error page (never a redirect: used whenever the redirect URI is not trusted yet, RFC
// 6749 §4.1.2.1, or no authorization request can be tied to the answer).
net::HttpResponse signInErrorPage(unsigned status, std::string_view message);
net::HttpResponse signInRedirect(const std::string& location);

}  // namespace warden::controlplane
