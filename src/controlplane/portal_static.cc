#include "controlplane/portal_static.h"

#include <spdlog/spdlog.h>

#include <boost/beast/http.hpp>

#include <array>
#include <filesystem>
#include <fstream>
#include <optional>
#include <utility>
#include <vector>

#include "common/percent_decoding.h"

namespace warden::controlplane {
namespace {

namespace fs = std::filesystem;
namespace http = boost::beast::http;

constexpr std::string_view kCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'";

constexpr std::array<std::pair<std::string_view, std::string_view>, 12> kTypes{{
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".json", "application/json"},
    {".woff2", "font/woff2"},
    {".txt", "text/plain; charset=utf-8"},
    {".map", "application/json"},
    {".webmanifest", "application/manifest+json"},
}};

std::string_view contentType(std::string_view name) {
  for (const auto& [ext, type] : kTypes) {
    if (name.size() > ext.size() && name.ends_with(ext))
      return type;
  }
  return "application/octet-stream";
}

// One path segment, percent-decoded; nullopt for anything that could name another
// directory or a hidden file once decoded.
std::optional<std::string> decodeSegment(std::string_view s) {
  auto decoded = percentDecode(s, PlusSign::kLiteral);
  if (!decoded) return std::nullopt;
  const std::string& out = *decoded;
  if (out.empty() || out.front() == '.')
    return std::nullopt;  // ".", "..", dot files
  for (char c : out) {
    if (c == '/' || c == '\\' || c == '\0' || static_cast<unsigned char>(c) < 0x20)
      return std::nullopt;
  }
  return out;
}

net::HttpResponse notFound() {
  auto res = net::jsonResponse(
      404, R"({"error":"not_found","layer":"control_plane","reason":"no such file"})");
  setPortalSecurityHeaders(res);
  return res;
}

bool inside(const fs::path& root, const fs::path& p) {
  auto r = root.begin();
  auto q = p.begin();
  for (; r != root.end(); ++r, ++q) {
    if (q == p.end() || *r != *q)
      return false;
  }
  return true;
}

}  // namespace

void setPortalSecurityHeaders(net::HttpResponse& res, std::string_view extra_form_action) {
  std::string csp(kCsp);
  if (!extra_form_action.empty()) {
    csp += ' ';
    csp += extra_form_action;
  }
  res.set("Content-Security-Policy", csp);
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "no-referrer");
  res.set("X-Frame-Options", "DENY");
  res.set("Cross-Origin-Opener-Policy", "same-origin");
  res.set("Permissions-Policy", "camera=(), microphone=(), geolocation=()");
  res.set(http::field::strict_transport_security, "max-age=31536000");
}

bool isReservedPath(std::string_view path) {
  for (std::string_view prefix : {"/api/", "/oauth2/", "/.well-known/"}) {
    if (path.starts_with(prefix))
      return true;
  }
  return path == "/api" || path == "/oauth2" || path == "/.well-known" || path == "/healthz" ||
         path == "/readyz" || path == "/metrics";
}

Result<std::unique_ptr<PortalStatic>> PortalStatic::create(const std::string& dir) {
  std::error_code ec;
  const fs::path root = fs::canonical(dir, ec);
  if (ec || !fs::is_directory(root, ec))
    return Error{"control_plane.portal.dir: " + dir + " is not a directory"};
  return std::unique_ptr<PortalStatic>(new PortalStatic(root.string()));
}

net::HttpResponse PortalStatic::serve(std::string_view encoded_path) const {
  if (encoded_path.empty() || encoded_path.front() != '/')
    return notFound();
  std::vector<std::string> segments;
  std::size_t start = 1;
  while (start <= encoded_path.size()) {
    std::size_t end = encoded_path.find('/', start);
    if (end == std::string_view::npos)
      end = encoded_path.size();
    const std::string_view raw = encoded_path.substr(start, end - start);
    // Empty segments ("//", a trailing "/") name nothing; everything else must decode to
    // an ordinary name.
    if (!raw.empty()) {
      auto decoded = decodeSegment(raw);
      if (!decoded)
        return notFound();
      segments.push_back(std::move(*decoded));
    }
    start = end + 1;
  }
  const fs::path root(root_);
  fs::path candidate = root;
  for (const auto& s : segments)
    candidate /= s;

  std::error_code ec;
  fs::path file;
  bool assets = !segments.empty() && segments.front() == "assets" && segments.size() > 1;
  const fs::path resolved = fs::canonical(candidate, ec);
  if (!ec && fs::is_regular_file(resolved, ec)) {
    // A symlink may point anywhere: what counts is where it resolves.
    if (!inside(root, resolved))
      return notFound();
    file = resolved;
  } else if (segments.empty() || segments.back().find('.') == std::string::npos) {
    // An app route (/agents/x): the app's router renders it.
    file = root / "index.html";
    assets = false;
    const fs::path index = fs::canonical(file, ec);
    if (ec || !inside(root, index))
      return notFound();
    file = index;
  } else {
    return notFound();
  }
  const auto size = fs::file_size(file, ec);
  if (ec)
    return notFound();
  if (size > kMaxFileBytes) {
    spdlog::warn("portal: {} is larger than {} bytes; not served", file.string(), kMaxFileBytes);
    return notFound();
  }
  std::ifstream in(file, std::ios::binary);
  std::string body(static_cast<std::size_t>(size), '\0');
  if (!in || !in.read(body.data(), static_cast<std::streamsize>(body.size())))
    return notFound();

  net::HttpResponse res{http::status::ok, 11};
  res.set(http::field::content_type, contentType(file.filename().string()));
  // Hashed asset names never change content; everything else is revalidated, so a new
  // index.html (naming new assets) is picked up at once.
  res.set(http::field::cache_control, assets ? "public, max-age=31536000, immutable" : "no-cache");
  setPortalSecurityHeaders(res);
  res.body() = std::move(body);
  return res;
}

}  // namespace warden::controlplane
