// Request-target normalisation; see request_path.h for the contract.
//
// References: RFC 9112 §3.2 (request-target forms), RFC 3986 §2.1 (percent-encoding),
// §2.3 (unreserved characters), §3.3 (path grammar: pchar), §3.4 (query), §5.2.4
// (remove_dot_segments), §6.2.2 (syntax-based normalisation).
#include "policy/request_path.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/hex.h"

namespace warden::policy {
namespace {

bool isAlpha(unsigned char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool isDigit(unsigned char c) { return c >= '0' && c <= '9'; }

// RFC 3986 §2.3: ALPHA / DIGIT / "-" / "." / "_" / "~".
bool isUnreserved(unsigned char c) {
  return isAlpha(c) || isDigit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

// RFC 3986 §2.2: "!" / "$" / "&" / "'" / "(" / ")" / "*" / "+" / "," / ";" / "=".
bool isSubDelim(unsigned char c) {
  switch (c) {
    case '!': case '$': case '&': case '\'': case '(': case ')':
    case '*': case '+': case ',': case ';': case '=':
      return true;
    default:
      return false;
  }
}

// RFC 3986 §3.3: pchar = unreserved / pct-encoded / sub-delims / ":" / "@" ("%" is
// handled separately by the callers).
bool isPcharLiteral(unsigned char c) {
  return isUnreserved(c) || isSubDelim(c) || c == ':' || c == '@';
}

constexpr char kUpperHex[] = "0123456789ABCDEF";

Error fail(std::string_view message) { return Error{std::string(message)}; }

// The message for a raw byte that may not appear in a request target. Kept generic (no
// echo of the byte) so it is always safe to put in a response body.
Error badCharacter(unsigned char c) {
  if (c == '\\') return fail("'\\' in path is not allowed");
  if (c == '#') return fail("fragment in request target is not allowed");
  if (c == 0 || c < 0x20 || c == 0x7f) return fail("control character in request target");
  if (c == ' ') return fail("space in request target");
  return fail("invalid character in request target");
}

// Validates the query (RFC 3986 §3.4: *( pchar / "/" / "?" ) with well-formed escapes) and
// keeps it verbatim: apps parse queries in incompatible ways, so the proxy forwards exactly
// what it checked rather than a re-encoding of it.
Status checkQuery(std::string_view query) {
  for (std::size_t i = 0; i < query.size(); ++i) {
    const auto c = static_cast<unsigned char>(query[i]);
    if (c == '%') {
      if (query.size() - i < 3 ||
          hexDigitValue(query[i + 1]) < 0 ||
          hexDigitValue(query[i + 2]) < 0) {
        return fail("malformed percent-escape in query");
      }
      i += 2;
      continue;
    }
    if (!isPcharLiteral(c) && c != '/' && c != '?') return badCharacter(c);
  }
  return Status::okStatus();
}

// Decodes escapes of unreserved characters, upper-cases the hex of the others (RFC 3986
// §6.2.2.1-§6.2.2.2) and rejects escapes that would change the path's structure or smuggle
// bytes that apps treat specially: "/" (segment boundary), "\" (a separator on some
// servers), NUL and other control bytes.
Result<std::string> decodePath(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const auto c = static_cast<unsigned char>(raw[i]);
    if (c != '%') {
      if (!isPcharLiteral(c) && c != '/') return badCharacter(c);
      out.push_back(static_cast<char>(c));
      continue;
    }
    if (raw.size() - i < 3) return fail("malformed percent-escape in path");
    const int hi = hexDigitValue(raw[i + 1]);
    const int lo = hexDigitValue(raw[i + 2]);
    if (hi < 0 || lo < 0) return fail("malformed percent-escape in path");
    const auto decoded = static_cast<unsigned char>(hi * 16 + lo);
    if (decoded == '/') return fail("encoded '/' in path is not allowed");
    if (decoded == '\\') return fail("encoded '\\' in path is not allowed");
    if (decoded < 0x20 || decoded == 0x7f) {
      return fail("encoded control character in path is not allowed");
    }
    if (isUnreserved(decoded)) {
      out.push_back(static_cast<char>(decoded));
    } else {
      out.push_back('%');
      out.push_back(kUpperHex[decoded >> 4]);
      out.push_back(kUpperHex[decoded & 0x0f]);
    }
    i += 2;
  }
  return out;
}

// Merges runs of "/" and then applies RFC 3986 §5.2.4 remove_dot_segments. Empty segments
// are merged first because many servers treat "//" as "/": were "/a//../b" left as is,
// policy (RFC: "/a/b") and app ("/b") would disagree. Input starts with "/" and never
// contains "%2F", so splitting on "/" sees exactly the segments the app will see.
std::string removeDotSegments(std::string_view path) {
  std::vector<std::string_view> segments;
  bool trailing_slash = false;
  std::size_t pos = 1;  // path[0] == '/'
  while (true) {
    const std::size_t end = path.find('/', pos);
    const std::string_view segment =
        path.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    const bool last = end == std::string_view::npos;
    if (segment.empty()) {
      // Merged duplicate slash, or the final empty segment after a trailing "/".
      if (last) trailing_slash = true;
    } else if (segment == ".") {
      // §5.2.4 step 2B: "/./" -> "/" and a final "/." -> "/".
      if (last) trailing_slash = true;
    } else if (segment == "..") {
      // §5.2.4 step 2C: drop the last output segment (none left at the root) and keep a
      // trailing "/" when ".." was last ("/a/b/.." -> "/a/").
      if (!segments.empty()) segments.pop_back();
      if (last) trailing_slash = true;
    } else {
      segments.push_back(segment);
      if (last) trailing_slash = false;
    }
    if (last) break;
    pos = end + 1;
  }
  std::string out;
  out.reserve(path.size());
  for (const std::string_view segment : segments) {
    out.push_back('/');
    out.append(segment);
  }
  if (segments.empty() || trailing_slash) out.push_back('/');
  return out;
}

}  // namespace

std::string NormalizedTarget::target() const {
  if (!has_query) return path;
  std::string out;
  out.reserve(path.size() + 1 + query.size());
  out.append(path).push_back('?');
  out.append(query);
  return out;
}

Result<NormalizedTarget> normalizeRequestTarget(std::string_view target) {
  if (target.empty()) return fail("empty request target");
  // RFC 9112 §3.2: only origin-form is accepted here. Absolute-form ("http://h/x") is for
  // forward proxies, authority-form for CONNECT and asterisk-form ("*") for server-wide
  // OPTIONS; none of them names a resource that policy could match.
  if (target.front() != '/') return fail("request target must be an absolute path");

  NormalizedTarget result;
  const std::size_t question = target.find('?');
  const std::string_view raw_path = target.substr(0, question);
  if (question != std::string_view::npos) {
    const std::string_view query = target.substr(question + 1);
    if (Status status = checkQuery(query); !status.ok()) return status.error();
    result.query = std::string(query);
    result.has_query = true;
  }

  Result<std::string> decoded = decodePath(raw_path);
  if (!decoded.ok()) return decoded.error();
  result.path = removeDotSegments(decoded.value());
  return result;
}

}  // namespace warden::policy
