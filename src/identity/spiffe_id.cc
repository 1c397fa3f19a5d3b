#include "identity/spiffe_id.h"

#include <string>

namespace warden::identity {
namespace {

// The only prefix accepted. The spec calls the scheme case-insensitive but go-spiffe (and
// therefore SPIRE's peers) accept only this spelling; being stricter keeps byte-for-byte
// comparison of IDs sound.
constexpr std::string_view kScheme = "spiffe://";

// Error texts follow go-spiffe's wording so operators see the same message from both.
constexpr std::string_view kErrTrustDomainChars =
    "trust domain characters are limited to lowercase letters, numbers, dots, dashes, and "
    "underscores";
constexpr std::string_view kErrSegmentChars =
    "path segment characters are limited to letters, numbers, dots, dashes, and underscores";

bool isTrustDomainChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

bool isSegmentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

// Checks characters and length only; the caller has already cut the name at the first '/'.
// Every character outside the set (':', '@', '[', '%', '?', '#', uppercase, ...) lands here,
// which is how ports, userinfo, IP literals and percent-encoding are all rejected.
Status checkTrustDomain(std::string_view td) {
  if (td.empty()) {
    return makeError("trust domain is missing");
  }
  for (char c : td) {
    if (!isTrustDomainChar(c)) {
      return makeError(std::string(kErrTrustDomainChars));
    }
  }
  if (td.size() > kMaxTrustDomainLength) {
    return makeError("trust domain exceeds " + std::to_string(kMaxTrustDomainLength) + " bytes");
  }
  return {};
}

// `path` is empty or starts with '/'.
Status checkPath(std::string_view path) {
  if (path.empty()) {
    return {};
  }
  std::size_t pos = 1;  // just past a '/'
  while (true) {
    const std::size_t end = path.find('/', pos);
    const std::string_view segment =
        path.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    if (segment.empty()) {
      // A '/' as the last character is reported as such: it is the commonest mistake.
      if (end == std::string_view::npos) {
        return makeError("path cannot have a trailing slash");
      }
      return makeError("path cannot contain empty segments");
    }
    if (segment == "." || segment == "..") {
      return makeError("path cannot contain dot segments");
    }
    for (char c : segment) {
      if (!isSegmentChar(c)) {
        return makeError(std::string(kErrSegmentChars));
      }
    }
    if (end == std::string_view::npos) {
      return {};
    }
    pos = end + 1;
  }
}

}  // namespace

Result<SpiffeId> SpiffeId::parse(std::string_view text) {
  if (text.empty()) {
    return makeError("SPIFFE ID cannot be empty");
  }
  // Checked first so that no later step ever scans an unbounded attacker-supplied string.
  if (text.size() > kMaxSpiffeIdLength) {
    return makeError("SPIFFE ID exceeds " + std::to_string(kMaxSpiffeIdLength) + " bytes");
  }
  if (text.substr(0, kScheme.size()) != kScheme) {
    return makeError("scheme is missing or invalid");
  }
  const std::string_view rest = text.substr(kScheme.size());
  const std::size_t slash = rest.find('/');
  const std::string_view td = rest.substr(0, slash);
  if (Status s = checkTrustDomain(td); !s.ok()) {
    return s.error();
  }
  const std::string_view path =
      slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  if (Status s = checkPath(path); !s.ok()) {
    return s.error();
  }
  return SpiffeId(std::string(text), kScheme.size() + td.size());
}

std::string_view SpiffeId::trustDomain() const {
  if (value_.empty()) {
    return {};  // default-constructed placeholder
  }
  return std::string_view(value_).substr(kScheme.size(), td_end_ - kScheme.size());
}

std::string_view SpiffeId::path() const {
  return std::string_view(value_).substr(td_end_);
}

Status validateTrustDomain(std::string_view trust_domain) {
  return checkTrustDomain(trust_domain);
}

}  // namespace warden::identity
