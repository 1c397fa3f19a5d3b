#include "controlplane/sign_in_page.h"

#include <boost/beast/http.hpp>

#include "controlplane/oauth_form.h"
#include "controlplane/portal_static.h"

namespace warden::controlplane {

namespace http = boost::beast::http;

net::HttpResponse signInHtml(unsigned status, std::string body,
                             std::string_view extra_form_action) {
  net::HttpResponse res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, "text/html; charset=utf-8");
  res.set(http::field::cache_control, "no-store");
  setPortalSecurityHeaders(res, extra_form_action);
  res.body() = std::move(body);
  return res;
}

std::string signInDocument(std::string_view title, std::string_view inner) {
  return "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<title>" +
         std::string(title) +
         " · Warden</title><link rel=\"stylesheet\" href=\"/oauth2/login.css\"></head>"
         "<body><main><h1>Warden</h1>" +
         std::string(inner) + "</main></body></html>\n";
}

net::HttpResponse signInErrorPage(unsigned status, std::string_view message) {
  return signInHtml(status, signInDocument("Sign-in error",
                                           "<p class=\"error\">" + htmlEscape(message) + "</p>"));
}

net::HttpResponse signInRedirect(const std::string& location) {
  net::HttpResponse res{http::status::found, 11};
  res.set(http::field::location, location);
  res.set(http::field::cache_control, "no-store");
  setPortalSecurityHeaders(res);
  return res;
}

}  // namespace warden::controlplane
