#include "identity/id_matcher.h"

#include <string>

namespace warden::identity {
namespace {

constexpr std::string_view kScheme = "spiffe://";
constexpr std::string_view kWildcard = "*";

}  // namespace

Result<IdMatcher> IdMatcher::exact(std::string_view spiffe_id) {
  Result<SpiffeId> id = SpiffeId::parse(spiffe_id);
  if (!id.ok()) {
    return makeError("invalid SPIFFE ID \"" + std::string(spiffe_id) + "\": " + id.error().message);
  }
  // A trust-domain ID (no path) names a signing authority, never a workload (SPIFFE-ID §1:
  // leaf SVIDs have a non-empty path), so an exact match on it could never admit a peer.
  // Refuse it rather than let a config that meant `trust_domain:` silently deny everyone.
  if (!id->hasPath()) {
    return makeError("SPIFFE ID \"" + std::string(spiffe_id) +
                     "\" has no path and would match no workload; use a trust_domain matcher "
                     "to admit a whole trust domain");
  }
  return IdMatcher(Kind::kExact, id->str());
}

Result<IdMatcher> IdMatcher::trustDomain(std::string_view trust_domain) {
  if (Status s = validateTrustDomain(trust_domain); !s.ok()) {
    return makeError("invalid trust domain \"" + std::string(trust_domain) + "\": " + s.message());
  }
  return IdMatcher(Kind::kTrustDomain, std::string(trust_domain));
}

Result<IdMatcher> IdMatcher::pattern(std::string_view pattern) {
  const auto fail = [pattern](std::string_view why) -> Error {
    return makeError("invalid SPIFFE ID pattern \"" + std::string(pattern) +
                     "\": " + std::string(why));
  };
  if (pattern.size() > kMaxSpiffeIdLength) {
    return fail("pattern exceeds " + std::to_string(kMaxSpiffeIdLength) + " bytes");
  }
  if (pattern.substr(0, kScheme.size()) != kScheme) {
    return fail("scheme is missing or invalid");
  }
  const std::string_view rest = pattern.substr(kScheme.size());
  const std::size_t slash = rest.find('/');
  const std::string_view td = rest.substr(0, slash);
  // The trust domain is always literal: a wildcard there would let one pattern span
  // trust domains, i.e. trust claims from issuers that have no authority over them.
  if (td.find('*') != std::string_view::npos) {
    return fail("`*` is not allowed in the trust domain");
  }
  if (slash == std::string_view::npos) {
    return fail("a pattern needs at least one path segment");
  }

  // Split the path; every `*` must be a whole segment. The literal segments (and the
  // trust domain) are then checked by the ID parser on a copy where each `*` is replaced
  // by a placeholder segment, so patterns and IDs can never drift apart in what they allow.
  std::vector<std::string> segments;
  std::string concrete(pattern.substr(0, kScheme.size() + slash));
  bool has_wildcard = false;
  std::string_view path = rest.substr(slash);
  while (!path.empty()) {
    path.remove_prefix(1);  // the '/'
    const std::size_t end = path.find('/');
    const std::string_view segment = path.substr(0, end);
    if (segment == kWildcard) {
      has_wildcard = true;
      concrete += "/x";
    } else {
      if (segment.find('*') != std::string_view::npos) {
        // Partial globs ("agent*") silently admit "agent-evil"; see the header.
        return fail("`*` must be a whole path segment");
      }
      concrete += '/';
      concrete += segment;
    }
    segments.emplace_back(segment);
    if (end == std::string_view::npos) {
      break;
    }
    path = path.substr(end);
    if (path.size() == 1) {
      // A trailing '/': the loop would stop here without seeing the empty last segment.
      concrete += '/';
      break;
    }
  }
  Result<SpiffeId> id = SpiffeId::parse(concrete);
  if (!id.ok()) {
    return fail(id.error().message);
  }
  if (!has_wildcard) {
    return IdMatcher(Kind::kExact, std::string(pattern));
  }
  IdMatcher matcher(Kind::kPattern, std::string(pattern));
  matcher.trust_domain_ = std::string(td);
  matcher.segments_ = std::move(segments);
  return matcher;
}

bool IdMatcher::matches(const SpiffeId& id) const {
  switch (kind_) {
    case Kind::kExact:
      return id.str() == text_;
    case Kind::kTrustDomain:
      return id.trustDomain() == text_;
    case Kind::kPattern:
      break;
  }
  if (id.trustDomain() != trust_domain_) {
    return false;
  }
  // `id` is a parsed SpiffeId, so its path is "" or "/seg(/seg)*" with no empty segments.
  // Walk it segment by segment with string_views: no allocation on the data plane.
  std::string_view path = id.path();
  for (const std::string& want : segments_) {
    if (path.empty()) {
      return false;  // the ID has fewer segments than the pattern
    }
    path.remove_prefix(1);  // the '/'
    const std::size_t end = path.find('/');
    const std::string_view got = path.substr(0, end);
    if (want != kWildcard && want != got) {
      return false;
    }
    path = end == std::string_view::npos ? std::string_view{} : path.substr(end);
  }
  return path.empty();  // more segments than the pattern: `*` matches exactly one
}

}  // namespace warden::identity
